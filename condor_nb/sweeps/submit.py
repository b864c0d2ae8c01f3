"""Submitting a sweep (and resubmitting its failed procs) as one cluster."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from condor_nb.api import Job, _stage_common, _stage_secrets, new_job_id, registry_for
from condor_nb.condor import schedd
from condor_nb.condor.status import JobState
from condor_nb.contract.layout import JobFiles, worker_notebook_name
from condor_nb.errors import SpecError
from condor_nb.settings import Settings
from condor_nb.spec.job import NotebookJob
from condor_nb.store.registry import JobRecord, SweepRecord
from condor_nb.submission.render import SweepEntry, is_spooled, job_config

if TYPE_CHECKING:
    from condor_nb.sweeps.api import Sweep

DESCRIPTION_FILE = "description.json"  # the sweep's submit description, kept for retries


def _checked_sets(
    base: NotebookJob, sets: Sequence[Mapping[str, Any]], allow_unknown: bool
) -> list[NotebookJob]:
    import dataclasses

    from condor_nb.spec.notebook import inspect_notebook
    from condor_nb.spec.params import check_parameters

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


def _stage_procs(files: JobFiles, entries: Sequence[tuple[SweepEntry, NotebookJob]]) -> None:
    for entry, job in entries:
        proc = JobFiles(files.job_dir, files.notebook_name, entry.index)
        proc.job_json.parent.mkdir(parents=True, exist_ok=True)
        proc.out_dir.mkdir(parents=True, exist_ok=True)
        config = job_config(job, job_id=entry.job_id, notebook_name=files.notebook_name)
        proc.job_json.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")


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


def _submit(
    description: Mapping[str, str],
    itemdata: list[dict[str, str]],
    records: list[JobRecord],
    settings: Settings,
) -> None:
    registry = registry_for(settings)
    client = schedd.client_for(settings)
    spool = is_spooled(description)  # the sweep's own choice, also for its retries
    for record in records:
        record.spooled = int(spool)

    def remember(cluster: int) -> None:
        for record in records:
            record.cluster = cluster
        registry.insert_many(records)

    try:
        client.submit(description, spool=spool, itemdata=itemdata, on_submitted=remember)
    except BaseException as exc:
        for record in records:
            if record.cluster is not None:
                registry.update(record.id, state=JobState.REMOVED.value,
                                reason=f"not submitted: {exc}")  # fmt: skip
        raise


def submit_sweep(
    base: NotebookJob,
    sets: Sequence[Mapping[str, Any]],
    settings: Settings,
    *,
    cache: bool = True,
    allow_unknown: bool = False,
) -> Sweep:
    """Validate every set, answer what the cache can, submit the rest as one cluster."""
    from condor_nb.store import cache as result_cache
    from condor_nb.submission import templates
    from condor_nb.submission.render import render_sweep
    from condor_nb.sweeps.api import SWEEP_PREFIX, Sweep

    jobs = _checked_sets(base, sets, allow_unknown)
    registry = registry_for(settings)
    digests = result_cache.input_digests(base)
    sweep_id = SWEEP_PREFIX + new_job_id()
    from condor_nb.submission.executor import wanted

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
        try:  # every way out after staging starts leads here: nothing staged is left
            _stage_common(base, files)
            if base.secrets:
                _stage_secrets(base, files)
            _stage_procs(files, [(e, job) for e, job, _ in pending])
            description_file = files.job_dir / DESCRIPTION_FILE
            description_file.write_text(json.dumps(description), encoding="utf-8")
            schedd_name = schedd.client_for(settings).name
            records = _records(pending, sweep_id, files, schedd_name)
            _submit(description, itemdata, records, settings)
        except BaseException:
            # _submit already removed a cluster the schedd made (client.submit does)
            shutil.rmtree(files.job_dir, ignore_errors=True)
            raise
        if is_spooled(description):
            files.secrets.unlink(missing_ok=True)  # the schedd has them now
        # (else the procs read them from in/ as they start; Sweep.retrieve deletes them)
        members.extend((e.index, e.job_id) for e, _, _ in pending)
    record = SweepRecord(
        id=sweep_id, name=base.name, notebook=str(base.notebook), schedd=schedd_name,
        job_dir=str(files.job_dir), size=len(jobs), submitted_at=time.time(),
    )  # fmt: skip
    registry.insert_sweep(record)
    registry.set_members(sweep_id, members)
    return Sweep(record, settings)


def resubmit(sweep: Sweep, failed: Sequence[tuple[int, Job]], settings: Settings) -> list[Job]:
    """The failed procs again, as a new cluster with the sweep's own description."""
    from condor_nb.submission.render import ITEM_ID, ITEM_INDEX, ITEM_PARAMS, params_attr
    from condor_nb.sweeps.api import archive_attempt

    job_dir = Path(sweep.record.job_dir)
    description_path = job_dir / DESCRIPTION_FILE
    if not description_path.is_file():
        raise SpecError(
            f"sweep {sweep.id} has no saved description ({description_path}); it cannot be retried",
            hint="submit the failed parameter sets again with condor_nb.sweep(...)",
        )
    description = json.loads(description_path.read_text(encoding="utf-8"))
    files = JobFiles(job_dir, worker_notebook_name(Path(sweep.record.notebook)))
    itemdata, records = [], []
    for position, (index, old) in enumerate(failed):
        proc = JobFiles(job_dir, files.notebook_name, index)
        archive_attempt(proc.out_dir)
        config = json.loads(proc.job_json.read_text(encoding="utf-8"))
        config["job_id"] = new_id = new_job_id()
        proc.job_json.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
        params = json.loads(old.record.params_json or "{}")
        itemdata.append(
            {ITEM_ID: new_id, ITEM_INDEX: str(index), ITEM_PARAMS: params_attr(params) or ""}
        )
        record = _clone(old.record, new_id, position)
        records.append(record)
    _submit(description, itemdata, records, settings)
    registry_for(settings).set_members(
        sweep.id, [(i, r.id) for (i, _), r in zip(failed, records, strict=True)]
    )
    return [Job(r, settings) for r in records]


def _clone(old: JobRecord, new_id: str, position: int) -> JobRecord:
    import dataclasses

    now = time.time()
    return dataclasses.replace(
        old, id=new_id, cluster=None, proc=position, state=JobState.QUEUED.value, reason=None,
        failure_class=None, exit_code=None, submitted_at=now, started_at=None, finished_at=None,
        updated_at=now, retrieved_at=None, fetched_to=None, ad_signature=None, in_queue=0,
    )  # fmt: skip
