"""Rows of the JupyterLab panel (its REST answer), from the registry and what the schedd said.

Pure: registry rows, decoded live values, idle reasons and schedules in; plain dicts
(JSON-ready) out. The Jupyter server extension gathers the inputs once per refresh
(one snapshot for every client) and encodes the rows once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from condor_nb.condor.live import LiveInfo
from condor_nb.condor.status import JobState
from condor_nb.store.registry import JobRecord, SweepRecord
from condor_nb.store.usage import recorded, runtime_of

#: The states counted for a sweep, in the order the panel shows them.
STATES = tuple(s.value for s in JobState)
#: Runs of a schedule listed (the newest).
SCHEDULE_RUNS = 10
_DONE = (JobState.COMPLETED.value, JobState.FAILED.value, JobState.REMOVED.value)
#: jupyter-scheduler copies a notebook into its staging area before it submits it.
_JUPYTER_STAGING = "scheduler_staging_area"


def relative(path: str | None, root_dir: str | None) -> str | None:
    """``path`` relative to the Jupyter server's root (what its file browser opens), when
    inside it; else as it is."""
    if not path or not root_dir:
        return path
    root = os.path.abspath(root_dir)
    full = path if os.path.isabs(path) and "/." not in path else os.path.abspath(path)
    if not full.startswith(root + os.sep) or full == root:
        return path
    return full[len(root) + 1 :]


def shown_notebook(path: str | None, root_dir: str | None) -> str | None:
    """The notebook as the user knows it: a Notebook Jobs job's is a copy in
    jupyter-scheduler's staging area (``.../scheduler_staging_area/<uuid>/name.ipynb``),
    shown by its name as jupyter-scheduler's own list shows it, never by that path."""
    if path and _JUPYTER_STAGING in path.split(os.sep):
        return os.path.basename(path)
    return relative(path, root_dir)


def row_key(record: JobRecord, live: LiveInfo | None, reason: str | None) -> tuple[Any, ...]:
    """What :func:`job_row` reads: an unchanged key means an unchanged row (a running
    job's row changes with time alone: its runtime)."""
    r = record
    return (r.state, r.reason, r.failure_class, r.fetched_to, r.retrieved_at, r.spooled,
            r.runtime_s, r.usage_json, r.started_at, r.finished_at, r.cluster, r.proc,
            r.name, r.notebook, r.submitted_at, r.params_json, live, reason)  # fmt: skip


def frontend(record: JobRecord) -> str:
    """Which front end made the job: "jupyter" (Notebook Jobs) or "cli" (CLI or API)."""
    return "jupyter" if _JUPYTER_STAGING in (record.notebook or "") else "cli"


def cell(live: LiveInfo | None) -> dict[str, Any] | None:
    """The running cell as ``{"number", "total", "source", "since"}``, when reported."""
    if live is None or live.cell is None or live.end:
        return None
    return {"number": live.cell, "total": live.cells, "source": live.source or None,
            "since": live.started}  # fmt: skip


def progress(live: LiveInfo | None) -> float | None:
    """Share of the notebook's cells done: cell 3 of 5 running -> 0.4; finished -> 1."""
    if live is None:
        return None
    if live.end:
        return 1.0
    if live.cell is None or not live.cells:
        return None
    return round(min(1.0, max(0.0, (live.cell - 1) / live.cells)), 4)


def outputs_at_risk(record: JobRecord) -> bool:
    """Removing the job now would lose outputs never fetched (as ``Job.outputs_at_risk``)."""
    if record.state not in (JobState.COMPLETED.value, JobState.FAILED.value):
        return False
    return not record.fetched_to and bool(record.spooled or record.retrieved_at)


def usage(record: JobRecord, now: float) -> dict[str, Any] | None:
    """Runtime, CPU time, peak memory and disk, as far as known."""
    ran = runtime_of(record, now)
    used = recorded(record)
    if ran is None and used is None:
        return None
    cpu = used.cpu_seconds if used is not None else None
    memory = used.memory_used_mb if used is not None else None
    disk = used.disk_used_mb if used is not None else None
    return {"runtime_s": None if ran is None else round(ran, 1), "cpu_s": cpu,
            "memory_mb": memory, "disk_mb": disk}  # fmt: skip


