"""Runtime and resource use of a job, read from its ad (queue or history).

Units, from HTCondor's manual ("Job ClassAd Attributes") and checked on a real pool:
``RequestMemory`` and ``MemoryUsage`` are MiB (``MemoryUsage`` is an expression over
``ResidentSetSize``, KiB, the peak resident memory of the job's processes);
``RequestDisk`` and ``DiskUsage`` are KiB; ``RequestCpus`` cores and ``CpusUsage``
the average cores busy; ``RemoteWallClockTime`` (seconds on an execute machine,
summed over every run, updated when a run ends), ``RemoteUserCpu`` and
``RemoteSysCpu`` are seconds; ``AllowedExecuteDuration`` seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from condor_nb.condor.status import HELD, RUNNING, TRANSFERRING_OUTPUT, JobState
from condor_nb.spec.usage import WALL_TIME_GRACE, Usage

#: What :func:`runtime_seconds` and :func:`usage_from_ad` read (add to a projection).
USAGE_ATTRS = (
    "RequestMemory", "MemoryUsage", "ResidentSetSize", "RequestDisk", "DiskUsage",
    "RequestCpus", "CpusUsage", "RemoteWallClockTime", "RemoteUserCpu", "RemoteSysCpu",
    "AllowedExecuteDuration", "JobDurationCategory", "JobCurrentStartDate", "JobStartDate",
    "CompletionDate", "EnteredCurrentStatus", "NumJobStarts", "HoldReasonCode", "HoldReason",
    "LastHoldReasonCode", "LastHoldReason", "LastJobStatus",
)  # fmt: skip

# HoldReasonCode: 34 = a resource limit exceeded (memory, or disk on some pools);
# 46 / 47 = allowed_job_duration / allowed_execute_duration exceeded.
_RESOURCE_HOLD, _WALL_HOLDS = 34, (46, 47)


def value(ad: Mapping[str, Any], name: str) -> Any:
    """``name`` evaluated in ``ad`` (``MemoryUsage`` is an expression, not a number)."""
    evaluate = getattr(ad, "eval", None)
    if evaluate is not None:
        try:
            return evaluate(name) if name in ad else None
        except Exception:  # undefined references, a bad expression: not known
            return None
    return ad.get(name)


def number(ad: Mapping[str, Any], name: str) -> float | None:
    raw = value(ad, name)
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def _text(ad: Mapping[str, Any], name: str) -> str | None:
    raw = value(ad, name)
    return raw if isinstance(raw, str) and raw else None


def _ran(ad: Mapping[str, Any]) -> bool:
    return bool(number(ad, "NumJobStarts") or number(ad, "JobCurrentStartDate"))


def runtime_seconds(ad: Mapping[str, Any], state: JobState) -> float | None:
    """What the schedd recorded as the job's runtime; None while it runs or if it never ran.

    ``RemoteWallClockTime`` when the schedd has recorded it (every run of the job);
    else the last run from its start (``JobCurrentStartDate``) to the moment it ended:
    ``CompletionDate``, or for a removed or held job the moment it entered that status.
    """
    if state is JobState.RUNNING or not _ran(ad):
        return None
    wall = number(ad, "RemoteWallClockTime")
    start = number(ad, "JobCurrentStartDate") or number(ad, "JobStartDate")
    entered = number(ad, "EnteredCurrentStatus")
    if (
        state in (JobState.REMOVED, JobState.HELD)
        and number(ad, "LastJobStatus") in (RUNNING, TRANSFERRING_OUTPUT)
        and start
        and entered
    ):
        # Stopped while running: the schedd changes the status at once, and adds the run
        # to RemoteWallClockTime only when the shadow has gone (a second or more later).
        # The run's own span is the same in both ads, so RUNTIME never moves.
        span = max(0.0, entered - start)
        return span if (number(ad, "NumJobStarts") or 1) <= 1 else max(wall or 0.0, span)
    if wall and wall > 0:
        return wall
    end = number(ad, "CompletionDate") or entered
    if not start or not end or state is JobState.QUEUED:
        return None
    return max(0.0, end - start)


def _exceeded(ad: Mapping[str, Any]) -> str | None:
    for code_attr, text_attr in (("HoldReasonCode", "HoldReason"),
                                 ("LastHoldReasonCode", "LastHoldReason")):  # fmt: skip
        if code_attr == "HoldReasonCode" and number(ad, "JobStatus") not in (None, HELD):
            continue
        code = number(ad, code_attr)
        if code == _RESOURCE_HOLD:
            text = (_text(ad, text_attr) or "").lower()
            return "disk" if "disk" in text and "memory" not in text else "memory"
        if code in _WALL_HOLDS:
            return "wall_time"
    return None


def _kib_as_mib(kib: float | None) -> float | None:
    return None if kib is None else kib / 1024


def usage_from_ad(ad: Mapping[str, Any], job_id: str) -> Usage | None:
    """Requested against used, from a finished (or held) job's ad; None if it never ran."""
    if not _ran(ad):
        return None
    memory = number(ad, "MemoryUsage")
    if memory is None:
        rss = number(ad, "ResidentSetSize")
        memory = None if rss is None else (rss + 1023) // 1024
    # A pool that measures nothing reports 0 (or nothing): say "not measured", not 0.
    if not memory:
        memory = None
    wall = number(ad, "RemoteWallClockTime") or None
    user, system = number(ad, "RemoteUserCpu"), number(ad, "RemoteSysCpu")
    cpu = None if user is None and system is None else (user or 0.0) + (system or 0.0)
    cpus_used = number(ad, "CpusUsage")
    if cpus_used is None and cpu is not None and wall:
        cpus_used = cpu / wall
    allowed = number(ad, "AllowedExecuteDuration")
    return Usage(
        job_id=job_id,
        memory_requested_mb=number(ad, "RequestMemory"),
        memory_used_mb=memory,
        disk_requested_mb=_kib_as_mib(number(ad, "RequestDisk")),
        disk_used_mb=_kib_as_mib(number(ad, "DiskUsage")),
        cpus_requested=number(ad, "RequestCpus"),
        cpus_used=cpus_used,
        wall_seconds=wall,
        cpu_seconds=cpu,
        wall_limit_seconds=max(allowed - WALL_TIME_GRACE, 1.0) if allowed else None,
        duration_category=_text(ad, "JobDurationCategory"),
        exceeded=_exceeded(ad),
    )
