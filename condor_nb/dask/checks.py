"""Checks that turn a silent dask failure into a sentence: network and environment parity.

- :func:`check_contact_address`: workers must reach the scheduler. A scheduler
  that listens on, or advertises, a loopback address is reachable only by workers
  on the same machine: fine for the personal pool, a hang anywhere else.
- :func:`never_connected`: a worker job that runs but whose worker never connects
  back is an execute node that cannot open a connection to this host (firewall,
  wrong address); said as soon as it is clear rather than at the end of a wait.
- :func:`compare_versions` / :class:`ParityChecker`: a worker whose Python or
  dask/distributed/cloudpickle versions differ from the client's fails in
  confusing ways (pickling errors, protocol errors). A scheduler plugin (the
  scheduler lives in the client process) feeds the checker every worker as it
  connects; mismatches are logged and kept for :meth:`ParityChecker.report`.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from condor_nb.condor.status import COMPLETED, RUNNING
from condor_nb.contract.names import NAME_ATTR
from condor_nb.errors import ConfigError

log = logging.getLogger("condor_nb.dask")

#: Seconds a running worker job may take to start its worker and connect (importing
#: distributed from a cold software area such as CVMFS included) before it is called
#: unreachable; never more than most of the worker's own death timeout.
CONNECT_GRACE = 45.0
#: A worker that cannot reach the scheduler gives up after distributed's connect
#: timeout (30 s by default) and its job exits with code 1; one whose Python lacks
#: distributed exits within seconds. A job that ran longer than this and exited
#: without its worker ever connecting was trying to connect.
TRIED_TO_CONNECT = 20.0
#: Packages whose versions must match exactly between the client and the workers.
PARITY_PACKAGES = ("dask", "distributed", "cloudpickle", "msgpack")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def address_host(address: str) -> str:
    """The host part of a dask address (``tcp://1.2.3.4:8786``, ``tls://[::1]:1``)."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    return parts.hostname or ""


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_contact_address(
    *, listen: str, contact: str, workers_are_local: bool, profile: str
) -> None:
    """Refuse a scheduler that remote workers could never reach."""
    if workers_are_local:
        return
    for what, address in (("advertises", contact), ("listens on", listen)):
        host = address_host(address)
        if is_loopback(host):
            raise ConfigError(
                f"the dask scheduler {what} {address}, a loopback address, but the workers of "
                f"profile {profile!r} run on other machines: expected an address they can "
                f"reach, got {host!r}",
                hint="pass host='0.0.0.0' (or this machine's address) to listen on the "
                "network, and contact_address='tcp://PUBLIC-NAME:PORT' if the workers must "
                "use another name (NAT, port forwarding); fix port=... to open it in the "
                "firewall. See docs/dask.md, 'Networking'.",
            )


def _python(versions: Mapping[str, Any]) -> str:
    host = versions.get("host") or {}
    return str(host.get("python") or "unknown")


def _python_release(full: str) -> str:
    return ".".join(full.split(".")[:2])  # "3.11.7.final.0" -> "3.11"


def compare_versions(client: Mapping[str, Any], worker: Mapping[str, Any]) -> list[str]:
    """Differences that matter, one plain line each (empty: the worker matches)."""
    problems = []
    ours, theirs = _python(client), _python(worker)
    if _python_release(ours) != _python_release(theirs):
        problems.append(
            f"Python: client {'.'.join(ours.split('.')[:3])}, "
            f"worker {'.'.join(theirs.split('.')[:3])}"
        )
    client_packages = client.get("packages") or {}
    worker_packages = worker.get("packages") or {}
    for name in PARITY_PACKAGES:
        mine, other = client_packages.get(name), worker_packages.get(name)
        if mine != other:
            problems.append(f"{name}: client {mine or 'missing'}, worker {other or 'missing'}")
    return problems


@dataclass(frozen=True)
class Mismatch:
    worker: str  # dask worker name
    address: str
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"worker {self.worker} ({self.address}): " + "; ".join(self.problems)


def mismatch_message(mismatches: list[Mismatch], python: str) -> str:
    lines = "\n".join(f"  - {m}" for m in mismatches)
    return (
        "dask workers run a different environment than this client (expected the same "
        f"Python release and dask/distributed/cloudpickle/msgpack versions):\n{lines}\n"
        f"  fix: run the workers with the client's environment: an image with the same "
        f"versions (image=...), or a Python that has them (python=..., now {python!r}); "
        "`pip freeze` here and in the image should agree on these packages"
    )


class ParityChecker:
    """Compares each connecting worker with the client's environment (thread-safe).

    The cluster feeds it from a scheduler plugin (``add_worker``).
    """

    def __init__(self, client_versions: Mapping[str, Any], python: str) -> None:
        self.client_versions = client_versions
        self.python = python
        self.mismatches: list[Mismatch] = []
        self.checked = 0
        self._lock = threading.Lock()

    def check(self, worker: str, address: str, versions: Mapping[str, Any]) -> Mismatch | None:
        problems = compare_versions(self.client_versions, versions)
        found = Mismatch(worker, address, tuple(problems)) if problems else None
        with self._lock:
            self.checked += 1
            if found is not None:
                self.mismatches.append(found)
        if found is not None:
            log.warning("%s", mismatch_message([found], self.python))
        return found

    def report(self) -> str | None:
        """The mismatches found so far as one message, or None when all workers matched."""
        with self._lock:
            found = list(self.mismatches)
        return mismatch_message(found, self.python) if found else None


def explain_missing_workers(
    queue: list[Mapping[str, Any]],
    history: list[Mapping[str, Any]],
    *,
    wanted: int,
    connected: int,
    scheduler: str,
    python: str,
    connected_names: set[str] | None = None,
    tried: float = TRIED_TO_CONNECT,
) -> str:
    """Why fewer than ``wanted`` workers are connected, from the session's job ads."""
    by_status: dict[int, list[Mapping[str, Any]]] = {}
    for ad in queue:
        by_status.setdefault(int(ad.get("JobStatus") or 0), []).append(ad)
    lines = [f"{connected} of {wanted} dask workers connected to {scheduler}."]
    if not queue and not history:
        lines.append("No worker job of this session is on the schedd: none was submitted, "
                     "or all were removed (`condor_nb dask ls`).")  # fmt: skip
    if by_status.get(1):
        lines.append(f"{len(by_status[1])} worker job(s) wait for a slot (idle): the pool has "
                     "no free machine matching the request yet; ask for less cpus/memory, "
                     "or wait.")  # fmt: skip
    for ad in by_status.get(5, []):
        lines.append(f"worker job {ad.get('ClusterId')}.{ad.get('ProcId')} is held: "
                     f"{ad.get('HoldReason')}")  # fmt: skip
    running = len(by_status.get(2, []))
    if running > connected:
        lines.append(
            f"{running} worker job(s) run but only {connected} connected: a running worker "
            f"that cannot reach {scheduler} (firewall, loopback or private address) exits "
            "after its death timeout; see docs/dask.md, 'Networking'."
        )
    exited = [ad for ad in history if int(ad.get("JobStatus") or 0) == COMPLETED]
    unreachable = exited_without_connecting(
        exited, connected_names=connected_names or set(), grace=tried
    )
    for job in unreachable[:5]:
        lines.append(f"worker job {job.job} ran {job.seconds} s on {job.machine} and exited "
                     f"without its worker ever connecting to {scheduler}: the execute node could "
                     "not reach this host (firewall, or an address it cannot route to); see "
                     "docs/dask.md, 'Networking'.")  # fmt: skip
    seen = {u.job for u in unreachable}
    exited = [ad for ad in exited if f"{ad.get('ClusterId')}.{ad.get('ProcId')}" not in seen]
    for ad in exited[:5]:
        code = ad.get("ExitCode")
        lines.append(f"worker job {ad.get('ClusterId')}.{ad.get('ProcId')} exited with code "
                     f"{code}" + (f": most often its Python ({python!r}) cannot start "
                     "`python -m distributed.cli.dask_worker` (distributed missing in the "
                     "image or environment), or it could not reach the scheduler"
                     if code not in (0, None) else ""))  # fmt: skip
    return "\n  ".join(lines)


def connect_grace(death_timeout: float) -> float:
    """How long a running worker may stay unconnected before we say it cannot connect."""
    return min(CONNECT_GRACE, 0.75 * death_timeout)


def _machine(ad: Mapping[str, Any]) -> str:
    host = str(ad.get("RemoteHost") or ad.get("LastRemoteHost") or "an execute node")
    return host.rsplit("@", 1)[-1]


def _connected(name: str, connected_names: set[str]) -> bool:
    """Did the worker(s) of the job named ``name`` connect (``processes>1``: name-N)?"""
    return any(n == name or n.startswith(f"{name}-") for n in connected_names)


@dataclass(frozen=True)
class Unconnected:
    """A worker job that ran ``seconds`` on ``machine`` without its worker connecting."""

    job: str  # "cluster.proc"
    machine: str
    seconds: int
    exited: bool = False

    def __str__(self) -> str:
        if self.exited:
            return f"worker job {self.job} ran {self.seconds} s on {self.machine} and exited"
        return f"worker job {self.job} has run {self.seconds} s on {self.machine}"


def never_connected(
    queue: list[Mapping[str, Any]], *, connected_names: set[str], now: float, grace: float
) -> list[Unconnected]:
    """Running worker jobs older than ``grace`` seconds whose worker never connected."""
    stuck = []
    for ad in queue:
        if int(ad.get("JobStatus") or 0) != RUNNING:
            continue
        name = str(ad.get("DaskWorkerName") or ad.get(NAME_ATTR) or "")
        if not name or _connected(name, connected_names):
            continue
        started = ad.get("EnteredCurrentStatus") or ad.get("JobCurrentStartDate")
        if started is None:
            continue
        seconds = now - float(started)
        if seconds > grace:
            job = f"{ad.get('ClusterId')}.{ad.get('ProcId')}"
            stuck.append(Unconnected(job, _machine(ad), int(seconds)))
    return stuck


def cannot_connect_message(stuck: list[Unconnected], scheduler: str) -> str:
    """One worker job or more run, but none of their workers reached the scheduler."""
    listed = "; ".join(str(s) for s in stuck[:5]) + (" ..." if len(stuck) > 5 else "")
    port = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}").port
    return (
        f"dask workers cannot connect back to the scheduler at {scheduler}: {listed}, "
        "and its dask worker never connected. The execute node cannot open a TCP "
        f"connection to this host on port {port} (a firewall on this host or between the "
        "networks, or an address the execute nodes cannot route to)."
    )


