"""Output for scripts: ``--json`` documents and ``-q`` id lists of the job commands.

Imported only when ``--json`` or ``-q`` is given, so plain ``condor_nb q`` pays nothing
for it. Plain text, no markup or colour: this output goes to pipes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from condor_nb.cli import display, json_output
from condor_nb.cli.lookup import is_sweep


def _lines(ids: Sequence[str]) -> str:
    return "".join(f"{i}\n" for i in ids)


def queue(records: Sequence[Any], *, as_json: bool, expand: bool) -> str:
    """``q --json`` (every job, and the sweeps they make up) or ``q -q`` (ids, as the rows)."""
    if as_json:
        jobs = [json_output.job(r) for r in records]
        text = json_output.document("queue", jobs=jobs, sweeps=json_output.sweeps_of(records))
        return text + "\n"
    if expand:
        return _lines([r.id for r in records])
    return _lines([row[0] for row in display.grouped_rows(records)])


def status(thing: Any, *, as_json: bool) -> str:
    """``status --json`` of a job or a sweep; ``status -q``: the job id, or the sweep's jobs."""
    if is_sweep(thing):
        counts = thing.status()
        records = [job.record for job in thing.jobs()]
        if not as_json:
            return _lines([r.id for r in records])
        return (
            json_output.document("sweep", **json_output.sweep(thing.record, counts, records)) + "\n"
        )
    thing.status()
    if not as_json:
        return _lines([thing.id])
    extra = {}
    if thing.record.state == "RUNNING":  # what it is doing: condor/live.py
        from condor_nb.condor.live import as_dict

        extra["live"] = as_dict(thing.live())
    return json_output.document("job", **json_output.job(thing.record, **extra)) + "\n"


def submitted(job: Any, *, as_json: bool) -> str:
    """``submit --json``: the job (with ``from_cache``); ``submit -q``: its id."""
    if not as_json:
        return str(job.id)
    return json_output.document("job", **json_output.job(job.record, from_cache=job.from_cache))


def sweep_submitted(sweep: Any, own: Sequence[Any], cached: int, *, as_json: bool) -> str:
    """``sweep run --json``: the sweep with its jobs; ``-q``: the sweep id."""
    if not as_json:
        return str(sweep.id)
    members = [job.record for _, job in sweep.members()]
    counts: dict[str, int] = {}
    for r in members:
        counts[r.state] = counts.get(r.state, 0) + 1
    body = json_output.sweep(sweep.record, counts, members)
    return json_output.document("sweep", **body, submitted=len(own), cached=cached)


def results(sweep_id: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """``sweep results --json``: the columns in order, and one object per parameter set."""
    return json_output.document("sweep_results", sweep_id=sweep_id, columns=list(columns),
                                rows=list(rows))  # fmt: skip
