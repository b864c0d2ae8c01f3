"""The errors for "the job is in a state where this action makes no sense".

Each names the state the job is in and what to do first; the CLI exits 8 (9 for a
job that did not complete, when the caller asked for an error) and the Jupyter
extension answers 409 (the classes in :mod:`condor_nb.errors` say so).
"""

from __future__ import annotations

from typing import NoReturn

from condor_nb.condor.status import JobState, StatusInfo
from condor_nb.errors import JobHeldError, NotebookExecutionError, StateConflictError


def _state(info: StatusInfo) -> str:
    return f"{info.state.value} ({info.reason})" if info.reason else info.state.value


def held(job_id: str, info: StatusInfo, what: str) -> JobHeldError:
    return JobHeldError(
        f"job {job_id} is {_state(info)}: {what}",
        hint=f"it will not go on by itself: fix the cause, then `condor_nb release {job_id}` "
        f"(Job.release()); or remove it with `condor_nb rm {job_id}`",
    )


def raise_unless_completed(job_id: str, info: StatusInfo) -> None:
    """Waiting ended: JobHeldError when held, NotebookExecutionError when FAILED or REMOVED."""
    if info.state is JobState.COMPLETED:
        return
    if info.state is JobState.HELD:
        raise held(job_id, info, "it stopped before finishing")
    if info.state.is_terminal:
        hint = (
            f"see why with `condor_nb status {job_id}` and `condor_nb logs {job_id}`"
            if info.state is JobState.FAILED
            else f"see who removed it and why with `condor_nb status {job_id}`"
        )
        raise NotebookExecutionError(f"job {job_id} {_state(info)}", hint=hint)


def raise_no_outputs(job_id: str, info: StatusInfo) -> NoReturn:
    """Fetch asked for outputs that have not come back (not finished, held, removed)."""
    if info.state is JobState.HELD:
        raise held(job_id, info, "its outputs come back only when it finishes")
    if info.state is JobState.REMOVED:
        raise StateConflictError(
            f"job {job_id} is REMOVED: it was removed before it finished, so it has no "
            "outputs to fetch",
            hint=f"see `condor_nb status {job_id}`; submit the notebook again to run it",
        )
    raise StateConflictError(
        f"job {job_id} is {_state(info)}: its outputs are not available until it finishes",
        hint=f"wait for it with `condor_nb wait {job_id}` (Job.wait()), which also fetches "
        "them; or fetch again once `condor_nb status` says COMPLETED or FAILED",
    )


_DONE = {"hold": "held", "remove": "removed"}


def raise_cannot_act(job_id: str, action: str, info: StatusInfo) -> None:
    """The schedd changed nothing: say why, unless the job is already where it was sent."""
    if action == "hold" and info.state is JobState.HELD:
        return  # already held: holding again is harmless
    if action == "release":
        raise StateConflictError(
            f"job {job_id} is {_state(info)}: only a held job can be released; nothing changed",
            hint=f"`condor_nb status {job_id}` shows its state; `condor_nb q` lists the held ones",
        )
    raise StateConflictError(
        f"job {job_id} is {_state(info)}: only a queued or running job can be "
        f"{_DONE.get(action, action)}; "
        "nothing changed",
        hint=f"`condor_nb status {job_id}` shows its state",
    )
