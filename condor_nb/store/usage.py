"""A job's runtime and resource use, from the registry (recorded when the job ended),
else from the schedd's queue or history (then recorded, so it outlives them)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from condor_nb.condor import schedd
from condor_nb.condor.status import JobState
from condor_nb.condor.usage import usage_from_ad
from condor_nb.contract import names
from condor_nb.settings import Settings
from condor_nb.spec.usage import Usage, show_seconds
from condor_nb.store import tracking
from condor_nb.store.registry import JobRecord, registry_for

_WITH_USAGE = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.REMOVED, JobState.HELD})


def runtime_of(record: JobRecord, now: float) -> float | None:
    """Seconds the job ran: live while it runs; what the schedd recorded once it ended
    (or was held), so it never grows after; None if it never ran."""
    state = record.job_state
    if state is JobState.RUNNING:
        return max(0.0, now - record.started_at) if record.started_at else None
    if record.runtime_s is not None:
        return record.runtime_s
    if state is not JobState.QUEUED and record.started_at and record.finished_at:
        return max(0.0, record.finished_at - record.started_at)  # a row from before
    return None


def runtime_text(record: JobRecord, now: float | None = None) -> str:
    """The RUNTIME column: ``H:MM:SS``, or ``-``."""
    return show_seconds(runtime_of(record, time.time() if now is None else now))


def recorded(record: JobRecord) -> Usage | None:
    """The usage kept in the registry, if any (no schedd query)."""
    return Usage.from_json(record.usage_json)


def usage_of(records: Sequence[JobRecord], settings: Settings) -> dict[str, Usage | None]:
    """Usage per job id: the registry's, else the schedd's (queue, then history: one
    query each for all the jobs missing), then recorded. None for a job still queued or
    running, or one that never ran."""
    out: dict[str, Usage | None] = {r.id: recorded(r) for r in records}
    by_id = {r.id: r for r in records}
    missing = [
        r.id
        for r in records
        if out[r.id] is None and r.job_state in _WITH_USAGE and (r.started_at or r.runtime_s)
    ]
    if not missing:
        return {job_id: _with_failure(found, by_id[job_id]) for job_id, found in out.items()}
    client = schedd.client_for(settings)
    ads = tracking.usage_ads(client, missing, settings)
    seen = {ad.get(names.ID_ATTR) for ad in ads}
    gone = [i for i in missing if i not in seen]
    step = tracking.MAX_LISTED_IDS
    for chunk in (gone[i : i + step] for i in range(0, len(gone), step)):
        constraint = tracking.mine(tracking.id_constraint(chunk), settings)
        ads.extend(client.history(constraint, tracking.USAGE_PROJECTION, match=len(chunk)))
    registry = registry_for(settings)
    for ad in ads:
        job_id = ad.get(names.ID_ATTR)
        if not isinstance(job_id, str) or job_id not in out or out[job_id] is not None:
            continue
        found = usage_from_ad(ad, job_id)
        if found is not None:
            out[job_id] = found
            registry.update(job_id, usage_json=found.to_json())
    return {job_id: _with_failure(found, by_id[job_id]) for job_id, found in out.items()}


# Failure classes that say which limit the job went over (condor.status).
_EXCEEDED_BY_CLASS = {"out_of_memory": "memory", "wall_time": "wall_time"}


def _with_failure(found: Usage | None, record: JobRecord) -> Usage | None:
    """The usage, told which limit the job exceeded when its failure class says so."""
    exceeded = _EXCEEDED_BY_CLASS.get(record.failure_class or "")
    if found is None or found.exceeded or exceeded is None:
        return found
    return dataclasses.replace(found, exceeded=exceeded)
