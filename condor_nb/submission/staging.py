"""The one staging implementation: what a job's folder holds before it is submitted.

A job's staging folder (:class:`~condor_nb.submission.render.JobFiles`) has ``in/``
(a snapshot of the notebook, the worker wrapper, the executor zip, the job's
``condor_nb_job.json``, its secrets) and ``out/`` (the job's ``initialdir``: outputs
land there). A sweep's procs share ``in/``; each has ``procs/INDEX/condor_nb_job.json``
and ``out/INDEX/``. A schedule adds its cron runner and its runs archive to ``in/``.

Secret values are written 0600 to ``in/`` and deleted as soon as the schedd has them
(:func:`drop_secrets`); a job that is not spooled keeps them until it has finished.
Removing what was staged when a submission fails is the chokepoint's job
(:mod:`condor_nb.submission.submit`), not this module's.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from condor_nb.contract.layout import JobFiles
from condor_nb.spec.job import NotebookJob, read_secret
from condor_nb.submission import executor
from condor_nb.submission.render import SweepEntry, job_config
from condor_nb.worker import WRAPPER_FILES


def stage_common(job: NotebookJob, files: JobFiles) -> None:
    """The inputs every proc shares: a snapshot of the notebook, the wrapper, the executor.

    The notebook is not copied onto itself (a schedule update may run the snapshot
    already staged, its original being gone).
    """
    files.in_dir.mkdir(parents=True, exist_ok=True)
    if not (files.notebook.exists() and os.path.samefile(job.notebook, files.notebook)):
        shutil.copyfile(job.notebook, files.notebook)
    for name, source in WRAPPER_FILES.items():
        shutil.copyfile(source, files.in_dir / name)
    if files.executor:
        executor.stage(files.in_dir)


def stage_secrets(job: NotebookJob, files: JobFiles) -> None:
    """The secret values, read now from their sources, into ``in/`` (mode 0600)."""
    if not job.secrets:
        return
    values = {name: read_secret(source) for name, source in job.secrets}
    fd = os.open(files.secrets, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(values, fh)


def drop_secrets(files: JobFiles) -> None:
    """The schedd has the secrets now (spooled): no copy stays on this side."""
    files.secrets.unlink(missing_ok=True)


def write_config(path: Path, config: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(config), ensure_ascii=False), encoding="utf-8")


def stage_job(
    job: NotebookJob,
    files: JobFiles,
    job_id: str,
    *,
    config_extra: Mapping[str, Any] | None = None,
    extra_inputs: Sequence[tuple[str, Path | None]] = (),
) -> None:
    """A single job's folder (also a schedule's): inputs, ``out/``, secrets, job config.

    ``extra_inputs`` are ``(name in in/, source)``: the source is copied when it is a
    file; without one, an empty file is created unless one is already there (a
    schedule's runs archive is carried over from update to update).
    """
    stage_common(job, files)
    files.out_dir.mkdir(parents=True, exist_ok=True)
    stage_secrets(job, files)
    for name, source in extra_inputs:
        target = files.in_dir / name
        if source is not None and source.is_file():
            shutil.copyfile(source, target)
        elif not target.exists():
            target.write_bytes(b"")
    config = job_config(job, job_id=job_id, notebook_name=files.notebook_name)
    config.update(config_extra or {})
    write_config(files.job_json, config)


def stage_procs(files: JobFiles, entries: Sequence[tuple[SweepEntry, NotebookJob]]) -> None:
    """Each proc of a sweep: its own job config and output folder."""
    for entry, job in entries:
        proc = JobFiles(files.job_dir, files.notebook_name, entry.index)
        proc.out_dir.mkdir(parents=True, exist_ok=True)
        config = job_config(job, job_id=entry.job_id, notebook_name=files.notebook_name)
        write_config(proc.job_json, config)


def stage_sweep(
    base: NotebookJob,
    files: JobFiles,
    entries: Sequence[tuple[SweepEntry, NotebookJob]],
    saved: Mapping[str, Any] | None = None,
) -> None:
    """A sweep's folder: the shared inputs and secrets, every proc, and ``saved`` files
    (``{file name in the folder: json-able content}``, e.g. the description kept for
    retries)."""
    stage_common(base, files)
    stage_secrets(base, files)
    stage_procs(files, entries)
    for name, content in (saved or {}).items():
        (files.job_dir / name).write_text(json.dumps(content), encoding="utf-8")
