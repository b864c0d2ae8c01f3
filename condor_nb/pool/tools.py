"""HTCondor's own command-line tools (condor_q, condor_submit ...) for clients outside the root.

The personal pool's binaries live in its Debian 13 root and need that root's glibc and
libcondor_utils, so they cannot run on the host as they are. Each tool gets a small
shell wrapper in ``client/bin/`` that starts it through the root's own dynamic loader
with the root's library folders: the same binary, run outside the chroot, talking to the
pool as any remote client would (the configuration comes from ``CONDOR_CONFIG``).

``condor_submit`` gets ``-spool``: the pool shares no filesystem with the host (as an
external access point), so the job's files must travel with it; outputs come back with
``condor_transfer_data``.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from condor_nb.pool.config import write_if_changed
from condor_nb.pool.paths import PoolPaths

#: Arguments after which condor_submit already knows where the files go.
_SUBMIT_SPOOL_FLAGS = ("-spool", "-remote", "-dry-run", "-interactive", "-i", "-help")


def tools_dir(paths: PoolPaths) -> Path:
    """The folder of wrappers; put it on PATH (after the host's own HTCondor, if any)."""
    return paths.client_dir / "bin"


def _loader(root: Path) -> Path:
    found = sorted(root.glob("lib64/ld-linux*.so*")) or sorted(root.glob("lib/ld-linux*.so*"))
    if not found:
        raise FileNotFoundError(f"no dynamic loader (ld-linux*.so) in {root}/lib64 or {root}/lib")
    return found[0]


def _library_path(root: Path) -> str:
    folders = [root / "usr/lib", *sorted(root.glob("usr/lib/*-linux-gnu"))]
    folders += [*sorted(root.glob("lib/*-linux-gnu")), root / "usr/lib/condor"]
    return ":".join(str(f) for f in folders if f.is_dir())


def _wrapper(root: Path, binary: Path, client_config: Path) -> str:
    loader, target = shlex.quote(str(_loader(root))), shlex.quote(str(binary))
    libs = shlex.quote(_library_path(root))
    lines = [
        "#!/bin/sh",
        f"# Written by condor_nb.pool: the personal pool's {binary.name}, run outside its root.",
        f': "${{CONDOR_CONFIG:={client_config}}}"',
        "export CONDOR_CONFIG",
    ]
    run = f"exec {loader} --argv0 {shlex.quote(binary.name)} --library-path {libs} {target}"
    if binary.name == "condor_submit":
        flags = "|".join(_SUBMIT_SPOOL_FLAGS)
        lines += [
            'for arg in "$@"; do case $arg in',
            f'  {flags}) {run} "$@";;',
            "esac; done",
            "echo 'condor_submit: the pool shares no filesystem with this host, so the job is "
            "spooled (-spool); bring outputs back with: condor_transfer_data CLUSTER' >&2",
            f'{run} -spool "$@"',
        ]
    else:
        lines.append(f'{run} "$@"')
    return "\n".join(lines) + "\n"


def write_tools(paths: PoolPaths) -> Path:
    """(Re)write one wrapper per ``condor_*`` program of the root; return their folder."""
    folder = tools_dir(paths)
    folder.mkdir(parents=True, exist_ok=True)
    binaries = sorted((paths.root / "usr/bin").glob("condor_*"))
    wanted = {b.name for b in binaries}
    for stale in folder.iterdir():
        if stale.name not in wanted:
            stale.unlink()
    for binary in binaries:
        text = _wrapper(paths.root, binary, paths.client_config)
        write_if_changed(folder / binary.name, text, mode=0o755)
    os.chmod(folder, 0o755)
    return folder
