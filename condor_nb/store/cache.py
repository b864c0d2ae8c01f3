"""The re-execution cache: the same notebook, inputs and configuration run once.

The key is the SHA-256 of a canonical JSON document holding:

- ``notebook``: the notebook's content hash (cell types, sources and tags, kernel
  name and language; outputs, execution counts, ids and other metadata excluded:
  see :func:`condor_nb.spec.notebook.content_hash`);
- ``parameters``: the checked parameters as canonical JSON (sorted keys, compact);
- ``profile``, ``image``, ``kernel``, ``worker_python``, ``cell_timeout``,
  ``wall_time``: what decides how and where it runs;
- ``inputs``: for each extra input file its worker name and the SHA-256 of its
  content (a directory: every file below it, by relative path and content).

Resources (CPUs, memory, disk) are not part of the key: they do not change what
a completed notebook computed. A submission whose key matches a COMPLETED job
whose outputs are still present returns that job without contacting the schedd;
one matching a job still QUEUED or RUNNING (or completed but not yet retrieved)
attaches to it. A FAILED, HELD or REMOVED job is never a hit.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from condor_nb.condor.status import JobState
from condor_nb.contract import OUTPUT_NOTEBOOK, JobFiles
from condor_nb.settings import Settings
from condor_nb.spec.job import NotebookJob
from condor_nb.spec.params import canonical_parameters_json
from condor_nb.store.registry import JobRecord, Registry

KEY_VERSION = 1
_CHUNK = 1 << 20


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _input_digest(path: Path) -> str:
    if path.is_file():
        return _file_digest(path)
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = Path(root) / name
            digest.update(str(full.relative_to(path)).encode() + b"\0")
            digest.update(_file_digest(full).encode())
    return digest.hexdigest()


def input_digests(job: NotebookJob) -> list[list[str]]:
    """[worker name, content digest] of each extra input (hash once for a whole sweep)."""
    return [[p.name, _input_digest(p)] for p in job.files]


def cache_key(job: NotebookJob, settings: Settings, inputs: list[list[str]] | None = None) -> str:
    """The cache key of ``job`` (see the module docstring for exactly what it covers)."""

    document = {
        "v": KEY_VERSION,
        "notebook": job.content_hash,
        "parameters": canonical_parameters_json(job.parameters),
        "profile": job.profile,
        "image": job.image or "",
        "kernel": job.kernel or "",
        "worker_python": settings.worker_python,
        "cell_timeout": job.cell_timeout,
        "wall_time": job.wall_time,
        "inputs": input_digests(job) if inputs is None else inputs,
        "secrets": sorted(name for name, _ in job.secrets),  # names only, never values
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _out_dir_has_notebook(record: JobRecord) -> bool:

    if not record.job_dir:
        return False
    out = JobFiles(Path(record.job_dir), "", record.sweep_index).out_dir
    return (out / OUTPUT_NOTEBOOK).is_file()


def lookup(registry: Registry, key: str) -> JobRecord | None:
    """A job that answers ``key``: completed with outputs, or still on its way."""
    for record in registry.find_cache_hits(key):
        state = record.job_state
        if state is JobState.COMPLETED:
            if not record.retrieved_at or _out_dir_has_notebook(record):
                return record
        elif state in (JobState.QUEUED, JobState.RUNNING):
            return record
    return None
