"""Processes: running commands inside the root, finding the root's processes, port owners."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from condor_nb.errors import PoolError

#: The environment of every command run in the root. The caller's environment is not
#: passed on: a CONDOR_CONFIG or _CONDOR_* variable meant for clients would
#: reconfigure the daemons.
ROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "DEBIAN_FRONTEND": "noninteractive",
}


def chroot_binary() -> str:
    for candidate in ("/usr/sbin/chroot", "/usr/bin/chroot"):
        if os.path.exists(candidate):
            return candidate
    raise PoolError("chroot not found", hint="apt-get install coreutils")


def run_in_root(
    root: Path,
    args: Sequence[str],
    *,
    check: bool = True,
    timeout: float = 120.0,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` inside ``root`` (chroot, clean environment) and capture its output."""
    command = [chroot_binary(), str(root), *args]
    try:
        result = subprocess.run(
            command,
            env=ROOT_ENV,
            input=input_text,
            stdin=None if input_text is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PoolError(f"`{' '.join(args)}` in {root} did not finish in {timeout:.0f} s") from exc
    if check and result.returncode != 0:
        raise PoolError(
            f"`{' '.join(args)}` in {root} failed (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-2000:]}"
        )
    return result


@dataclass(frozen=True)
class RootProcess:
    pid: int
    name: str  # basename of argv[0], e.g. "condor_schedd"


def _process_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv0 = handle.read().split(b"\0", 1)[0]
    except OSError:
        return ""
    if argv0:
        return os.path.basename(argv0.decode(errors="replace"))
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def root_processes(root: Path) -> list[RootProcess]:
    """Every process whose root directory is ``root`` (daemons, starters and jobs)."""
    wanted = str(root)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            proc_root = os.readlink(f"/proc/{entry}/root")
        except OSError:
            continue
        if proc_root == wanted:
            found.append(RootProcess(int(entry), _process_name(int(entry))))
    return found


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:``port`` (so the collector can bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and fields[1].endswith(f":{port:04X}"):
                inodes.add(fields[9])
    return inodes


def port_owner(port: int) -> str:
    """Describe the process listening on ``port`` ("pid 12 condor_shared_port, root /x")."""
    inodes = _listening_inodes(port)
    if not inodes:
        return "an unknown process"
    targets = {f"socket:[{inode}]" for inode in inodes}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
            if not any(os.readlink(f"/proc/{entry}/fd/{fd}") in targets for fd in fds):
                continue
            proc_root = os.readlink(f"/proc/{entry}/root")
        except OSError:
            continue
        where = "" if proc_root == "/" else f", running in root {proc_root}"
        return f"pid {entry} ({_process_name(int(entry))}{where})"
    return "an unknown process"
