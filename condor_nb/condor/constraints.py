"""ClassAd constraints for condor_nb's jobs, always scoped to their owner (pure).

Every constraint that reaches the schedd to look at or act on our jobs is built
here, from :func:`ours`: condor_nb's jobs, of our Owner, submitted from this
condor_nb home. Job, sweep, schedule and dask-session ids are only unique per
submitter: on a shared schedd another user's job (or the same user's job submitted
from another condor_nb home, whose outputs belong to that home) may carry the same
id, and must never be shown, adopted, held or removed as ours.

The Owner is None only when the schedd could not tell who we are (it was
unreachable): then the home still scopes, and the schedd itself refuses to act on
another Owner's jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from condor_nb.condor.status import HELD, HOLD_CODE_SPOOLING_INPUT, REMOVED, RUNNING
from condor_nb.spec import quoting

#: What marks a job (``CondorNbId``) or a schedule (``CondorNbScheduleId``) as condor_nb's.
JOB_MARK = "CondorNbId"
SCHEDULE_MARK = "CondorNbScheduleId"


def ours(owner: str | None, home: str | Path, *, mark: str = JOB_MARK) -> str:
    """condor_nb's jobs (carrying ``mark``), of ``owner``, submitted from ``home``.

    >>> ours("alice", "/h")
    'CondorNbId isnt undefined && substr(CondorNbJobDir, 0, 3) == "/h/" && Owner == "alice"'
    """
    prefix = quoting.encode_text(str(home).rstrip("/") + "/")
    clause = f'{mark} isnt undefined && substr(CondorNbJobDir, 0, {len(prefix)}) == "{prefix}"'
    return f'{clause} && Owner == "{owner}"' if owner else clause


def scoped(constraint: str, owner: str | None, home: str | Path, *, mark: str = JOB_MARK) -> str:
    """``constraint`` limited to :func:`ours`."""
    return f"({constraint}) && {ours(owner, home, mark=mark)}"


def job_ids(ids: Sequence[str]) -> str:
    """The jobs with these condor_nb ids (ids are [0-9a-f] only). Not scoped: pass it
    through :func:`scoped`."""
    if len(ids) == 1:
        return f'CondorNbId == "{ids[0]}"'
    listed = ", ".join(f'"{i}"' for i in ids)
    return f"member(CondorNbId, {{{listed}}})"


def sweep(sweep_id: str, owner: str | None, home: str | Path) -> str:
    """Every proc of one sweep of ours."""
    return scoped(f"CondorNbSweep == {quoting.encode_attr(sweep_id)}", owner, home)


def schedule(owner: str | None, home: str | Path, schedule_id: str | None = None) -> str:
    """Our schedules (or the one named)."""
    clause = ours(owner, home, mark=SCHEDULE_MARK)
    if schedule_id is None:
        return clause
    return f"{clause} && CondorNbScheduleId == {quoting.encode_attr(schedule_id)}"


def not_uploading() -> str:
    """Not on the schedd's hold while its inputs are uploaded (a release would be undone)."""
    return f"HoldReasonCode =!= {HOLD_CODE_SPOOLING_INPUT}"


def not_removed() -> str:
    """Still to be removed (a removed job waits in the queue for its shadow)."""
    return f"JobStatus =!= {REMOVED}"


def changed_since(base: str, since: float) -> str:
    """Our jobs that may have changed since ``since``: entered their status or were
    queued since, running (progress moves), or waiting for their upload."""
    return (
        f"{base} && (EnteredCurrentStatus >= {int(since)} || QDate >= {int(since)}"
        f" || JobStatus == {RUNNING}"
        f" || (JobStatus == {HELD} && HoldReasonCode == {HOLD_CODE_SPOOLING_INPUT}))"
    )
