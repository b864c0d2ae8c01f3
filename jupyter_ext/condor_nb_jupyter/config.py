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

from traitlets import Bool, Int, List, Unicode
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
    """What a JupyterLab terminal needs so that `condor_nb` and htcondor2 reach the pool."""
    from condor_nb import schedd
    from condor_nb.settings import load_settings

    env = config.environment()
    settings = load_settings(**config.overrides())
    condor_config = schedd.condor_config_for(settings)
    if condor_config and not os.environ.get("CONDOR_CONFIG"):
        env["CONDOR_CONFIG"] = condor_config
    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        env["PATH"] = bin_dir + os.pathsep + path if path else bin_dir
    return env


def terminal_shell_command() -> list[str] | None:
    """A login shell that keeps this Python's bin directory on PATH, or None if not needed.

    jupyter_server_terminals starts ``$SHELL -l`` when the server has no tty, and a login
    shell resets PATH (Debian's /etc/profile), losing the environment `condor_nb` lives in.
    """
    import shlex

    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    shell = os.environ.get("SHELL") or "/bin/sh"
    if bin_dir in ("/usr/bin", "/bin", "/usr/local/bin") or sys.stdout.isatty():
        return None
    if os.path.basename(shell) not in ("bash", "sh", "dash", "zsh"):
        return None
    keep = f'PATH={shlex.quote(bin_dir)}:"$PATH"; export PATH; exec {shlex.quote(shell)} -i'
    return [shell, "-l", "-c", keep]
