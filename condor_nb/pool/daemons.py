"""The HTCondor daemons inside the root: prepare, start, wait for, stop, restart."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from condor_nb.errors import PoolError
from condor_nb.pool.config import (
    JOB_USER,
    PoolSettings,
    render_pool_config,
    write_if_changed,
)
from condor_nb.pool.paths import PoolPaths
from condor_nb.pool.procs import ROOT_ENV, chroot_binary, root_processes, run_in_root

#: Daemon name -> the process name (argv[0]) that runs it.
DAEMONS = {
    "master": "condor_master",
    "collector": "condor_collector",
    "negotiator": "condor_negotiator",
    "schedd": "condor_schedd",
    "startd": "condor_startd",
}
#: The daemons whose processes must exist for the pool to count as running.
REQUIRED_DAEMONS = tuple(DAEMONS)

LOG_FILES = ("MasterLog", "SharedPortLog", "CollectorLog", "SchedLog", "StartLog")


def daemon_pids(paths: PoolPaths) -> dict[str, int]:
    """Daemon name -> pid, for the HTCondor daemons running in the root."""
    by_process = {process: name for name, process in DAEMONS.items()}
    found: dict[str, int] = {}
    for proc in root_processes(paths.root):
        name = by_process.get(proc.name)
        if name is not None and name not in found:
            found[name] = proc.pid
    return found


def _root_ids(root: Path, user: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text(encoding="utf-8").splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise PoolError(f"user {user!r} is missing from {root}/etc/passwd; the root is damaged")


def write_hosts(root: Path) -> None:
    """The machine's own name must resolve inside the root, to the loopback address."""
    names = ["localhost"]
    for name in (socket.gethostname(), socket.getfqdn()):
        if name and name not in names:
            names.append(name)
    write_if_changed(root / "etc/hosts", f"127.0.0.1 {' '.join(names)}\n")


def reset_run_dirs(root: Path) -> None:
    """Fresh /run/condor and /run/lock/condor, as systemd-tmpfiles would make them at boot.

    Debian's package relies on systemd-tmpfiles, which a root without systemd lacks;
    emptying them also drops a pipe or lock left behind by a killed master.
    """
    uid, gid = _root_ids(root, "condor")
    for folder in (root / "run/condor", root / "run/lock/condor"):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True, mode=0o775)
        os.chown(folder, uid, gid)
        folder.chmod(0o775)


def write_pool_config(paths: PoolPaths, settings: PoolSettings) -> bool:
    """Write the daemons' configuration; True when it changed."""
    return write_if_changed(paths.pool_config, render_pool_config(settings))


def uid_domain(paths: PoolPaths) -> str:
    out = run_in_root(paths.root, ["condor_config_val", "UID_DOMAIN"], timeout=30).stdout
    value = out.strip()
    if not value:
        raise PoolError(f"condor_config_val UID_DOMAIN printed nothing in {paths.root}")
    return value


def log_tails(paths: PoolPaths, lines: int = 8) -> str:
    """The last lines of each daemon log, for error messages."""
    parts = []
    for name in LOG_FILES:
        log = paths.log_dir / name
        try:
            text = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        except OSError:
            continue
        parts.append(f"--- {log}\n" + "\n".join(text))
    return "\n".join(parts)


def start_master(paths: PoolPaths) -> None:
    """Start condor_master in the root; it daemonizes and starts the other daemons."""
    result = subprocess.run(
        [chroot_binary(), str(paths.root), "condor_master"],
        env=ROOT_ENV,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
        check=False,
    )
    if result.returncode != 0:
        raise PoolError(
            f"condor_master did not start (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()}\n{log_tails(paths)}"
        )


def _ads(paths: PoolPaths) -> list[tuple[str, str, int]]:
    """(MyType, Name, DaemonStartTime) of every ad in the collector; [] if unreachable."""
    result = run_in_root(
        paths.root,
        ["condor_status", "-any", "-af:t", "MyType", "Name", "DaemonStartTime"],
        check=False,
        timeout=20,
    )
    if result.returncode != 0:
        return []
    ads = []
    for line in result.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) == 3:
            started = int(fields[2]) if fields[2].isdigit() else 0
            ads.append((fields[0], fields[1], started))
    return ads


def is_ready(paths: PoolPaths, since: float = 0.0) -> bool:
    """A schedd and a slot are in the collector (advertised by daemons started >= since)."""
    types = {t for t, _, started in _ads(paths) if started >= int(since)}
    return {"Scheduler", "Machine"} <= types


