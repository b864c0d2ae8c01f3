"""The environment manifests kept in each job's folder on this side.

``submit_manifest.json`` (this side's environment, written by the preflight) and the
worker's manifest (brought back with the outputs): parity compares them, and the
executor looks up the newest worker that ran in an image.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from condor_nb.contract import MANIFEST_JSON, OUT_DIR
from condor_nb.settings import Settings
from condor_nb.store.registry import registry_for

SUBMIT_MANIFEST = "submit_manifest.json"


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``; None when missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def worker_manifest(job_dir: Path) -> dict[str, Any] | None:
    return read_json(job_dir / OUT_DIR / MANIFEST_JSON)


def last_worker_manifest(
    settings: Settings, image: str | None
) -> tuple[str, dict[str, Any]] | None:
    """The worker manifest of the newest job that ran in ``image`` (None: no image)."""
    records = sorted(registry_for(settings).all(), key=lambda r: r.submitted_at, reverse=True)
    for record in records:
        job_dir = Path(record.job_dir or settings.jobs_dir / record.id)
        submitted = read_json(job_dir / SUBMIT_MANIFEST)
        if submitted is None or submitted.get("image") != image:
            continue
        worker = worker_manifest(job_dir)
        if worker is not None and worker.get("complete"):
            return record.id, worker
    return None
