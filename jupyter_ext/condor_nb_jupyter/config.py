"""The extension's traitlets: they only translate into condor_nb's settings.

In ``jupyter_server_config.py``::

    c.CondorNbJupyter.profile = "ospool"
    c.CondorNbJupyter.image = "/cvmfs/singularity.opensciencegrid.org/htc/minimal:1"
    c.CondorNbJupyter.memory = "4GB"

Unset traits fall back to condor_nb's own sources (``CONDOR_NB_*``, config.toml).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from traitlets import Bool, Float, Int, List, Unicode
from traitlets.config import Configurable

_SETTING_TRAITS = (
    "profile",
    "condor_config",
    "collector",
    "schedd",
    "owner",
    "image",
    "cpus",
    "memory",
    "disk",
    "home",
    "shared_filesystem",
)


class CondorNbJupyter(Configurable):
    """Settings of the condor_nb Jupyter server extension."""

    profile = Unicode(None, allow_none=True, config=True, help="Site profile (e.g. ospool).")
    condor_config = Unicode(
        None,
        allow_none=True,
        config=True,
        help="HTCondor client configuration file (CONDOR_CONFIG).",
    )
    collector = Unicode(None, allow_none=True, config=True, help="Collector host[:port].")
    schedd = Unicode(None, allow_none=True, config=True, help="Schedd name.")
    owner = Unicode(None, allow_none=True, config=True, help="Owner your jobs run as.")
    image = Unicode(None, allow_none=True, config=True, help="Default container image.")
    images = List(
        Unicode(),
        default_value=[],
        config=True,
        help="Images offered as runtime environments in the job UI.",
    )
    cpus = Unicode(None, allow_none=True, config=True, help="Default CPUs per job.")
    memory = Unicode(None, allow_none=True, config=True, help="Default memory (e.g. 4GB).")
    disk = Unicode(None, allow_none=True, config=True, help="Default disk (e.g. 2GB).")
    home = Unicode(None, allow_none=True, config=True, help="condor_nb home (registry).")
    shared_filesystem = Bool(
        None,
        allow_none=True,
        config=True,
        help="The access point sees condor_nb's home at the same path: submit without spooling.",
    )
    scheduler_backend = Bool(
        True, config=True, help="Make jupyter-scheduler (Notebook Jobs) submit to HTCondor."
    )
    worker_processes = Int(
        2, config=True, help="Processes that run HTCondor calls off the event loop."
    )

    panel_refresh_s = Float(
        5.0,
        config=True,
        help="Seconds between two looks at the schedd for the condor_nb panel, however "
        "many panels poll (one shared snapshot per server).",
    )

    def overrides(self) -> dict[str, Any]:
        """Keyword overrides for ``condor_nb.settings.load_settings``."""
        out: dict[str, Any] = {}
        for name in _SETTING_TRAITS:
            value = getattr(self, name)
            if value not in (None, ""):
                out[name] = value
        return out

    def environment(self) -> dict[str, str]:
        """``CONDOR_NB_*`` variables equal to the traits, for terminals and workers."""
        return {f"CONDOR_NB_{k.upper()}": str(v) for k, v in self.overrides().items()}


def terminal_environment(config: CondorNbJupyter) -> dict[str, str]:
    """What a JupyterLab terminal needs so that `condor_nb`, htcondor2 and condor_q reach the pool.

    This Python's bin directory goes first on PATH (``python`` and ``condor_nb`` are the
    server's); on the personal pool, the wrappers of the pool's own HTCondor tools go
    last (a host with HTCondor installed keeps its own).
    """
    from condor_nb.condor import schedd
    from condor_nb.settings import load_settings

    env = config.environment()
    settings = load_settings(**config.overrides())
    condor_config = schedd.condor_config_for(settings)
    if condor_config and not os.environ.get("CONDOR_CONFIG"):
        env["CONDOR_CONFIG"] = condor_config
    parts = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    if bin_dir not in parts:
        parts.insert(0, bin_dir)
    tools = _personal_pool_tools(condor_config)
    if tools:
        env[TOOLS_ENV] = tools  # the terminal's start-up file puts it back after /etc/profile
        if tools not in parts:
            parts.append(tools)
    env["PATH"] = os.pathsep.join(parts)
    return env


#: The folder of the personal pool's HTCondor tools, for terminals (PATH's last entry).
TOOLS_ENV = "CONDOR_NB_HTCONDOR_TOOLS"


def _personal_pool_tools(condor_config: str | None) -> str | None:
    """The pool's tool wrappers, when the configuration in use is the personal pool's."""
    from pathlib import Path

    from condor_nb.pool import PoolPaths, pool_paths
    from condor_nb.pool.access import pool_base_of
    from condor_nb.pool.tools import tools_dir

    if condor_config is None:
        return None
    # A configuration in the pool's folder (its client's, one of its users'), or in
    # another pool folder: another user's server may know only its configuration.
    base: Path | None = pool_paths().base
    if not os.path.abspath(condor_config).startswith(f"{base}/"):
        base = pool_base_of(Path(condor_config))
    if base is None:
        return None
    folder = tools_dir(PoolPaths(base))
    return str(folder) if folder.is_dir() else None


#: Shells whose interactive start-up file condor_nb can wrap (bash: --rcfile; sh: $ENV).
_WRAPPABLE = ("bash", "sh", "dash")


def terminal_shell_command(runtime_dir: str) -> list[str] | None:
    """A login shell whose PATH starts with this Python's bin directory, or None if not needed.

    jupyter_server_terminals starts ``$SHELL -l`` when the server has no tty. A login shell
    resets PATH (Debian's /etc/profile), and the user's ~/.bashrc may put another Python
    first (pyenv's shims, conda's base): `python` would not be the server's. So the
    interactive shell reads a start-up file of condor_nb's (in ``runtime_dir``) that runs
    the user's own ~/.bashrc, then puts this bin directory first again.
    """
    import hashlib
    import shlex

    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    shell = os.environ.get("SHELL") or "/bin/sh"
    name = os.path.basename(shell)
    if bin_dir in ("/usr/bin", "/bin", "/usr/local/bin") or sys.stdout.isatty():
        return None
    if name not in (*_WRAPPABLE, "zsh"):
        return None
    first = f'PATH={shlex.quote(bin_dir)}:"$PATH"${{{TOOLS_ENV}:+:${TOOLS_ENV}}}; export PATH'
    if name == "zsh":  # ZDOTDIR tricks would hide the user's own .zshrc: PATH at start only
        return [shell, "-l", "-c", f"{first}; exec {shlex.quote(shell)} -i"]
    # The user's own start-up file: ~/.bashrc for bash, what $ENV named for sh.
    user_file = '"$HOME/.bashrc"' if name == "bash" else '"${CONDOR_NB_USER_ENV:-}"'
    user_rc = f"[ -f {user_file} ] && . {user_file}"
    tag = hashlib.sha256(bin_dir.encode()).hexdigest()[:8]  # one file per server Python
    rc = os.path.join(runtime_dir, f"condor_nb-terminal-{name}rc-{tag}")
    os.makedirs(runtime_dir, exist_ok=True)
    with open(rc, "w", encoding="utf-8") as handle:
        handle.write(f"# Written by condor_nb_jupyter for terminals.\n{user_rc}\n{first}\n")
    if name == "bash":
        start = f"exec {shlex.quote(shell)} --rcfile {shlex.quote(rc)} -i"
    else:
        user_env = 'CONDOR_NB_USER_ENV="${ENV:-}"'
        start = f"{user_env} ENV={shlex.quote(rc)} exec {shlex.quote(shell)} -i"
    return [shell, "-l", "-c", f"{first}; {start}"]
