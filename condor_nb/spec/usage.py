"""What a finished job asked for against what it used, and a hint for the next submit.

Pure: the numbers come from the job ad (read by ``condor_nb.condor.usage``) and are
kept in the registry as JSON, so they outlive the job's stay in the queue. Sizes are
MiB throughout (HTCondor's ``RequestMemory``/``MemoryUsage`` unit; its KiB disk
attributes are converted when read), times are seconds, CPUs are cores.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

#: Seconds the schedd lets a job run past its ``--wall-time`` (the worker stops the
#: notebook at the wall time itself, keeping its partial outputs; the schedd's
#: ``allowed_execute_duration`` is the backstop).
WALL_TIME_GRACE = 300

#: OSPool's job duration categories and the wall time after which they are held.
DURATION_CATEGORIES: dict[str, float] = {"Medium": 20 * 3600.0, "Long": 40 * 3600.0}

#: Shown where the pool reports no memory use at all (rather than a false 0).
NOT_MEASURED = "not measured by this pool"

# A smaller request is suggested only when it saves this much (MiB) and halves the request.
_MIN_SAVING_MB = {"memory": 512.0, "disk": 1024.0}
_FLOOR_MB = {"memory": 256.0, "disk": 256.0}
_HEADROOM = 1.5


@dataclass(frozen=True)
class Usage:
    """Requested against used, for one finished job, as the schedd recorded them.

    ``None`` means "not known": the pool did not measure it (``memory_used_mb`` on a
    pool that reports no memory use) or the job never ran.
    """

    job_id: str
    memory_requested_mb: float | None = None
    #: Peak resident memory of the job's processes (``MemoryUsage``).
    memory_used_mb: float | None = None
    disk_requested_mb: float | None = None
    #: Peak scratch disk use (``DiskUsage``).
    disk_used_mb: float | None = None
    cpus_requested: float | None = None
    #: Average cores busy over the run (``CpusUsage``, else CPU time / wall time).
    cpus_used: float | None = None
    #: Time on an execute machine, all runs (``RemoteWallClockTime``).
    wall_seconds: float | None = None
    #: User + system CPU time (``RemoteUserCpu`` + ``RemoteSysCpu``).
    cpu_seconds: float | None = None
    #: The job's ``--wall-time``, if it had one.
    wall_limit_seconds: float | None = None
    #: OSPool's ``JobDurationCategory`` (Medium: 20 h, Long: 40 h), if set.
    duration_category: str | None = None
    #: "memory", "disk" or "wall_time" when the job was held or stopped for exceeding it.
    exceeded: str | None = None

    @property
    def memory_measured(self) -> bool:
        return self.memory_used_mb is not None

    def hints(self) -> list[str]:
        """Plain suggestions for the next submit of this notebook (may be empty)."""
        return hints(self)

    def lines(self) -> list[str]:
        """The usage as ``what: used of requested`` lines, then the hints."""
        return describe(self)

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})

    @classmethod
    def from_json(cls, text: str | None) -> Usage | None:
        if not text:
            return None
        try:
            raw = json.loads(text)
        except ValueError:
            return None
        if not isinstance(raw, Mapping) or not isinstance(raw.get("job_id"), str):
            return None
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


# -- sizes and times as people write them -------------------------------------------


def show_mb(mb: float | None) -> str:
    """``300 MB``, ``1.1 GB`` (binary units, as HTCondor and ``--memory`` read them)."""
    if mb is None:
        return "-"
    if mb >= 1024:
        gb = mb / 1024
        return f"{gb:.0f} GB" if gb >= 10 or gb == int(gb) else f"{gb:.1f} GB"
    return f"{mb:.0f} MB" if mb >= 1 else f"{mb * 1024:.0f} KB"


def option_size(mb: float) -> str:
    """A size for ``--memory``/``--disk``: ``512MB``, ``1.5GB``, ``2GB``."""
    return f"{mb / 1024:g}GB" if mb >= 1024 and mb % 512 == 0 else f"{int(mb)}MB"


def show_seconds(secs: float | None) -> str:
    """``H:MM:SS`` (the RUNTIME column's format)."""
    if secs is None:
        return "-"
    s = max(0, round(secs))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def option_duration(secs: float) -> str:
    """A duration for ``--wall-time``: ``45m``, ``3h``, ``1h30m``."""
    minutes = max(1, math.ceil(secs / 60))
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest}m"
    return f"{hours}h{rest}m" if rest else f"{hours}h"


