"""HTML for ``Job``, ``Sweep`` and results in a notebook (``_repr_html_``).

Every string that a user or a job controls (names, notebooks, parameters, reasons,
paths, recorded values) goes through :func:`esc`. Links to fetched outputs are
relative to the current directory (a kernel's is the notebook's folder) when the
files are below it, else the absolute path is shown as text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from condor_nb.condor.status import JobState
from condor_nb.contract.names import OUTPUT_NOTEBOOK, REPORT_HTML
from condor_nb.store.outputs import friendly_names
from condor_nb.store.registry import JobRecord
from condor_nb.store.usage import runtime_text

#: Rows of a sweep's table (and of a results table) shown before "... and N more".
MAX_ROWS = 50

_COLOURS = {
    JobState.QUEUED.value: "#6c757d",
    JobState.RUNNING.value: "#0d6efd",
    JobState.COMPLETED.value: "#198754",
    JobState.FAILED.value: "#dc3545",
    JobState.HELD.value: "#fd7e14",
    JobState.REMOVED.value: "#6c757d",
}
_TABLE = 'style="border-collapse:collapse;text-align:left"'
_CELL = 'style="padding:1px 8px;text-align:left;vertical-align:top"'


def esc(value: object) -> str:
    """``value`` as HTML text: nothing in it can become markup."""
    # html.escape's table, without importing html (and html.entities) for `q`
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;").replace("'", "&#x27;")


def badge(state: str) -> str:
    colour = _COLOURS.get(state, "#6c757d")
    return (
        f'<span style="background:{colour};color:white;border-radius:3px;'
        f'padding:0 4px;font-weight:bold">{esc(state)}</span>'
    )


def when(ts: float | None) -> str:
    return "-" if not ts else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def duration(start: float | None, end: float | None, now: float | None = None) -> str:
    if not start:
        return "-"
    secs = max(0, int((end or now or time.time()) - start))
    return f"{secs // 3600}:{secs % 3600 // 60:02d}:{secs % 60:02d}"


def runtime(record: JobRecord, now: float | None = None) -> str:
    """Wall time so far (RUNNING), or as the schedd recorded it once the job ended
    (the RUNTIME of `q`); "-" when it never started."""
    return runtime_text(record, now)


def path_html(path: Path, cwd: Path | None = None) -> str:
    """A link relative to ``cwd`` when ``path`` is below it, else the path as text."""
    base = (cwd or Path.cwd()).absolute()
    try:
        rel = path.absolute().relative_to(base)
    except ValueError:
        return f"<code>{esc(path)}</code>"
    from urllib.parse import quote

    href = quote(rel.as_posix())
    return f'<a href="{esc(href)}" target="_blank">{esc(rel.as_posix())}</a>'


def output_files(record: JobRecord) -> list[tuple[str, Path]]:
    """(label, path) of the fetched executed notebook, HTML report and folder."""
    if not record.fetched_to:
        return []
    folder = Path(record.fetched_to)
    names = friendly_names(Path(record.notebook).stem)
    found = [
        (label, folder / names[worker])
        for label, worker in (("executed notebook", OUTPUT_NOTEBOOK), ("HTML report", REPORT_HTML))
        if (folder / names[worker]).is_file()
    ]
    return [*found, ("folder", folder)]


def outputs_html(record: JobRecord, cwd: Path | None = None) -> str:
    files = output_files(record)
    if files:
        return " · ".join(f"{esc(label)}: {path_html(p, cwd)}" for label, p in files)
    if record.retrieved_at:
        return "retrieved; <code>.fetch()</code> copies them here"
    if record.state in (JobState.COMPLETED.value, JobState.FAILED.value):
        return "on the schedd; <code>.fetch()</code> brings them here"
    return "-"


def _parameters(record: JobRecord) -> str:
    try:
        params = json.loads(record.params_json or "{}")
    except ValueError:
        return esc(record.params_json)
    if not isinstance(params, dict) or not params:
        return "-"
    return ", ".join(
        f"<code>{esc(k)}</code>=<code>{esc(json.dumps(v, ensure_ascii=False))}</code>"
        for k, v in params.items()
    )


def _table(pairs: Sequence[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th {_CELL}>{k}</th><td {_CELL}>{v}</td></tr>" for k, v in pairs)
    return f"<table {_TABLE}>{rows}</table>"


def job_html(
    record: JobRecord,
    *,
    waited: float | None = None,
    cwd: Path | None = None,
    now: float | None = None,
) -> str:
    """A job: state, progress or reason, times, parameters, links to its outputs."""
    head = (
        f"<b>notebook job</b> <code>{esc(record.id)}</code> <b>{esc(record.name)}</b> "
        f"{badge(record.state)}"
    )
    label = "progress" if record.state == JobState.RUNNING.value else "reason"
    pairs = [
        (label, esc(record.reason) if record.reason else "-"),
        ("notebook", f"<code>{esc(record.notebook)}</code>"),
        ("parameters", _parameters(record)),
        ("HTCondor job", f"{esc(record.condor_id)} on {esc(record.schedd or '-')}"),
        ("submitted", when(record.submitted_at)),
        ("started", when(record.started_at)),
        ("finished", when(record.finished_at)),
        ("runtime", runtime(record, now)),
        ("outputs", outputs_html(record, cwd)),
    ]
    if waited is not None:
        pairs.append(("waiting", f"{duration(1.0, 1.0 + waited)} (updated {when(time.time())})"))
    return f'<div class="condor-nb-job">{head}{_table(pairs)}</div>'


def counts_text(counts: Mapping[str, int]) -> str:
    order = [s.value for s in JobState]
    return ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s))


def finished(counts: Mapping[str, int]) -> int:
    return sum(counts.values()) - counts.get("QUEUED", 0) - counts.get("RUNNING", 0)


def sweep_html(
    sweep_id: str,
    name: str,
    notebook: str,
    members: Sequence[tuple[int, JobRecord]],
    *,
    waited: float | None = None,
    cwd: Path | None = None,
) -> str:
    """A sweep: a bar of finished procs, counts by state, one row per parameter set."""
    counts: dict[str, int] = {}
    for _, r in members:
        counts[r.state] = counts.get(r.state, 0) + 1
    total, done = len(members), finished(counts)
    head = (
        f"<b>sweep</b> <code>{esc(sweep_id)}</code> <b>{esc(name)}</b> "
        f"(<code>{esc(notebook)}</code>) "
        f'<progress value="{done}" max="{max(total, 1)}"></progress> {done}/{total} finished: '
        + (" ".join(f"{badge(s)}&nbsp;{n}" for s, n in _ordered(counts)) or "-")
    )
    if waited is not None:
        head += f" (waiting {duration(1.0, 1.0 + waited)})"
    header = "".join(
        f"<th {_CELL}>{h}</th>"
        for h in ("#", "job", "parameters", "state", "reason / progress", "runtime", "outputs")
    )
    rows = []
    for index, r in members[:MAX_ROWS]:
        cells = (
            str(index), f"<code>{esc(r.id)}</code>", _parameters(r), badge(r.state),
            esc(r.reason or ""), runtime(r), outputs_html(r, cwd),
        )  # fmt: skip
        rows.append("<tr>" + "".join(f"<td {_CELL}>{c}</td>" for c in cells) + "</tr>")
    more = f"<p>... and {total - MAX_ROWS} more</p>" if total > MAX_ROWS else ""
    return (
        f'<div class="condor-nb-sweep">{head}<table {_TABLE}><tr>{header}</tr>'
        f"{''.join(rows)}</table>{more}</div>"
    )


def _ordered(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    order = [s.value for s in JobState]
    return [(s, counts[s]) for s in order if counts.get(s)]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return esc(value)
    try:
        return esc(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError):
        return esc(repr(value))


def rows_html(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A results table (list of dicts) as HTML."""
    header = "".join(f"<th {_CELL}>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td {_CELL}>{_cell(row.get(c))}</td>" for c in columns) + "</tr>"
        for row in rows[:MAX_ROWS]
    )
    more = f"<p>... and {len(rows) - MAX_ROWS} more rows</p>" if len(rows) > MAX_ROWS else ""
    return (
        f'<div class="condor-nb-results"><table {_TABLE}><tr>{header}</tr>{body}</table>'
        f"{more}</div>"
    )


def state_line(record: JobRecord) -> str:
    """The state, then the progress or reason: ``RUNNING: cell 3 of 12``."""
    return record.state + (f": {record.reason}" if record.reason else "")


def text_line(record: JobRecord) -> str:
    """One plain line: id, name, state and progress or reason (for ``repr``)."""
    return f"{record.id} {record.name!r} {state_line(record)}"