def wait_ready(paths: PoolPaths, timeout: float, since: float = 0.0) -> None:
    """Wait until a schedd and a slot are visible in the collector, or explain why not."""
    deadline = time.monotonic() + timeout
    while True:
        if is_ready(paths, since):
            return
        if "master" not in daemon_pids(paths):
            raise PoolError(
                f"condor_master in {paths.root} exited during start-up\n{log_tails(paths)}",
                hint="read the logs above; `python -m condor_nb.pool stop` then start again",
            )
        if time.monotonic() > deadline:
            raise PoolError(
                f"the pool's schedd and slot did not appear in the collector within "
                f"{timeout:.0f} s\n{log_tails(paths)}",
                hint=f"read the daemon logs in {paths.log_dir}; then stop and start the pool",
            )
        time.sleep(0.25)


def mint_token(paths: PoolPaths, domain: str) -> None:
    """Create the client's IDTOKEN for JOB_USER@domain (signed by the pool's own key)."""
    identity = f"{JOB_USER}@{domain}"
    token = run_in_root(paths.root, ["condor_token_create", "-identity", identity]).stdout.strip()
    if not token:
        raise PoolError(f"condor_token_create -identity {identity} printed no token")
    paths.token_dir.mkdir(parents=True, exist_ok=True)
    paths.token_dir.chmod(0o700)
    write_if_changed(paths.token_file, token + "\n", mode=0o600)


def stop_processes(paths: PoolPaths, timeout: float = 20.0) -> None:
    """Fast-shut-down the master, then kill whatever still runs in the root (jobs too)."""
    pids = daemon_pids(paths)
    if "master" in pids:
        _signal(pids["master"], signal.SIGQUIT)  # SIGQUIT = fast shutdown of all daemons
        if _wait_gone(paths, timeout):
            return
    for proc in root_processes(paths.root):
        _signal(proc.pid, signal.SIGKILL)
    if not _wait_gone(paths, 10.0):
        left = ", ".join(f"{p.pid} {p.name}" for p in root_processes(paths.root))
        raise PoolError(
            f"processes still run in {paths.root} after SIGKILL: {left}",
            hint="find them with `ps -p PID` and end them by pid",
        )


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_gone(paths: PoolPaths, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while root_processes(paths.root):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


#: Seconds a daemon restarted alone may take to shut down gracefully before SIGQUIT.
GRACEFUL_SECONDS = 20.0


def restart(paths: PoolPaths, daemon: str | None, timeout: float) -> None:
    """Restart every daemon (``condor_restart``) or one, then wait until ready again.

    One daemon is restarted by SIGTERM to its process: it shuts down gracefully and
    the master starts it again, which is what ``condor_restart -daemon`` does, but
    that command needs the daemon's ad in the collector (the negotiator's is gone
    for minutes after a collector restart).
    """
    since = time.time()
    if daemon is None or daemon == "master":
        run_in_root(paths.root, ["condor_restart"], timeout=60)
        wait_ready(paths, timeout, since)
        return
    if daemon not in DAEMONS:
        raise PoolError(f"unknown daemon {daemon!r}", hint=f"use one of {', '.join(DAEMONS)}")
    old = daemon_pids(paths).get(daemon)
    if old is not None:
        _signal(old, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    # A graceful schedd shutdown waits for every shadow; one stuck reconnecting to a
    # startd that is gone would hold it for the job lease (40 min). Then go fast:
    # running jobs keep running on their startd and reconnect, as after a crash.
    fast_at = time.monotonic() + min(GRACEFUL_SECONDS, timeout / 2)
    while (current := daemon_pids(paths).get(daemon)) in (None, old):
        if current is not None and time.monotonic() > fast_at:
            _signal(current, signal.SIGQUIT)  # still the old daemon, never a reused pid
            fast_at = deadline
        if time.monotonic() > deadline:
            raise PoolError(
                f"the master did not start the {daemon} again within {timeout:.0f} s\n"
                f"{log_tails(paths)}"
            )
        time.sleep(0.1)
    fresh = {"schedd": "Scheduler", "startd": "Machine"}.get(daemon)
    if fresh is not None:
        _wait_fresh(paths, fresh, since, timeout)
    wait_ready(paths, timeout)


def _wait_fresh(paths: PoolPaths, my_type: str, since: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not any(t == my_type and s >= int(since) for t, _, s in _ads(paths)):
        if time.monotonic() > deadline:
            raise PoolError(f"no {my_type} ad newer than the restart after {timeout:.0f} s")
        time.sleep(0.25)
