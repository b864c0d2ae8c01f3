"""Which firings of a schedule never ran, and why (pure: no I/O, no bindings).

HTCondor never starts two runs of one cron job, and a firing it cannot start in
time is simply skipped: the job ad keeps no trace of it (measured on 23.9: a late
run starts late, the firings that pass meanwhile are dropped). What is known is
enough to reconstruct them: every run records its planned time (the job ad's
``DeferralTime``) and its start and end; condor_nb records each pause; the
schedd's current ``DeferralTime`` is the next firing it will try. Every firing of
the cron expression before that which no run answered was skipped, and the runs
and pauses around it say why.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from condor_nb.schedules import cron as schedules_cron

PAUSED, HELD = "p", "h"
#: How many skipped firings are reported (the newest); a long pause of a busy
#: schedule would otherwise list thousands.
MAX_REPORTED = 500
#: Seconds before the horizon that are searched for skipped firings.
LOOKBACK = 92 * 86400
_MAX_LOG = 50


@dataclass(frozen=True)
class Hold:
    """A time the schedule's job was held: paused by its user, or held by HTCondor."""

    kind: str  # PAUSED or HELD
    start: float
    end: float | None  # None: still held
    reason: str = ""

    def covers(self, t: float) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


@dataclass(frozen=True)
class MissedRun:
    """A firing of the schedule that did not run."""

    schedule_id: str
    planned: float
    state: str  # "MISSED"; "SKIPPED" while paused; "STOPPED": its run stopped by a pause
    reason: str

    @property
    def run_id(self) -> str:
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.planned))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schedule_id": self.schedule_id,
            "run_id": self.run_id,
            "planned": self.planned,
            "state": self.state,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class RunTimes:
    """What the computation needs of one run."""

    run_id: str
    planned: float | None
    started: float
    finished: float


def _hhmm(t: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(t))


def parse_log(text: str) -> list[Hold]:
    """``CondorNbHolds``: ``kind:start-end;...`` (condor_nb writes it at each resume)."""
    out = []
    for item in (text or "").split(";"):
        kind, _, span = item.partition(":")
        start, _, end = span.partition("-")
        try:
            out.append(Hold(kind, float(start), float(end)))
        except ValueError:
            continue
    return out


def format_log(holds: Sequence[Hold]) -> str:
    """The newest closed holds, as stored in ``CondorNbHolds`` (a short string)."""
    closed = [h for h in holds if h.end is not None][-_MAX_LOG:]
    return ";".join(f"{h.kind}:{h.start:.0f}-{h.end:.0f}" for h in closed)


def _planned(cron: str, run: RunTimes) -> float:
    """A run's planned time; archives from before condor_nb recorded it: the last firing."""
    if run.planned:
        return run.planned
    for lookback in (3600, 86400, 32 * 86400, 366 * 86400):
        earlier = schedules_cron.fire_times(cron, run.started - lookback, run.started, 10**6)
        if earlier:
            return earlier[-1]
    return run.started


def _why(
    t: float,
    runs: Sequence[RunTimes],
    planned: Sequence[float],
    holds: Sequence[Hold],
    following: float,
) -> tuple[str, str]:
    """Why firing ``t`` did not run; ``following``: the schedule's next firing after it."""
    for hold in holds:
        if hold.covers(t):
            if hold.kind == PAUSED:
                return "SKIPPED", "the schedule was paused"
            why = hold.reason or "no reason given"
            return "MISSED", f"the schedule's job was held by HTCondor: {why}"
    # A run of another firing explains it first: a pause that came later did not.
    for run, when in zip(runs, planned, strict=True):
        if run.started <= t < run.finished:
            return "MISSED", (
                f"run {run.run_id} was still running (HTCondor never starts two runs of a "
                "schedule; a run lasted longer than the interval)"
            )
        if when < t < run.started:
            return "MISSED", (
                f"run {run.run_id}, planned for {_hhmm(when)}, could only start at "
                f"{_hhmm(run.started)} (no free execute slot, or the schedd was busy or down)"
            )
    for hold in holds:
        # Paused after this firing, before the next: pausing stops the run in progress.
        if hold.kind == PAUSED and t < hold.start < following:
            return "STOPPED", (
                f"stopped by Pause at {_hhmm(hold.start)}: the schedule was paused before "
                "this firing's run ended (pausing stops a running run; not a failure)"
            )
    return "MISSED", (
        "no run started: the schedd was down or busy, or no execute slot was free in time "
        "(HTCondor skips a firing it cannot start)"
    )


def missed_runs(
    schedule_id: str,
    cron: str,
    *,
    created: float,
    runs: Sequence[RunTimes],
    holds: Sequence[Hold],
    next_planned: float | None,
    now: float,
) -> list[MissedRun]:
    """The firings in ``[created, horizon)`` that no run answered, oldest first.

    The horizon is the firing the schedd will try next (``next_planned``); while the
    job is held there is none, and every firing until ``now`` was skipped.
    """
    planned = [_planned(cron, r) for r in runs]
    horizon = next_planned if next_planned is not None else now
    # Firings during a pause are skipped for good, even before the schedd has
    # planned the next one (right after a resume it still shows the old time).
    horizon = max([horizon, *(h.end for h in holds if h.end is not None and h.end <= now)])
    start = max(min([created, *planned]) - 1, horizon - LOOKBACK)
    if horizon <= start:
        return []
    answered = set(planned)
    times = [t for t in schedules_cron.fire_times(cron, start, horizon - 1, limit=1_000_000)]
    following = dict(zip(times, [*times[1:], horizon][: len(times)], strict=True))
    firings = [t for t in times if t not in answered and t < horizon]
    out = []
    for t in firings[-MAX_REPORTED:]:
        state, reason = _why(t, runs, planned, holds, following[t])
        out.append(MissedRun(schedule_id, t, state, reason))
    return out
