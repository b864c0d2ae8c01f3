"""A schedule's job ad -> :class:`Schedule` (pure: plain mappings in, dataclasses out).

A schedule is one HTCondor cron job (``on_exit_remove = false``). Between runs it is
idle, or "running" while it waits on a claimed slot for its ``DeferralTime``
(``cron_prep_time`` before the run). A user hold is a pause; any other hold (a
missed start, a policy) is shown with HTCondor's reason.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from condor_nb.condor import status as job_status
from condor_nb.contract import names
from condor_nb.spec import quoting

ACTIVE, PAUSED, HELD, DELETED = "ACTIVE", "PAUSED", "HELD", "DELETED"
PROJECTION = (
    "ClusterId",
    "ProcId",
    "JobStatus",
    "HoldReason",
    "HoldReasonCode",
    "LastHoldReason",
    "LastHoldReasonCode",
    "NumSystemHolds",
    "NumJobStarts",
    "NumJobCompletions",
    "ExitCode",
    "DeferralTime",
    "QDate",
    "EnteredCurrentStatus",
    "CompletionDate",
    "JobCurrentStartDate",
    names.SCHEDULE_ID_ATTR,
    names.NAME_ATTR,
    names.NOTEBOOK_ATTR,
    names.PARAMS_ATTR,
    names.CRON_ATTR,
    names.PROFILE_ATTR,
    names.JOB_DIR_ATTR,
    names.KEEP_RUNS_ATTR,
    names.HOLDS_ATTR,
)
_USER_HOLD, _SPOOLING_HOLD = job_status.HOLD_CODE_USER, job_status.HOLD_CODE_SPOOLING_INPUT


@dataclass(frozen=True)
class Schedule:
    """A notebook that HTCondor runs on a cron schedule; the schedd is its source of truth."""

    id: str
    name: str
    notebook: str
    cron: str
    parameters: Mapping[str, Any]
    profile: str
    state: str
    reason: str | None
    cluster: int
    proc: int
    next_run: float | None
    runs_started: int
    runs_finished: int
    last_exit_code: int | None
    problems: int
    last_problem: str | None
    created_at: float
    job_dir: str | None
    keep_runs: int = 10
    extra: Mapping[str, Any] = field(default_factory=dict)
    held_since: float | None = None  # paused or held: since when
    hold_log: str = ""  # earlier pauses and holds (condor_nb.schedules.missed.parse_log)

    @property
    def condor_id(self) -> str:
        return f"{self.cluster}.{self.proc}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["parameters"] = dict(self.parameters)
        out["condor_id"] = self.condor_id
        out.pop("extra", None)
        out.pop("hold_log", None)
        return out


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))


def _state(ad: Mapping[str, Any], now: float) -> tuple[str, str | None]:
    status = _int(ad.get("JobStatus"))
    deferral = _int(ad.get("DeferralTime"))
    upcoming = f"next run {_when(deferral)}" if deferral else "waiting for its first run"
    if status == job_status.IDLE:
        return ACTIVE, upcoming
    if status in (job_status.RUNNING, job_status.TRANSFERRING_OUTPUT):
        if deferral and now < deferral:
            return ACTIVE, f"{upcoming} (a slot is claimed and waiting)"
        return ACTIVE, "running now"
    if status == job_status.HELD:
        code = _int(ad.get("HoldReasonCode"))
        if code == _USER_HOLD:
            return PAUSED, "paused; resume it to run again"
        if code == _SPOOLING_HOLD:
            return ACTIVE, "uploading inputs"
        return HELD, f"held by HTCondor: {ad.get('HoldReason') or 'no reason given'}"
    if status in (job_status.REMOVED, job_status.COMPLETED):
        return DELETED, "deleted"
    return ACTIVE, f"unknown HTCondor JobStatus {status}"


def _params(raw: Any) -> dict[str, Any]:
    text = quoting.decode_attr(raw)
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def from_ad(ad: Mapping[str, Any], *, now: float | None = None) -> Schedule:
    """The schedule an ad describes."""
    state, reason = _state(ad, time.time() if now is None else now)
    last_code = _int(ad.get("LastHoldReasonCode"))
    problem = (
        ad.get("LastHoldReason") if last_code not in (None, _USER_HOLD, _SPOOLING_HOLD) else None
    )
    dec = quoting.decode_attr
    return Schedule(
        id=dec(ad.get(names.SCHEDULE_ID_ATTR)),
        name=dec(ad.get(names.NAME_ATTR)),
        notebook=dec(ad.get(names.NOTEBOOK_ATTR)),
        cron=dec(ad.get(names.CRON_ATTR)),
        parameters=_params(ad.get(names.PARAMS_ATTR)),
        profile=dec(ad.get(names.PROFILE_ATTR)),
        state=state,
        reason=reason,
        cluster=int(ad.get("ClusterId", 0)),
        proc=int(ad.get("ProcId", 0)),
        next_run=float(ad["DeferralTime"]) if _int(ad.get("DeferralTime")) else None,
        runs_started=_int(ad.get("NumJobStarts")) or 0,
        runs_finished=_int(ad.get("NumJobCompletions")) or 0,
        last_exit_code=_int(ad.get("ExitCode")),
        problems=_int(ad.get("NumSystemHolds")) or 0,
        last_problem=str(problem) if problem else None,
        created_at=float(ad.get("QDate") or 0),
        job_dir=dec(ad.get(names.JOB_DIR_ATTR)) or None,
        keep_runs=_int(ad.get(names.KEEP_RUNS_ATTR)) or 10,
        held_since=_held_since(ad) if state in (PAUSED, HELD) else None,
        hold_log=str(ad.get(names.HOLDS_ATTR) or ""),
    )


def _held_since(ad: Mapping[str, Any]) -> float | None:
    entered = _int(ad.get("EnteredCurrentStatus"))
    return float(entered) if entered else None


def newest_per_id(ads: list[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """One ad per schedule id: an update replaces the job, the newest cluster wins."""
    out: dict[str, Mapping[str, Any]] = {}
    for ad in ads:
        sid = quoting.decode_attr(ad.get(names.SCHEDULE_ID_ATTR))
        if not sid:
            continue
        old = out.get(sid)
        if old is None or int(ad.get("ClusterId", 0)) > int(old.get("ClusterId", 0)):
            out[sid] = ad
    return out
