"""Keep the registry in step with the schedd, cheaply.

Builds :class:`JobRecord` rows from job ads, so the registry can also be rebuilt
from nothing (jobs carry their condor_nb id and metadata as ``CondorNb*`` attributes).

``sync`` is incremental: after one full look it asks only for jobs whose status
changed since the last look (``EnteredCurrentStatus``), plus a one-ad summary
whose job count tells whether any job left the queue unseen; any doubt falls
back to a full look. On a shared access point this keeps frequent polling cheap
(10,000 jobs: ~35 ms of schedd work instead of ~110 ms).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from condor_nb.condor import bindings, condor_config, constraints, schedd, status, usage
from condor_nb.condor.schedd import ScheddClient
from condor_nb.contract import names
from condor_nb.errors import CondorNbError, ConfigError
from condor_nb.settings import Settings
from condor_nb.spec import quoting
from condor_nb.store.registry import JobRecord, Registry, SweepRecord

log = logging.getLogger(__name__)
PROJECTION: tuple[str, ...] = (
    "ClusterId", "ProcId", "JobStatus", "ExitCode", "ExitBySignal", "ExitSignal",
    "HoldReason", "HoldReasonCode", "RemoveReason", "QDate", "JobStartDate",
    "CompletionDate", "EnteredCurrentStatus", "NumJobStarts",
    names.ID_ATTR, names.NAME_ATTR, names.NOTEBOOK_ATTR, names.PROFILE_ATTR,
    names.JOB_DIR_ATTR, names.PARAMS_ATTR, names.HASH_ATTR, names.PROGRESS_ATTR, names.LIVE_ATTR,
    names.SWEEP_ATTR, names.SWEEP_INDEX_ATTR, names.SPOOLED_ATTR,
    "LastRemoteHost", "JobDisconnectedDate", "JobLeaseDuration", names.FAILURE_ATTR,
)  # fmt: skip
# What RUNTIME needs of every ad (three numbers more). What a job used is asked for
# only once it has ended (one small query for those jobs, or with the history ads):
# the usage attributes on every ad of a 10,000-job queue made each look 60 % slower.
PROJECTION = (*PROJECTION, "JobCurrentStartDate", "RemoteWallClockTime", "LastJobStatus")
USAGE_PROJECTION = (names.ID_ATTR, "JobStatus", *usage.USAGE_ATTRS)
HISTORY_PROJECTION = tuple(dict.fromkeys((*PROJECTION, *usage.USAGE_ATTRS)))
# Seconds of overlap between incremental looks: EnteredCurrentStatus has one-second
# resolution and the summary's ServerTime is read before the "changed" query.
SYNC_MARGIN = 2
_OWNER = re.compile(r"^[A-Za-z0-9._@-]+$")


def owner(settings: Settings) -> str | None:
    """The schedd Owner our jobs run as (constrains every query), when it can be known.

    The ``owner`` setting, else the personal pool's user, else what the schedd
    says our credential maps to (asked once per process and pool). Only a schedd
    that cannot be reached leaves it unknown, and then no query runs anyway.
    """
    if settings.owner:
        if not _OWNER.match(settings.owner):
            raise ConfigError(f"owner: expected a user name; got {settings.owner!r}")
        return settings.owner
    if _personal_pool(settings):
        from condor_nb import pool  # lazy: only the personal pool needs the pool package

        return pool.owner()
    key = (schedd.condor_config_for(settings), settings.collector, settings.schedd)
    if key not in _discovered_owners:
        try:
            found = schedd.client_for(settings).whoami()
        except CondorNbError:
            found = None
        if not found or not _OWNER.match(found):
            return None  # unreachable or no answer: ask again next time, never remember it
        _discovered_owners[key] = found
    return _discovered_owners[key]


_discovered_owners: dict[tuple[str | None, str | None, str | None], str] = {}


def _personal_pool(settings: Settings) -> bool:
    """Do we talk to the personal pool (whose Owner is known without asking)?"""

    if settings.condor_config:
        return False
    try:
        return condor_config.choose(settings, set_by_us=bindings._set_by_us).is_personal_pool
    except CondorNbError:
        return False


def mine(constraint: str, settings: Settings) -> str:
    """``constraint`` limited to our jobs: :func:`base_constraint`, the one rule.

    Job ids are only unique per submitter: on a shared schedd another user's job
    can carry an id a user types, and must never be shown or adopted as theirs; nor
    may a job of the same Owner submitted from another condor_nb home, whose
    outputs belong to that home's staging folders.
    """
    return constraints.scoped(constraint, owner(settings), settings.home)


def base_constraint(settings: Settings) -> str:
    """Our jobs: condor_nb's, of our Owner, submitted from this condor_nb home.

    Jobs of the same Owner submitted from another home (another machine, another
    ``CONDOR_NB_HOME``) belong to that home's registry: their outputs are retrieved
    into its staging folders, so this one leaves them alone.
    """
    return constraints.ours(owner(settings), settings.home)


#: ClassAd constraint matching the given condor_nb ids.
id_constraint = constraints.job_ids


def sweep_constraint(sweep_id: str, settings: Settings) -> str:
    """Every proc of one sweep of ours (never another Owner's or another home's)."""
    return constraints.sweep(sweep_id, owner(settings), settings.home)


def _num(value: Any) -> float | None:
    try:
        return None if value in (None, 0) else float(value)
    except (TypeError, ValueError):
        return None


def signature(ad: Mapping[str, Any]) -> str:
    """Changes whenever the job's status, or its reported progress, changes.

    Comparing it with the stored one instead of classifying every ad keeps ``q``
    on 10,000 jobs fast. (A job waiting for its upload also changes with time
    alone, so those are always classified again.)
    """
    return f"{ad.get('JobStatus')}:{ad.get('EnteredCurrentStatus')}:{ad.get(names.PROGRESS_ATTR)}"


def record_from_ad(
    ad: Mapping[str, Any],
    schedd: str,
    known: JobRecord | None,
    now: float,
    spool_timeout: float = 600,
    in_queue: bool = True,
) -> JobRecord:
    """A registry row for this ad: known rows keep local facts, new ones come from the ad."""
    info = status.classify(ad, now=now, spool_timeout=spool_timeout)
    if known is not None and known.retrieved_at and info.state.is_terminal:
        # After fetching, the worker's result file refined the reason; keep it.
        info = status.StatusInfo(
            status.JobState(known.state), known.reason, known.failure_class, known.exit_code
        )
    dec = quoting.decode_attr
    runtime_s, usage_json = _ended(ad, info.state, known)
    return JobRecord(
        id=str(ad.get(names.ID_ATTR)),
        name=known.name if known else dec(ad.get(names.NAME_ATTR)),
        notebook=known.notebook if known else dec(ad.get(names.NOTEBOOK_ATTR)),
        profile=known.profile if known else dec(ad.get(names.PROFILE_ATTR)),
        schedd=known.schedd if known else schedd,
        cluster=int(ad["ClusterId"]),
        proc=int(ad["ProcId"]),
        job_dir=known.job_dir if known else dec(ad.get(names.JOB_DIR_ATTR)) or None,
        params_json=known.params_json if known else dec(ad.get(names.PARAMS_ATTR)) or None,
        content_hash=known.content_hash if known else dec(ad.get(names.HASH_ATTR)) or None,
        state=info.state.value,
        reason=info.reason,
        failure_class=info.failure_class,
        exit_code=info.exit_code,
        submitted_at=known.submitted_at if known else (_num(ad.get("QDate")) or now),
        started_at=_num(ad.get("JobCurrentStartDate")) or _num(ad.get("JobStartDate")),
        finished_at=_num(ad.get("CompletionDate")) or _removed_at(ad, info.state),
        updated_at=now,
        retrieved_at=known.retrieved_at if known else None,
        fetched_to=known.fetched_to if known else None,
        ad_signature=signature(ad),
        in_queue=int(in_queue),
        cache_key=known.cache_key if known else None,
        sweep_id=known.sweep_id if known else (dec(ad.get(names.SWEEP_ATTR)) or None),
        sweep_index=known.sweep_index if known else _index(ad.get(names.SWEEP_INDEX_ATTR)),
        spooled=known.spooled if known else int(ad.get(names.SPOOLED_ATTR, True) is not False),
        runtime_s=runtime_s,
        usage_json=usage_json,
    )


# How far the schedd moves a stopped job's times once its shadow has gone (measured: 1 s).
_SETTLE_SECONDS = 10


def _removed_at(ad: Mapping[str, Any], state: status.JobState) -> float | None:
    return _num(ad.get("EnteredCurrentStatus")) if state is status.JobState.REMOVED else None


def _ended(
    ad: Mapping[str, Any], state: status.JobState, known: JobRecord | None
) -> tuple[float | None, str | None]:
    """The runtime and usage the schedd recorded, for a job that ended or is held.

    Kept in the registry, so they stay right after the job leaves the queue; a known
    value is kept when a later ad has none.
    """
    old_runtime = known.runtime_s if known else None
    old_usage = known.usage_json if known else None
    if not (state.is_terminal or state in (status.JobState.HELD, status.JobState.QUEUED)):
        return None, None
    runtime = usage.runtime_seconds(ad, state)
    if (
        known is not None
        and known.state == state
        and old_runtime
        and runtime is not None
        and abs(runtime - old_runtime) <= _SETTLE_SECONDS
    ):
        # Recorded when the job ended (or was held): the schedd still settles the ad a
        # moment later (its shadow's exit), but RUNTIME stays what it was at the end.
        # (A job held again after another run differs by more, and is taken anew.)
        runtime = old_runtime
    # Only history ads carry the usage attributes (queue ads: _add_usage asks for them).
    found = None
    if "RequestMemory" in ad:
        found = usage.usage_from_ad(ad, str(ad.get(names.ID_ATTR)))
    if state is status.JobState.QUEUED:  # back in the queue after a run: no usage yet
        return runtime, old_usage
    return (runtime if runtime is not None else old_runtime,
            found.to_json() if found is not None else old_usage)  # fmt: skip


def _index(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _merge(
    ads: Iterable[Mapping[str, Any]],
    client: ScheddClient,
    known: Mapping[str, JobRecord],
    settings: Settings,
    *,
    in_queue: bool,
) -> dict[str, JobRecord]:
    """Rows for these ads; a known job whose signature did not move keeps its row."""
    now = time.time()
    out: dict[str, JobRecord] = {}
    abandoned: list[str] = []
    timeout = settings.spool_timeout
    for ad in ads:
        job_id = ad.get(names.ID_ATTR)
        if not isinstance(job_id, str) or job_id in out:
            continue
        sig = signature(ad)
        if sig.startswith("5:") and status.is_abandoned_upload(ad, now, timeout):
            abandoned.append(job_id)
        old = known.get(job_id)
        if (
            old is not None
            and old.in_queue == in_queue
            and (old.retrieved_at or (old.ad_signature == sig and not _changes_alone(old)))
        ):
            out[job_id] = old
        else:
            out[job_id] = record_from_ad(ad, client.name, old, now, timeout, in_queue)
    if abandoned:
        log.debug("removing %d job(s) whose inputs were never uploaded", len(abandoned))
        _remove_abandoned(client, abandoned, settings)
    if in_queue:
        _add_usage(client, out, known, settings)
    return out


def _add_usage(
    client: ScheddClient,
    out: dict[str, JobRecord],
    known: Mapping[str, JobRecord],
    settings: Settings,
) -> None:
    """What the jobs that just ended (or were held) used: one query for those only."""
    ended = (status.JobState.COMPLETED, status.JobState.FAILED, status.JobState.REMOVED,
             status.JobState.HELD)  # fmt: skip
    wanted = [
        r.id for r in out.values()
        if known.get(r.id) is not r and r.usage_json is None and r.job_state in ended
        and r.started_at  # a job that never ran used nothing
    ]  # fmt: skip
    if not wanted:
        return
    for ad in usage_ads(client, wanted, settings):
        job_id = ad.get(names.ID_ATTR)
        record = out.get(job_id) if isinstance(job_id, str) else None
        found = usage.usage_from_ad(ad, str(job_id)) if record is not None else None
        if record is not None and found is not None:
            out[record.id] = dataclasses.replace(record, usage_json=found.to_json())


#: Up to this many ids are listed in a constraint (``member`` is linear per ad).
MAX_LISTED_IDS = 100


def usage_ads(
    client: ScheddClient, ids: Sequence[str], settings: Settings
) -> list[Mapping[str, Any]]:
    """The usage attributes of these jobs in the queue: by id, or for many (a registry
    rebuilt, a large sweep), every ended or held job of ours, one query either way."""
    if len(ids) <= MAX_LISTED_IDS:
        constraint = id_constraint(ids)
    else:
        constraint = "JobStatus == 3 || JobStatus == 4 || JobStatus == 5"
    return list(client.query(mine(constraint, settings), USAGE_PROJECTION))


def _changes_alone(record: JobRecord) -> bool:
    """Its reason changes with time alone: waiting for its upload, or running a cell
    for so long (the live attribute is classified again: new cell, new output)."""
    return record.reason == "uploading inputs" or record.state == status.JobState.RUNNING.value


def _remove_abandoned(client: ScheddClient, ids: Sequence[str], settings: Settings) -> None:
    """Remove jobs whose submitter died before uploading their inputs (they never run)."""
    reason = "condor_nb: inputs were never uploaded (the submitting process stopped)"
    client.act("remove", mine(id_constraint(ids), settings), reason)


def _changed(fresh: Mapping[str, JobRecord], known: Mapping[str, JobRecord]) -> list[JobRecord]:
    """Rows worth writing: those that are not the very row already stored."""
    return [r for job_id, r in fresh.items() if known.get(job_id) is not r]


def refresh(
    client: ScheddClient, registry: Registry, settings: Settings, ids: Sequence[str]
) -> dict[str, JobRecord]:
    """Refresh the named jobs: queue first, then history for those that left it."""
    known = {r.id: r for r in registry.all(ids)}
    ads = client.query(mine(id_constraint(ids), settings), PROJECTION)
    fresh = _merge(ads, client, known, settings, in_queue=True)
    gone = [i for i in ids if i not in fresh]
    if gone:
        hist = client.history(
            mine(id_constraint(gone), settings), HISTORY_PROJECTION, match=len(gone)
        )
        fresh.update(_merge(hist, client, known, settings, in_queue=False))
    registry.upsert_many(_changed(fresh, known))
    return fresh


def refresh_sweep(
    client: ScheddClient, registry: Registry, settings: Settings, sweep_id: str
) -> None:
    """Refresh every unfinished member of a sweep with one query (plus history if needed)."""
    members = [r for _, r in registry.sweep_members(sweep_id)]
    open_ids = {r.id for r in members if not (r.job_state.is_terminal and r.retrieved_at)}
    if not open_ids:
        return
    known = {r.id: r for r in members}
    constraint = f"CondorNbSweep == {quoting.encode_attr(sweep_id)}"
    own = {r.id for r in members if r.sweep_id == sweep_id}
    others = sorted(open_ids - own)  # cached answers from earlier runs
    if others:
        constraint = f"({constraint}) || {id_constraint(others)}"
    constraint = mine(constraint, settings)
    fresh = _merge(client.query(constraint, PROJECTION), client, known, settings, in_queue=True)
    gone = [i for i in open_ids if i not in fresh and not known[i].job_state.is_terminal]
    if gone:
        hist = client.history(
            mine(id_constraint(gone), settings), HISTORY_PROJECTION, match=len(gone)
        )
        fresh.update(_merge(hist, client, known, settings, in_queue=False))
    registry.upsert_many(_changed(fresh, known))


def _mark_key(client: ScheddClient) -> str:
    return f"synced:{client.name}"


def _incremental(
    client: ScheddClient,
    registry: Registry,
    settings: Settings,
    known: Mapping[str, JobRecord],
    since: float,
) -> dict[str, JobRecord] | None:
    """Jobs that changed since ``since``; None when the queue moved in ways it cannot see."""
    base = base_constraint(settings)
    summary = client.summary(base)
    changed = constraints.changed_since(base, since)
    fresh = _merge(client.query(changed, PROJECTION), client, known, settings, in_queue=True)
    in_queue = {r.id for r in known.values() if r.in_queue and r.schedd == client.name}
    counted = int(summary.get("Jobs", -1))
    if len(in_queue | fresh.keys()) != counted:
        # A job left the queue (or arrived) unseen: look at everything.
        log.debug(
            "sync %s: full look: the schedd counts %d job(s) of ours in the queue, the "
            "registry and the %d changed since %d make %d",
            client.name, counted, len(fresh), int(since), len(in_queue | fresh.keys()),
        )  # fmt: skip
        return None
    log.debug(
        "sync %s: incremental: %d job(s) changed since %d, %d in the queue",
        client.name, len(fresh), int(since), counted,
    )  # fmt: skip
    registry.upsert_many(_changed(fresh, known))
    registry.set_meta(_mark_key(client), str(int(summary["ServerTime"]) - SYNC_MARGIN))
    return fresh


def _full(
    client: ScheddClient, registry: Registry, settings: Settings, known: Mapping[str, JobRecord]
) -> dict[str, JobRecord]:
    base = base_constraint(settings)
    mark = client.summary(base).get("ServerTime")
    fresh = _merge(client.query(base, PROJECTION), client, known, settings, in_queue=True)
    left = [
        r.id
        for r in known.values()
        if r.id not in fresh and r.schedd == client.name and (r.in_queue or not r.retrieved_at)
        and not (r.job_state.is_terminal and not r.in_queue)
    ]  # fmt: skip
    if left:
        log.debug("sync %s: %d job(s) left the queue: asking the history", client.name, len(left))
        hist = client.history(
            mine(id_constraint(left), settings), HISTORY_PROJECTION, match=len(left)
        )
        fresh.update(_merge(hist, client, known, settings, in_queue=False))
    changed = _changed(fresh, known)
    log.debug(
        "sync %s: full look: %d job(s) in the queue, %d row(s) written",
        client.name, sum(1 for r in fresh.values() if r.in_queue), len(changed),
    )  # fmt: skip
    registry.upsert_many(changed)
    written = {r.id for r in changed}
    # Only the flags that moved (usually none): rewriting 10,000 rows costs ~0.1 s.
    registry.set_in_queue(
        (r.id, int(r.id in fresh and bool(fresh[r.id].in_queue)))
        for r in known.values()
        if r.schedd == client.name
        and r.id not in written
        and bool(r.in_queue) != (r.id in fresh and bool(fresh[r.id].in_queue))
    )
    if mark is not None:
        registry.set_meta(_mark_key(client), str(int(mark) - SYNC_MARGIN))
    return fresh


def sync(client: ScheddClient, registry: Registry, settings: Settings) -> list[JobRecord]:
    """Bring the registry in line with our jobs on this schedd; every row, oldest first."""
    known = {r.id: r for r in registry.all()}
    mark = registry.get_meta(_mark_key(client))
    fresh = None
    if mark is not None:
        fresh = _incremental(client, registry, settings, known, float(mark))
    else:
        log.debug("sync %s: full look: no earlier look at this schedd recorded", client.name)
    if fresh is None:
        fresh = _full(client, registry, settings, known)
    merged = {**known, **fresh}
    return sorted(merged.values(), key=lambda r: r.submitted_at)


def rebuild(client: ScheddClient, registry: Registry, settings: Settings) -> int:
    """Recreate registry rows from the queue and the history; returns rows added."""
    known = {r.id: r for r in registry.all()}
    constraint = base_constraint(settings)
    fresh = _merge(client.query(constraint, PROJECTION), client, known, settings, in_queue=True)
    hist = client.history(constraint, HISTORY_PROJECTION)
    for job_id, record in _merge(hist, client, known, settings, in_queue=False).items():
        fresh.setdefault(job_id, record)
    added = [r for r in fresh.values() if r.id not in known]
    registry.upsert_many(fresh.values())
    _rebuild_sweeps(registry, fresh.values())
    registry.set_meta(_mark_key(client), None)  # the next sync looks at everything
    return len(added)


def _rebuild_sweeps(registry: Registry, records: Iterable[JobRecord]) -> None:
    """Sweeps the registry lost, recreated from their procs (latest attempt per index)."""

    groups: dict[str, list[JobRecord]] = {}
    for r in records:
        if r.sweep_id and r.sweep_index is not None:
            groups.setdefault(r.sweep_id, []).append(r)
    for sweep_id, procs in groups.items():
        if registry.get_sweep(sweep_id) is not None:
            continue
        procs.sort(key=lambda r: r.submitted_at)
        latest = {r.sweep_index: r.id for r in procs}
        first = procs[0]
        registry.insert_sweep(
            SweepRecord(
                id=sweep_id,
                name=first.name.rsplit("[", 1)[0],
                notebook=first.notebook,
                schedd=first.schedd,
                job_dir=first.job_dir or "",
                size=len(latest),
                submitted_at=first.submitted_at,
            )
        )
        registry.set_members(sweep_id, [(i, j) for i, j in latest.items() if i is not None])