def job_row(
    record: JobRecord,
    now: float,
    *,
    live: LiveInfo | None = None,
    reason: str | None = None,
    root_dir: str | None = None,
) -> dict[str, Any]:
    """One job as the panel shows it (contract B of docs/jupyter.md)."""
    state = record.state
    running = state == JobState.RUNNING.value
    why: str | None = None
    if state == JobState.QUEUED.value:
        why = reason or record.reason
    elif state == JobState.HELD.value:
        why = record.reason
    return {
        "id": record.id,
        "name": record.name,
        "notebook": shown_notebook(record.notebook, root_dir),
        "state": state,
        "cluster": record.condor_id if record.cluster is not None else None,
        "submitted": record.submitted_at,
        "frontend": frontend(record),
        "cell": cell(live) if running else None,
        "progress": progress(live) if running else None,
        "reason": why,
        "failure": record.reason if state == JobState.FAILED.value else None,
        "failure_class": record.failure_class,
        "usage": usage(record, now),
        "outputs": {"fetched": bool(record.fetched_to), "at_risk": outputs_at_risk(record)},
    }


def proc_row(index: int, record: JobRecord, base: Mapping[str, Any]) -> dict[str, Any]:
    """A sweep's proc: its job row, its index and its parameters."""
    try:
        params = json.loads(record.params_json or "{}")
    except ValueError:
        params = {}
    return {**base, "proc": index, "params": params if isinstance(params, dict) else {}}


def counts(records: Iterable[JobRecord]) -> dict[str, int]:
    out = dict.fromkeys(STATES, 0)
    for r in records:
        out[r.state] = out.get(r.state, 0) + 1
    return out


def sweep_row(
    sweep: SweepRecord, members: Sequence[JobRecord], root_dir: str | None = None
) -> dict[str, Any]:
    """One row per sweep: counts per state, and the share of its procs that ended."""
    found = counts(members)
    total = len(members) or sweep.size
    ended = sum(found[s] for s in _DONE)
    cluster = max((r.cluster for r in members if r.cluster is not None), default=None)
    return {
        "id": sweep.id,
        "name": sweep.name,
        "notebook": relative(sweep.notebook, root_dir),
        "cluster": None if cluster is None else str(cluster),
        "submitted": sweep.submitted_at,
        "total": total,
        "counts": found,
        "progress": round(ended / total, 4) if total else 0.0,
    }


def schedule_runs(runs: Sequence[Mapping[str, Any]],
                  missed: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:  # fmt: skip
    """A schedule's last runs, newest first: those that ran (``Run.to_dict``) and the
    firings that did not (``MissedRun.to_dict``: MISSED, or SKIPPED while paused)."""
    rows: list[dict[str, Any]] = []
    for r in runs:
        when = r.get("planned") or r.get("started")
        rows.append({"time": when, "state": r.get("state"), "job": r.get("run_id"),
                     "reason": r.get("reason")})  # fmt: skip
    for m in missed:
        rows.append({"time": m.get("planned"), "state": m.get("state"), "job": None,
                     "reason": m.get("reason")})  # fmt: skip
    rows.sort(key=lambda row: row["time"] or 0.0, reverse=True)
    return rows[:SCHEDULE_RUNS]


def schedule_row(
    schedule: Mapping[str, Any], runs: list[dict[str, Any]], root_dir: str | None = None
) -> dict[str, Any]:
    """A schedule (``Schedule.to_dict``) with its next run and last runs."""
    return {
        "id": schedule.get("id"),
        "name": schedule.get("name"),
        "notebook": relative(schedule.get("notebook"), root_dir),
        "cron": schedule.get("cron"),
        "state": schedule.get("state"),
        "paused": schedule.get("state") == "PAUSED",
        "reason": schedule.get("reason"),
        "next_run": schedule.get("next_run"),
        "cluster": schedule.get("condor_id"),
        "runs": runs,
    }


def results(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``condor_nb sweep results`` as columns and rows (``index`` named ``proc``)."""
    names: list[str] = []
    for row in rows:
        for key in row:
            if key not in names:
                names.append(key)
    columns = ["proc" if n == "index" else n for n in names]
    return {"columns": columns, "rows": [[row.get(n) for n in names] for row in rows]}
