"""Plain-text rendering for the CLI: fast (no rich import on the hot path)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from condor_nb.store.registry import JobRecord
from condor_nb.store.usage import runtime_text

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on shown escaped.

    Control characters (C0, DEL, C1: ESC sequences, carriage returns), format
    characters (bidirectional overrides such as U+202E, zero-width marks), line and
    paragraph separators (U+2028/2029) and other non-printing characters become
    ``\\xNN`` / ``\\uNNNN`` text, so a hostile job name or token claim cannot
    rewrite the screen, fake a line, or reverse what follows it.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else _escaped(c) for c in text)


def error_text(message: str, hint: str | None = None) -> str:
    """An error for the terminal: every part shown :func:`printable`.

    condor_nb's own multi-line messages (a daemon's log tail) keep their line breaks,
    but each further line is indented, so text from a job name, path or log cannot
    pass for a line of its own; a hint goes on its own indented line.
    """
    lines = [printable(line) for line in message.split("\n")]
    text = "\n    ".join(lines)
    if hint:
        text += "\n  hint: " + "\n    ".join(printable(line) for line in hint.split("\n"))
    return text


def ago(ts: float | None, now: float) -> str:
    if not ts:
        return "-"
    secs = max(0, int(now - ts))
    if secs < 60:
        return f"{secs}s ago"
    if secs < 3600:
        return f"{secs // 60}m ago"
    if secs < 86400:
        return f"{secs // 3600}h ago"
    return time.strftime("%Y-%m-%d", time.localtime(ts))


def duration(start: float | None, end: float | None, now: float) -> str:
    if not start:
        return "-"
    secs = int((end or now) - start)
    return f"{secs // 3600}:{secs % 3600 // 60:02d}:{secs % 60:02d}"


def _clip(cell: str, width: int | None) -> str:
    return cell if width is None or len(cell) <= width else cell[: width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], max_width: int | None = 48) -> str:
    """Left-aligned columns; cells longer than ``max_width`` (None: no limit, ``--wide``)
    are clipped with an ellipsis; every cell is shown :func:`printable` (a sweep's
    parameter values, a dask session's name...)."""
    columns = [
        [_clip(printable(c), max_width) for c in column] for column in zip(*rows, strict=True)
    ]
    if not columns:
        columns = [[] for _ in headers]
    widths = [
        max(len(h), *map(len, col)) if col else len(h)
        for h, col in zip(headers, columns, strict=True)
    ]
    # One format string for every row: much faster than padding cell by cell.
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers).rstrip()]
    lines.extend(fmt.format(*row).rstrip() for row in zip(*columns, strict=True))
    return "\n".join(lines)


def job_rows(records: Sequence[JobRecord]) -> list[list[str]]:
    now = time.time()
    return [
        [
            r.id,
            printable(r.name),
            printable(r.notebook.rsplit("/", 1)[-1]),
            r.state,
            printable(r.reason or ""),
            r.condor_id,
            ago(r.submitted_at, now),
            runtime_text(r, now),
        ]
        for r in records
    ]


JOB_HEADERS = ("ID", "NAME", "NOTEBOOK", "STATE", "REASON", "CONDOR_ID", "SUBMITTED", "RUNTIME")


def grouped_rows(records: Sequence[JobRecord]) -> list[list[str]]:
    """Like :func:`job_rows`, but the procs of a sweep become one row with counts."""
    now = time.time()
    singles = [r for r in records if r.sweep_id is None]
    sweeps: dict[str, list[JobRecord]] = {}
    for r in records:
        if r.sweep_id is not None:
            sweeps.setdefault(r.sweep_id, []).append(r)
    rows = [(r.submitted_at, row) for r, row in zip(singles, job_rows(singles), strict=True)]
    for sweep_id, procs in sweeps.items():
        counts: dict[str, int] = {}
        for p in procs:
            counts[p.state] = counts.get(p.state, 0) + 1
        state = " ".join(f"{n}/{len(procs)} {s}" for s, n in sorted(counts.items()))
        clusters = sorted({str(p.cluster) for p in procs if p.cluster is not None})
        first = min(procs, key=lambda p: p.submitted_at)
        name = first.name.rsplit("[", 1)[0]
        # Procs all waiting for the same reason (a sweep no slot can run): say it once.
        waiting = {p.reason or "" for p in procs}
        reason = (
            printable(waiting.pop())
            if len(waiting) == 1 and counts == {"QUEUED": len(procs)}
            else ""
        )
        rows.append((first.submitted_at, [
            sweep_id, printable(name), printable(first.notebook.rsplit("/", 1)[-1]),
            f"SWEEP {state}", reason, ",".join(clusters) or "-", ago(first.submitted_at, now), "-",
        ]))  # fmt: skip
    rows.sort(key=lambda pair: pair[0])
    return [row for _, row in rows]


def detail(record: JobRecord) -> str:
    now = time.time()
    pairs = [
        ("id", record.id),
        ("name", printable(record.name)),
        ("notebook", printable(record.notebook)),
        ("state", record.state),
        ("reason", printable(record.reason or "-")),
        ("failure class", record.failure_class or "-"),
        ("exit code", "-" if record.exit_code is None else str(record.exit_code)),
        ("schedd", record.schedd),
        ("cluster.proc", record.condor_id),
        ("profile", record.profile),
        ("parameters", printable(record.params_json or "{}")),
        ("submitted", ago(record.submitted_at, now)),
        ("runtime", runtime_text(record, now)),
        ("outputs", record.fetched_to or ("retrieved" if record.retrieved_at else "-")),
        ("staging", record.job_dir or "-"),
    ]
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k:>{width}}: {v}" for k, v in pairs)