def round_up_size(mb: float, floor: float = 128.0) -> float:
    """Up to a size people ask for: 128 MB steps to 1 GB, 512 MB to 4 GB, then whole GB."""
    mb = max(mb, floor)
    step = 128.0 if mb <= 1024 else 512.0 if mb <= 4096 else 1024.0
    return math.ceil(mb / step) * step


# -- hints ---------------------------------------------------------------------------


def _size_hint(
    kind: str, flag: str, used: float | None, asked: float | None, over: bool
) -> str | None:
    if used is None or not asked:
        return None
    said = f"used {show_mb(used)} of {show_mb(asked)} requested"
    if over or used > asked:
        more = round_up_size(max(used, asked) * _HEADROOM, asked * 2 if over else 0.0)
        why = "was stopped for using more " + kind if over else "used more than it asked for"
        return f"{kind}: {said}; it {why}: {flag} {option_size(more)} next time"
    if used > 0.9 * asked:
        more = round_up_size(used * _HEADROOM)
        return f"{kind}: {said}, close to the limit: {flag} {option_size(more)} would be safer"
    fit = round_up_size(used * _HEADROOM, _FLOOR_MB[kind])
    if fit <= asked / 2 and asked - fit >= _MIN_SAVING_MB[kind]:
        return f"{kind}: {said}: {flag} {option_size(fit)} would start sooner"
    return None


def _cpu_hint(u: Usage) -> str | None:
    used, asked = u.cpus_used, u.cpus_requested
    if used is None or not asked:
        return None
    said = f"used {used:.1f} of {asked:g} CPUs on average"
    if used > asked * 1.25 and used - asked >= 0.5:
        return f"cpus: {said}: --cpus {math.ceil(used)} would match what it uses"
    if asked > 1 and used < asked / 2:
        return f"cpus: {said}: --cpus {max(1, math.ceil(used * 1.25))} would start sooner"
    return None


def _wall_hint(u: Usage) -> str | None:
    wall = u.wall_seconds
    if wall is None:
        return None
    limit = u.wall_limit_seconds
    if limit:
        said = f"ran {show_seconds(wall)} of its --wall-time {option_duration(limit)}"
        if u.exceeded == "wall_time" or wall >= 0.9 * limit:
            more = max(wall, limit) * _HEADROOM
            return f"wall time: {said}: --wall-time {option_duration(more)} next time"
        return None
    category = u.duration_category
    cap = DURATION_CATEGORIES.get(category or "")
    if category and cap and wall >= 0.75 * cap:
        longer = [name for name, secs in DURATION_CATEGORIES.items() if secs > cap]
        said = (
            f"wall time: ran {show_seconds(wall)} of the {category} category's {cap / 3600:.0f} h"
        )
        if longer:
            return f"{said}: ask for JobDurationCategory {longer[0]!r}"
        return said
    return None


def hints(u: Usage) -> list[str]:
    """Suggestions for the next submit: smaller requests that start sooner, larger
    ones where the job used (or was stopped for) more than it asked for."""
    found = [
        _size_hint("memory", "--memory", u.memory_used_mb, u.memory_requested_mb,
                   u.exceeded == "memory"),
        _size_hint("disk", "--disk", u.disk_used_mb, u.disk_requested_mb, u.exceeded == "disk"),
        _cpu_hint(u),
        _wall_hint(u),
    ]  # fmt: skip
    if u.exceeded == "memory" and u.memory_used_mb is None and u.memory_requested_mb:
        more = round_up_size(u.memory_requested_mb * 2)
        found[0] = f"memory: stopped for using more than {show_mb(u.memory_requested_mb)}: " \
                   f"--memory {option_size(more)} next time"  # fmt: skip
    return [h for h in found if h]


