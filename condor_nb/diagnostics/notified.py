"""What a finished job's ``--notify`` targets were told, from its result file.

The job itself notifies at its end (condor_nb/worker/notify.py) and records one entry
per target in the result file (``notifications``: kind, target, ok, error, attempts);
``condor_nb status`` shows them once the outputs are back (fetched or retrieved).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from condor_nb.contract.layout import JobFiles
from condor_nb.store.manifests import read_json
from condor_nb.store.outputs import read_result


def records(
    job_dir: Path, sweep_index: int | None = None, fetched_to: str | None = None
) -> list[dict[str, Any]]:
    """The notification records of the job's result file ([] when none came back): in
    its staging folder, else where it was fetched to (``result.json`` there)."""
    result = None
    if str(job_dir) not in ("", "."):
        result = read_result(JobFiles(job_dir, "", sweep_index).out_dir)
    if result is None and fetched_to:
        result = read_json(Path(fetched_to) / "result.json")
    found = (result or {}).get("notifications")
    return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []


def lines(
    job_dir: Path, sweep_index: int | None = None, fetched_to: str | None = None
) -> list[str]:
    """One line per target: ``notified: webhook https://host/path: ok`` or ``FAILED: why``."""
    out = []
    for r in records(job_dir, sweep_index, fetched_to):
        what = f"{r.get('kind', '?')} {r.get('target', '')}".strip()
        if r.get("ok") is True:
            out.append(f"notified: {what}: ok")
        else:
            tries = r.get("attempts")
            after = f" (after {tries} attempt(s))" if isinstance(tries, int) and tries else ""
            out.append(f"notified: {what}: FAILED{after}: {r.get('error') or 'unknown error'}")
    return out