CANNOT_CONNECT_HINT = (
    "this host must accept TCP connections from the execute nodes on the scheduler's "
    "port (fix it with port=... and ask your admins to open it: docs/admins.md, "
    "'Dask sessions'); if the address is not one the execute nodes reach, pass "
    "host='ADDRESS' (an interface on their network) or contact_address='tcp://NAME:PORT' "
    "(NAT, port forwarding). See docs/dask.md, 'Networking'."
)


def exited_without_connecting(
    history: list[Mapping[str, Any]],
    *,
    connected_names: set[str],
    grace: float = TRIED_TO_CONNECT,
) -> list[Unconnected]:
    """Worker jobs that ran longer than ``grace``, then exited without ever connecting."""
    gone = []
    for ad in history:
        if int(ad.get("JobStatus") or 0) != COMPLETED:  # removed jobs did not give up by themselves
            continue
        name = str(ad.get("DaskWorkerName") or ad.get(NAME_ATTR) or "")
        wall = float(ad.get("RemoteWallClockTime") or 0)
        if name and wall > grace and not _connected(name, connected_names):
            gone.append(Unconnected(f"{ad.get('ClusterId')}.{ad.get('ProcId')}", _machine(ad),
                                    int(wall), exited=True))  # fmt: skip
    return gone
