"""A failed notebook says where and why as soon as the job ends, before any fetch.

One numbering everywhere: the cell as the user counts it (their code cells, 1-based,
the parameters cell papermill injects not counted) with its first source line. What is
checked is what HTCondor stored (the schedd's job ad, read with the raw bindings while
nothing was fetched yet), what the CLI prints, and after the fetch what came back
(result.json, the worker's log, the executed notebook's banner).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

import condor_nb
from condor_nb.contract import names

FAILURE = "CondorNbFailure"  # the job attribute users and scripts can query

pytestmark = pytest.mark.pool

EXPECTED = "cell 3: `x = 1/0`: ZeroDivisionError: division by zero"
# The hostile cell's first line holds quotes and backslashes; its message adds newlines,
# an ANSI escape, a NUL, non-ASCII text and 10 KB.
HOSTILE_LINE = 'raise ValueError("say \\"hi\\" C:\\\\dir\\\\" + msg)'
HOSTILE_CELL = HOSTILE_LINE + "\n# second line"
HOSTILE_MSG = 'msg = "\\nline two \\x1b[31mred\\x00 caf\\u00e9 \\"q\\" \\\\ " + "z" * 10000'


def notebook(path: Path, failing: str) -> Path:
    """Markdown, the user's parameters cell (code cell 1), a markdown cell, code cell 2,
    then ``failing`` as the user's third code cell."""

    def cell(kind: str, source: str, tags: list[str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"cell_type": kind, "metadata": {"tags": tags} if tags else {}}
        out["source"] = source
        if kind == "code":
            out.update(outputs=[], execution_count=None)
        return out

    cells = [
        cell("markdown", "# A notebook that fails in its third code cell"),
        cell("code", "n = 1", ["parameters"]),
        cell("markdown", "Some prose between the cells."),
        cell("code", f"y = n + 1\n{HOSTILE_MSG}"),
        cell("code", failing),
    ]
    for i, each in enumerate(cells):
        each["id"] = f"c{i}"
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": cells,
    }
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def submit(cnb: Any, name: str, failing: str) -> str:
    notebook(cnb.workdir / name, failing)
    out = cnb.run("submit", name, "-p", "n", "2", check=True).stdout
    return re.search(r"submitted (\w+)", out).group(1)  # type: ignore[union-attr]


def ended_ad(schedd: Any, job_id: str) -> Any:
    """The job's ad in the queue once it completed (never retrieved: still queued)."""
    projection = ["JobStatus", "ExitCode", "HoldReasonCode", names.ID_ATTR, FAILURE]
    ad: Any = None
    for _ in range(2400):  # a bound, not a timing: the shared slot may be busy
        ads = schedd.query(f'{names.ID_ATTR} == "{job_id}"', projection=projection)
        assert ads, f"{job_id} left the queue before it was fetched"
        ad = ads[0]
        uploading = ad.get("JobStatus") == 5 and ad.get("HoldReasonCode") == 16
        if ad.get("JobStatus") in (3, 4, 5) and not uploading:
            return ad
        time.sleep(0.5)
    raise AssertionError(f"{job_id} did not end: {ad}")


def test_failed_cell_and_error_show_before_fetch_in_one_numbering(cnb: Any) -> None:
    plain = submit(cnb, "fails.ipynb", "x = 1/0\nprint(x)")
    hostile = submit(cnb, "hostile.ipynb", HOSTILE_CELL)
    from lookalikes import raw_schedd  # tests/ is on sys.path

    _, schedd = raw_schedd()

    # Before any fetch: the schedd's job ad holds the failure, in the user's numbering.
    ad = ended_ad(schedd, plain)
    assert ad["JobStatus"] == 4 and ad["ExitCode"] == 3, ad
    assert ad.get(FAILURE) == EXPECTED, ad
    status = cnb.run("status", plain).stdout
    assert EXPECTED in status, status
    assert condor_nb.get(plain).status().reason == EXPECTED  # the API, the registry
    assert "cell 3: `x = 1/0`: ZeroDivisionError" in cnb.run("q").stdout

    # The hostile message: the ad stays intact, the summary one bounded line.
    bad = ended_ad(schedd, hostile)
    assert bad[names.ID_ATTR] == hostile and bad["ExitCode"] == 3, bad
    summary = bad.get(FAILURE)
    assert isinstance(summary, str), bad
    assert len(summary.encode("utf-8")) <= 500, len(summary.encode("utf-8"))
    assert summary.startswith('cell 3: `raise ValueError("say \\"hi\\" C:\\\\dir\\\\" + msg)`')
    assert 'ValueError: say "hi" C:\\dir\\ line two red caf\u00e9 "q" \\ zzz' in summary
    assert summary.endswith("z...") and not re.search(r"[\x00-\x1f\x7f]", summary), summary
    assert summary in cnb.run("status", hostile).stdout

    # wait, then fetch: the same words, and every file counts the same way.
    waited = cnb.run("wait", plain)
    assert EXPECTED in waited.stdout, waited
    fetched = cnb.run("fetch", plain, "-o", "out", check=True)
    assert EXPECTED in fetched.stderr, fetched
    assert EXPECTED in cnb.run("status", plain).stdout
    out = cnb.workdir / "out"
    result = json.loads((out / "result.json").read_text())
    assert result["failure"] == {"cell": 3, "source_line": "x = 1/0", "summary": EXPECTED}
    logs = "".join(p.read_text(errors="replace") for p in out.glob("std*.txt"))
    assert f"3/3 code cells run: {EXPECTED}" in logs, logs[-2000:]
    assert "executing cell 3 of 3: `x = 1/0`" in logs and "failed cell 3 of 3" in logs, logs
    assert "executing the injected parameters cell" in logs and "notebook cell" not in logs
    executed = json.loads((out / "fails.ipynb").read_text())
    banner = "".join(executed["cells"][0]["source"])
    assert "cell 3</a>" in banner and "In [" not in banner, banner
    report = (out / "fails.html").read_text()
    assert "cell 3" in report

    cnb.run("fetch", hostile, "-o", "out2", check=True)
    again = json.loads((cnb.workdir / "out2" / "result.json").read_text())
    assert again["failure"]["summary"] == summary and again["failure"]["cell"] == 3
