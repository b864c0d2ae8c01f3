"""One table from what HTCondor says about a job to what condor_nb tells the user.

Inputs are plain job-ad dictionaries (queue or history), so this layer is pure and
tested with tables of cases. The worker wrapper's exit codes (see
``condor_nb.contract``) let us classify a failed notebook without fetching anything.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from condor_nb.condor import failure, live
from condor_nb.condor.status_restart import restart_reason
from condor_nb.contract.names import OUTCOME_BY_EXIT_CODE, SPOOLED_ATTR


class JobState(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    HELD = "HELD"
    REMOVED = "REMOVED"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.REMOVED})

# HTCondor JobStatus codes.
IDLE, RUNNING, REMOVED, COMPLETED, HELD, TRANSFERRING_OUTPUT, SUSPENDED = 1, 2, 3, 4, 5, 6, 7

HOLD_CODE_USER = 1
HOLD_CODE_SPOOLING_INPUT = 16
# Input transfer failed (13), initialdir not accessible (14): for a job submitted
# without spooling, the access point does not share the notebook host's folder.
NOT_SHARED_HOLD_CODES = (13, 14)

# Failure classes: a short machine name and the sentence a user reads.
FAILURE_CLASSES: dict[str, str] = {
    "cell_error": "a cell raised an error",
    "kernel_died": "the kernel died (most often: out of memory; ask for more with --memory)",
    "cell_timeout": "a cell ran longer than the per-cell timeout",
    "input_error": "the notebook, its parameters or the worker's Python could not be used",
    "internal_error": "the condor_nb wrapper failed on the worker (a bug: please report it)",
    "interrupted": "the job was stopped while running (evicted, removed or over its time limit)",
    "out_of_memory": "the job used more memory than it requested; ask for more with --memory",
    "missing_input": "an input file could not be transferred to the worker",
    "output_transfer": "the outputs could not be transferred back",
    "held_by_user": "held by the user; release it with `condor_nb release`",
    "held_by_policy": "held by a site or job policy",
    "never_uploaded": "the inputs were never uploaded (the submitting process stopped); "
    "the job will be removed automatically",
    "python_missing": "the worker's Python could not be started (check --image or worker_python)",
    "killed_by_signal": "the job was killed by a signal",
    "wall_time": "the job ran longer than its wall-time limit",
    "credential": "the job's credentials were rejected or expired",
    "image": "the container image could not be used",
    "not_shared": "the access point does not see the job's staging folder at the same path "
    "(shared_filesystem is on): put condor_nb's home on the filesystem it shares, or turn "
    "shared_filesystem off",
    "unknown": "the job ended with an unexpected exit code",
}

# Exit code -> failure class: the worker wrapper's outcomes (a failure class each, by
# the same name), and the shell's "cannot execute" / "not found" for the worker's Python.
_EXIT_CLASSES: dict[int, str] = {
    **{code: outcome for code, outcome in OUTCOME_BY_EXIT_CODE.items() if code},
    126: "python_missing",
    127: "python_missing",
}

# HoldReasonCode -> failure class (HTCondor manual, "HoldReasonCode" table).
_HOLD_CLASSES: dict[int, str] = {
    1: "held_by_user",
    3: "held_by_policy",
    6: "python_missing",
    12: "output_transfer",
    13: "missing_input",
    16: "never_uploaded",
    21: "held_by_policy",
    26: "held_by_policy",
    27: "held_by_policy",
    34: "out_of_memory",
    35: "image",
    45: "image",
    46: "wall_time",
    47: "wall_time",
}


@dataclass(frozen=True)
class StatusInfo:
    """What we tell the user: a state, a plain-language reason, and a failure class."""

    state: JobState
    reason: str | None = None
    failure_class: str | None = None
    exit_code: int | None = None


def _as_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _failed_exit(ad: Mapping[str, Any]) -> StatusInfo:
    if ad.get("ExitBySignal") is True:
        signal = _as_int(ad.get("ExitSignal"))
        why = f"killed by signal {signal}"
        if signal == 9:
            why += " (often: out of memory, or the site's policy killed it)"
        return StatusInfo(JobState.FAILED, why, "killed_by_signal")
    code = _as_int(ad.get("ExitCode"))
    if code is None or code == 0:
        return StatusInfo(JobState.COMPLETED, None, None, code)
    klass = _EXIT_CLASSES.get(code, "unknown")
    reason = FAILURE_CLASSES[klass]
    if klass == "unknown":
        reason = f"{reason} ({code})"
    reason = failure.reason(klass, reason, failure.from_ad(ad))  # the wrapper's own words
    return StatusInfo(JobState.FAILED, reason, klass, code)


def is_abandoned_upload(ad: Mapping[str, Any], now: float, spool_timeout: float) -> bool:
    """Held on "spooling input" for longer than anyone would upload: the client died.

    The schedd evaluates neither ``periodic_remove`` nor ``SYSTEM_PERIODIC_REMOVE``
    for jobs in this state (measured on 23.9), so condor_nb itself removes them.
    """
    if _as_int(ad.get("JobStatus")) != HELD:
        return False
    if _as_int(ad.get("HoldReasonCode")) != HOLD_CODE_SPOOLING_INPUT:
        return False
    entered = _as_int(ad.get("EnteredCurrentStatus"))
    return entered is not None and now - entered > spool_timeout


def _held(ad: Mapping[str, Any], now: float | None, spool_timeout: float) -> StatusInfo:
    code = _as_int(ad.get("HoldReasonCode"))
    text = str(ad.get("HoldReason") or "").strip()
    # Spooling is normal for a moment after submit; only an abandoned upload is a problem.
    if code == HOLD_CODE_SPOOLING_INPUT and (
        now is None or not is_abandoned_upload(ad, now, spool_timeout)
    ):
        return StatusInfo(JobState.QUEUED, "uploading inputs")
    klass = _HOLD_CLASSES.get(code or -1, "held_by_policy")
    if ad.get(SPOOLED_ATTR) is False and code in NOT_SHARED_HOLD_CODES:
        klass = "not_shared"
    reason = FAILURE_CLASSES[klass]
    if text and klass not in ("never_uploaded",):
        reason = f"{reason}: {text}"
    return StatusInfo(JobState.HELD, reason, klass)


def _removed(ad: Mapping[str, Any]) -> StatusInfo:
    text = str(ad.get("RemoveReason") or "").strip()
    if (
        ad.get("HoldReasonCode") == HOLD_CODE_SPOOLING_INPUT
        or "spool" in text.lower()
        or "never uploaded" in text
    ):
        return StatusInfo(JobState.REMOVED, FAILURE_CLASSES["never_uploaded"], "never_uploaded")
    return StatusInfo(JobState.REMOVED, text or "removed")


def classify(
    ad: Mapping[str, Any], *, now: float | None = None, spool_timeout: float = 600
) -> StatusInfo:
    """Map one job ad (queue or history) to a :class:`StatusInfo`."""
    status = _as_int(ad.get("JobStatus"))
    if status in (IDLE, None):
        starts = _as_int(ad.get("NumJobStarts")) or 0
        if not starts:
            return StatusInfo(JobState.QUEUED, None)

        return StatusInfo(JobState.QUEUED, restart_reason(ad))
    if status in (RUNNING, TRANSFERRING_OUTPUT):
        return StatusInfo(JobState.RUNNING, live.reason(ad, now))
    if status == SUSPENDED:
        return StatusInfo(JobState.RUNNING, "suspended by the execute machine")
    if status == COMPLETED:
        return _failed_exit(ad)
    if status == HELD:
        return _held(ad, now, spool_timeout)
    if status == REMOVED:
        return _removed(ad)
    return StatusInfo(JobState.QUEUED, f"unknown HTCondor JobStatus {status}")


def from_result_file(result: Mapping[str, Any]) -> StatusInfo:
    """Refine a finished job's status with the worker's result file (after fetch)."""
    outcome = str(result.get("outcome") or "internal_error")
    if outcome == "completed":
        return StatusInfo(JobState.COMPLETED, None, None, 0)
    klass = outcome if outcome in FAILURE_CLASSES else "unknown"
    reason = FAILURE_CLASSES[klass]
    error = result.get("error") or {}
    cell = result.get("failed_cell")
    summary = failure.from_result(result)
    if summary:  # the words the job ad said before the fetch
        reason = failure.reason(klass, reason, summary)
    elif isinstance(error, Mapping) and error.get("name"):  # an older wrapper's file
        detail = f"{error.get('name')}: {error.get('value', '')}".strip()
        # failed_cell indexes the executed notebook's cells; people count from 1.
        where = f" in cell {int(cell) + 1} of the executed notebook" if cell is not None else ""
        reason = f"{reason}{where}: {detail}"
    return StatusInfo(JobState.FAILED, reason, klass, _as_int(result.get("exit_code")))