def describe(u: Usage) -> list[str]:
    """``memory: 300 MB used of 2 GB requested`` ... then ``hint: ...`` lines."""
    cpus = "-" if u.cpus_used is None else f"{u.cpus_used:.2f} used"
    wall = show_seconds(u.wall_seconds)
    if u.wall_limit_seconds:
        wall += f" of --wall-time {option_duration(u.wall_limit_seconds)}"
    elif u.duration_category:
        wall += f" ({u.duration_category} category)"
    out = [
        f"memory: {show_mb(u.memory_used_mb)} used of {show_mb(u.memory_requested_mb)} requested"
        if u.memory_measured
        else f"memory: {show_mb(u.memory_requested_mb)} requested; use {NOT_MEASURED}",
        f"disk: {show_mb(u.disk_used_mb)} used of {show_mb(u.disk_requested_mb)} requested",
        f"cpus: {cpus} of {'-' if u.cpus_requested is None else f'{u.cpus_requested:g}'} "
        f"requested (cpu time {show_seconds(u.cpu_seconds)})",
        f"wall time: {wall}",
    ]
    return out + [f"hint: {h}" for h in hints(u)]


# -- a sweep's table -----------------------------------------------------------------

USAGE_HEADERS = ("INDEX", "JOB", "STATE", "MEMORY", "DISK", "CPUS", "WALL")


def _pair(used: float | None, asked: float | None, show: Any, measured: bool = True) -> str:
    shown = show(used) if measured else "n/m"
    return f"{shown} / {show(asked)}"


def usage_row(u: Usage) -> list[str]:
    """MEMORY, DISK, CPUS, WALL cells: ``used / requested``."""

    def cpus(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}".rstrip("0").rstrip(".")

    wall_limit = u.wall_limit_seconds
    return [
        _pair(u.memory_used_mb, u.memory_requested_mb, show_mb, u.memory_measured),
        _pair(u.disk_used_mb, u.disk_requested_mb, show_mb),
        _pair(u.cpus_used, u.cpus_requested, cpus),
        show_seconds(u.wall_seconds) + (f" / {option_duration(wall_limit)}" if wall_limit else ""),
    ]


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def summary(usages: Sequence[Usage]) -> list[str]:
    """One line per resource over a sweep's finished jobs: max and median used against
    the (largest) request, and the hint that fits the largest use."""
    if not usages:
        return []
    out = []
    for label, used_of, asked_of, show in (
        ("memory", lambda u: u.memory_used_mb, lambda u: u.memory_requested_mb, show_mb),
        ("disk", lambda u: u.disk_used_mb, lambda u: u.disk_requested_mb, show_mb),
        ("cpus", lambda u: u.cpus_used, lambda u: u.cpus_requested, lambda v: f"{v:.2f}"),
        ("wall time", lambda u: u.wall_seconds, lambda u: u.wall_limit_seconds, show_seconds),
    ):
        used = [v for v in map(used_of, usages) if v is not None]
        asked = [v for v in map(asked_of, usages) if v is not None]
        if not used:
            if label == "memory":
                out.append(f"memory: {NOT_MEASURED}")
            continue
        line = f"{label}: max {show(max(used))}, median {show(_median(used))} used"
        if asked:
            line += f" of {show(max(asked))} requested"
        out.append(line)
    peak = Usage(
        job_id="sweep",
        memory_requested_mb=_max(u.memory_requested_mb for u in usages),
        memory_used_mb=_max(u.memory_used_mb for u in usages),
        disk_requested_mb=_max(u.disk_requested_mb for u in usages),
        disk_used_mb=_max(u.disk_used_mb for u in usages),
        cpus_requested=_max(u.cpus_requested for u in usages),
        cpus_used=_max(u.cpus_used for u in usages),
        wall_seconds=_max(u.wall_seconds for u in usages),
        wall_limit_seconds=_max(u.wall_limit_seconds for u in usages),
        duration_category=next((u.duration_category for u in usages if u.duration_category), None),
        exceeded=next((u.exceeded for u in usages if u.exceeded), None),
    )
    return out + [f"hint (for the largest use): {h}" for h in hints(peak)]


def _max(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None
