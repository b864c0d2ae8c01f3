"""Checks that turn a silent dask failure into a sentence: network and environment parity.

- :func:`check_contact_address`: workers must reach the scheduler. A scheduler
  that listens on, or advertises, a loopback address is reachable only by workers
  on the same machine: fine for the personal pool, a hang anywhere else.
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

from condor_nb.errors import ConfigError

log = logging.getLogger("condor_nb.dask")

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
    exited = [ad for ad in history if int(ad.get("JobStatus") or 0) == 4]
    for ad in exited[:5]:
        code = ad.get("ExitCode")
        lines.append(f"worker job {ad.get('ClusterId')}.{ad.get('ProcId')} exited with code "
                     f"{code}" + (f": most often its Python ({python!r}) cannot start "
                     "`python -m distributed.cli.dask_worker` (distributed missing in the "
                     "image or environment), or it could not reach the scheduler"
                     if code not in (0, None) else ""))  # fmt: skip
    return "\n  ".join(lines)
