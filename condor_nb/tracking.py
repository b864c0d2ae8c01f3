"""Keep the registry in step with the schedd: one projected query, then history.

Builds :class:`JobRecord` rows from job ads, so the registry can also be rebuilt
from nothing (jobs carry their condor_nb id and metadata as ``CondorNb*`` attributes).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from condor_nb import quoting, status
from condor_nb.registry import JobRecord, Registry
from condor_nb.schedd import ScheddClient
from condor_nb.settings import Settings

PROJECTION = (
    "ClusterId", "ProcId", "JobStatus", "ExitCode", "ExitBySignal", "ExitSignal",
    "HoldReason", "HoldReasonCode", "RemoveReason", "QDate", "JobStartDate",
    "CompletionDate", "EnteredCurrentStatus", "NumJobStarts",
    "CondorNbId", "CondorNbName", "CondorNbNotebook", "CondorNbProfile",
    "CondorNbJobDir", "CondorNbParams", "CondorNbHash", "CondorNbProgress",
)  # fmt: skip


def owner(settings: Settings) -> str | None:
    """The schedd Owner our jobs run as, when known (constrains every query)."""
    if settings.owner:
        return settings.owner
    if settings.profile == "personal" and not settings.condor_config:
        from condor_nb import pool

        return pool.owner()
    return None


def base_constraint(settings: Settings) -> str:
    mine = owner(settings)
    clause = "CondorNbId isnt undefined"
    return f'{clause} && Owner == "{mine}"' if mine else clause


def id_constraint(ids: Sequence[str]) -> str:
    """ClassAd constraint matching the given condor_nb ids (ids are [0-9a-f] only)."""
    if len(ids) == 1:
        return f'CondorNbId == "{ids[0]}"'
    listed = ", ".join(f'"{i}"' for i in ids)
    return f"member(CondorNbId, {{{listed}}})"


def _num(value: Any) -> float | None:
    try:
        return None if value in (None, 0) else float(value)
    except (TypeError, ValueError):
        return None


def record_from_ad(
    ad: Mapping[str, Any],
    schedd: str,
    known: JobRecord | None,
    now: float,
    spool_timeout: float = 600,
) -> JobRecord:
    """A registry row for this ad: known rows keep local facts, new ones come from the ad."""
    info = status.classify(ad, now=now, spool_timeout=spool_timeout)
    if known is not None and known.retrieved_at and info.state.is_terminal:
        # After fetching, the worker's result file refined the reason; keep it.
        info = status.StatusInfo(
            status.JobState(known.state), known.reason, known.failure_class, known.exit_code
        )
    dec = quoting.decode_attr
    return JobRecord(
        id=str(ad.get("CondorNbId")),
        name=known.name if known else dec(ad.get("CondorNbName")),
        notebook=known.notebook if known else dec(ad.get("CondorNbNotebook")),
        profile=known.profile if known else dec(ad.get("CondorNbProfile")),
        schedd=known.schedd if known else schedd,
        cluster=int(ad["ClusterId"]),
        proc=int(ad["ProcId"]),
        job_dir=known.job_dir if known else dec(ad.get("CondorNbJobDir")) or None,
        params_json=known.params_json if known else dec(ad.get("CondorNbParams")) or None,
        content_hash=known.content_hash if known else dec(ad.get("CondorNbHash")) or None,
        state=info.state.value,
        reason=info.reason,
        failure_class=info.failure_class,
        exit_code=info.exit_code,
        submitted_at=known.submitted_at if known else (_num(ad.get("QDate")) or now),
        started_at=_num(ad.get("JobStartDate")),
        finished_at=_num(ad.get("CompletionDate")),
        updated_at=now,
        retrieved_at=known.retrieved_at if known else None,
        fetched_to=known.fetched_to if known else None,
    )


def _merge(
    ads: Iterable[Mapping[str, Any]],
    client: ScheddClient,
    known: Mapping[str, JobRecord],
    now: float,
    settings: Settings,
) -> dict[str, JobRecord]:
    out: dict[str, JobRecord] = {}
    abandoned: list[str] = []
    for ad in ads:
        job_id = ad.get("CondorNbId")
        if isinstance(job_id, str) and job_id not in out:
            if status.is_abandoned_upload(ad, now, settings.spool_timeout):
                abandoned.append(job_id)
            out[job_id] = record_from_ad(
                ad, client.name, known.get(job_id), now, settings.spool_timeout
            )
    if abandoned:
        _remove_abandoned(client, abandoned)
    return out


def _remove_abandoned(client: ScheddClient, ids: Sequence[str]) -> None:
    """Remove jobs whose submitter died before uploading their inputs (they never run)."""
    reason = "condor_nb: inputs were never uploaded (the submitting process stopped)"
    client.act("remove", id_constraint(ids), reason)


def refresh(
    client: ScheddClient, registry: Registry, settings: Settings, ids: Sequence[str]
) -> dict[str, JobRecord]:
    """Refresh the named jobs: queue first, then history for those that left it."""
    now = time.time()
    known = {r.id: r for r in registry.all(ids)}
    fresh = _merge(client.query(id_constraint(ids), PROJECTION), client, known, now, settings)
    gone = [i for i in ids if i not in fresh]
    if gone:
        hist = client.history(id_constraint(gone), PROJECTION, match=len(gone))
        fresh.update(_merge(hist, client, known, now, settings))
    registry.upsert_many(fresh.values())
    return fresh


def sync(client: ScheddClient, registry: Registry, settings: Settings) -> None:
    """Bring the registry in line with everything of ours in the queue (one query)."""
    now = time.time()
    ads = client.query(base_constraint(settings), PROJECTION)
    known = {r.id: r for r in registry.all()}
    fresh = _merge(ads, client, known, now, settings)
    left = [
        r.id
        for r in known.values()
        if r.id not in fresh and r.schedd == client.name and not r.job_state.is_terminal
    ]
    if left:
        hist = client.history(id_constraint(left), PROJECTION, match=len(left))
        fresh.update(_merge(hist, client, known, now, settings))
    registry.upsert_many(fresh.values())


def rebuild(client: ScheddClient, registry: Registry, settings: Settings) -> int:
    """Recreate registry rows from the queue and the history; returns rows added."""
    now = time.time()
    known = {r.id: r for r in registry.all()}
    constraint = base_constraint(settings)
    hist = client.history(constraint, PROJECTION)
    fresh = _merge(client.query(constraint, PROJECTION), client, known, now, settings)
    for job_id, record in _merge(hist, client, known, now, settings).items():
        fresh.setdefault(job_id, record)
    added = [r for r in fresh.values() if r.id not in known]
    registry.upsert_many(fresh.values())
    return len(added)
