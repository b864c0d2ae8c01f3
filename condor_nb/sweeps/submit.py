"""Submitting a sweep (and resubmitting its failed procs) as one cluster.

Both go through the one chokepoint (:func:`condor_nb.submission.submit.submit`): the
same preflight as a single job, the same staging, and nothing left behind when a
submission fails. This module returns registry records; :mod:`condor_nb.sweeps.api`
wraps them in handles (it imports this module, never the other way round).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from condor_nb.condor.status import JobState
from condor_nb.contract.layout import JobFiles, worker_notebook_name
from condor_nb.errors import SpecError, StateConflictError
from condor_nb.settings import Settings
from condor_nb.spec import notify
from condor_nb.spec.job import NotebookJob
from condor_nb.spec.notebook import inspect_notebook
from condor_nb.spec.params import check_parameters
from condor_nb.store import cache as result_cache
from condor_nb.store.registry import JobRecord, SweepRecord, registry_for
from condor_nb.submission import preflight, staging, templates
from condor_nb.submission import submit as chokepoint
from condor_nb.submission.executor import wanted
from condor_nb.submission.render import (
    ITEM_ID,
    ITEM_INDEX,
    ITEM_PARAMS,
    SweepEntry,
    is_spooled,
    params_attr,
    render_sweep,
)
from condor_nb.submission.submit import new_job_id

SWEEP_PREFIX = "s"
DESCRIPTION_FILE = "description.json"  # the sweep's submit description, kept for retries


def _checked_sets(
    base: NotebookJob, sets: Sequence[Mapping[str, Any]], allow_unknown: bool
) -> list[NotebookJob]:
    import dataclasses

    if not sets:
        raise SpecError("a sweep needs at least one parameter set; got none")
    info = inspect_notebook(base.notebook)
    out = []
    for number, values in enumerate(sets):
        merged = {**base.parameters, **values}
        try:
            checked = check_parameters(info, merged, allow_unknown=allow_unknown)
        except SpecError as exc:
            raise SpecError(f"parameter set #{number} {dict(values)!r}: {exc.message}",
                            hint=exc.hint) from None  # fmt: skip
        out.append(dataclasses.replace(base, parameters=checked))
    return out


def _records(
    entries: Sequence[tuple[SweepEntry, NotebookJob, str]],
    sweep_id: str,
    files: JobFiles,
    schedd_name: str,
) -> list[JobRecord]:
    now = time.time()
    return [
        JobRecord(
            id=e.job_id, name=f"{job.name}[{e.index}]", notebook=str(job.notebook),
            profile=job.profile, schedd=schedd_name, cluster=None, proc=position,
            job_dir=str(files.job_dir),
            params_json=json.dumps(dict(job.parameters), sort_keys=True, ensure_ascii=False),
            content_hash=job.content_hash, state=JobState.QUEUED.value, reason=None,
            failure_class=None, exit_code=None, submitted_at=now, started_at=None,
            finished_at=None, updated_at=now, cache_key=key, sweep_id=sweep_id,
            sweep_index=e.index,
        )
        for position, (e, job, key) in enumerate(entries)
    ]  # fmt: skip


def _submission(
    kind: str,
    target: preflight.Target,
    wall_time: float | None,
    description: Mapping[str, str],
    itemdata: list[dict[str, str]],
    records: list[JobRecord],
    settings: Settings,
    secrets: Path | None,
    stage: Callable[[], None] | None,
) -> chokepoint.Submission:
    """The sweep's (or its retry's) submission: records inserted as soon as the cluster
    exists, marked REMOVED if the submission then fails. ``secrets``: the file staged by
    this submission (a retry stages none: a failed retry must not delete the secrets
    that a non-spooled sweep's running procs read from ``in/``)."""
    registry = registry_for(settings)
    spool = is_spooled(description)  # the sweep's own choice, also for its retries
    for record in records:
        record.spooled = int(spool)

    def remember(cluster: int, schedd_name: str) -> None:
        for record in records:
            record.cluster, record.schedd = cluster, schedd_name
        registry.insert_many(records)

    def not_submitted(exc: BaseException) -> None:
        for record in records:
            registry.update(record.id, state=JobState.REMOVED.value,
                            reason=f"not submitted: {exc}")  # fmt: skip

    return chokepoint.Submission(
        kind=kind, description=description, itemdata=itemdata, spool=spool,
        target=target, stage=stage, wall_time=wall_time, secrets=secrets,
        on_submitted=remember, on_failure=not_submitted,
    )  # fmt: skip


def submit_sweep(
    base: NotebookJob,
    sets: Sequence[Mapping[str, Any]],
    settings: Settings,
    *,
    cache: bool = True,
    allow_unknown: bool = False,
) -> SweepRecord:
    """Validate every set, answer what the cache can, submit the rest as one cluster."""

    jobs = _checked_sets(base, sets, allow_unknown)
    registry = registry_for(settings)
    digests = result_cache.input_digests(base)
    sweep_id = SWEEP_PREFIX + new_job_id()
    ship = wanted(settings, base.image, procs=len(sets))
    name = worker_notebook_name(base.notebook)
    files = JobFiles(settings.jobs_dir / sweep_id, name, executor=ship)
    members: list[tuple[int, str]] = []
    pending: list[tuple[SweepEntry, NotebookJob, str]] = []
    for index, job in enumerate(jobs):
        key = result_cache.cache_key(job, settings, digests)
        hit = result_cache.lookup(registry, key) if cache else None
        if hit is not None:
            members.append((index, hit.id))
        else:
            pending.append((SweepEntry(index, new_job_id(), job.parameters), job, key))
    schedd_name = ""
    if pending:
        template = templates.load(base.profile)
        description, itemdata = render_sweep(
            base, sweep_id=sweep_id, files=files, entries=[e for e, _, _ in pending],
            template=template, settings=settings,
        )  # fmt: skip
        records = _records(pending, sweep_id, files, "")
        procs = [(e, job) for e, job, _ in pending]
        saved = {DESCRIPTION_FILE: description}

        def stage() -> None:
            staging.stage_sweep(base, files, procs, saved)

        target = preflight.Target(base.notebook, base.image, base.kernel, files.job_dir)
        sub = _submission("sweep", target, base.wall_time, description, itemdata, records,
                          settings, files.secrets, stage)  # fmt: skip
        sub.allow_no_match = base.allow_no_match
        schedd_name = chokepoint.submit(sub, settings).schedd
        # (not spooled: the procs read the secrets from in/ as they start; Sweep.retrieve
        # deletes them)
        members.extend((e.index, e.job_id) for e, _, _ in pending)
    record = SweepRecord(
        id=sweep_id, name=base.name, notebook=str(base.notebook), schedd=schedd_name,
        job_dir=str(files.job_dir), size=len(jobs), submitted_at=time.time(),
    )  # fmt: skip
    registry.insert_sweep(record)
    registry.set_members(sweep_id, members)
    return record


def archive_attempt(out_dir: Path) -> None:
    """Keep a failed attempt's outputs next to the new attempt's (nothing is lost)."""
    if out_dir.exists() and any(out_dir.iterdir()):
        attempt = 1
        while out_dir.with_name(f"{out_dir.name}.attempt{attempt}").exists():
            attempt += 1
        shutil.move(str(out_dir), out_dir.with_name(f"{out_dir.name}.attempt{attempt}"))
    out_dir.mkdir(parents=True, exist_ok=True)


def resubmit(
    sweep: SweepRecord, failed: Sequence[tuple[int, JobRecord]], settings: Settings
) -> list[JobRecord]:
    """The failed procs again, as a new cluster with the sweep's own description.

    The sweep's folder is reused (never removed); the preflight is a single job's,
    the base spec being rebuilt from the sweep's record (notebook snapshot, image)."""

    job_dir = Path(sweep.job_dir)
    description_path = job_dir / DESCRIPTION_FILE
    if not description_path.is_file():
        raise StateConflictError(
            f"sweep {sweep.id} has no saved description ({description_path}); it cannot be retried",
            hint="submit the failed parameter sets again with condor_nb.sweep(...)",
        )
    description = json.loads(description_path.read_text(encoding="utf-8"))
    files = JobFiles(job_dir, worker_notebook_name(Path(sweep.notebook)))
    itemdata: list[dict[str, str]] = []
    records: list[JobRecord] = []
    configs: list[tuple[JobFiles, dict[str, Any]]] = []
    for position, (index, old) in enumerate(failed):
        proc = JobFiles(job_dir, files.notebook_name, index)
        config = json.loads(proc.job_json.read_text(encoding="utf-8"))
        previous = str(config.get("job_id") or old.id)
        config["job_id"] = new_id = new_job_id()
        if isinstance(config.get("notify"), list):  # its links name the new job
            config["notify"] = notify.relinked(config["notify"], previous, new_id)
        configs.append((proc, config))
        params = json.loads(old.params_json or "{}")
        itemdata.append(
            {ITEM_ID: new_id, ITEM_INDEX: str(index), ITEM_PARAMS: params_attr(params) or ""}
        )
        records.append(_clone(old, new_id, position))

    def stage() -> None:
        for proc, config in configs:
            archive_attempt(proc.out_dir)
            staging.write_config(proc.job_json, config)

    # Checked as at the first submission: the staged notebook, the sweep's image.
    first = configs[0][1]
    image = description.get("CONDOR_NB_IMAGE") or None
    target = preflight.Target(files.notebook, image, first.get("kernel"), job_dir)
    sub = _submission("sweep retry", target, first.get("wall_time"), description, itemdata,
                      records, settings, None, stage)  # fmt: skip
    chokepoint.submit(sub, settings)
    registry_for(settings).set_members(
        sweep.id, [(i, r.id) for (i, _), r in zip(failed, records, strict=True)]
    )
    return records


def _clone(old: JobRecord, new_id: str, position: int) -> JobRecord:
    import dataclasses

    now = time.time()
    return dataclasses.replace(
        old, id=new_id, cluster=None, proc=position, state=JobState.QUEUED.value, reason=None,
        failure_class=None, exit_code=None, submitted_at=now, started_at=None, finished_at=None,
        updated_at=now, retrieved_at=None, fetched_to=None, ad_signature=None, in_queue=0,
    )  # fmt: skip
