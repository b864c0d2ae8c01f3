"""The one-line failure summary: the user's cell numbering, its bounds, and its ClassAd
literal read back the way the schedd reads a ``set_job_attr`` value (old ClassAd syntax)."""

from __future__ import annotations

import importlib.util
from typing import Any

import nbformat
import pytest

import condor_nb.worker as remote
from condor_nb.condor import failure
from condor_nb.condor.status import JobState, classify, from_result_file

spec = importlib.util.spec_from_file_location("failure_run", remote.WRAPPER_PATH)
assert spec is not None and spec.loader is not None
run: Any = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)


def executed(*cells: Any) -> Any:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def code(source: str, *tags: str) -> Any:
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


MD = nbformat.v4.new_markdown_cell


def test_the_user_counts_their_code_cells_not_the_injected_one() -> None:
    nb = executed(
        MD("banner", metadata={"tags": ["papermill-error-cell-tag"]}),
        MD("# title"),
        code("n = 1", "parameters"),
        code("n = 2", "injected-parameters"),
        MD("prose"),
        code("\n\n   y = n + 1  \nz = 2"),
        MD("anchor", metadata={"tags": ["papermill-error-cell-tag"]}),
        code("x = 1/0"),
    )
    assert run.user_cell(nb, 2) == (1, "n = 1")
    assert run.user_cell(nb, 3) == (None, "n = 2")  # the injected cell is no user cell
    assert run.user_cell(nb, 5) == (2, "y = n + 1")
    assert run.user_cell(nb, 7) == (3, "x = 1/0")
    assert run.user_cell(nb, None) == (None, "") and run.user_cell(nb, 99) == (None, "")
    error = {"name": "ZeroDivisionError", "value": "division by zero", "traceback": []}
    record = run.failure_record("cell_error", error, 7, nb)
    assert record == {
        "cell": 3,
        "source_line": "x = 1/0",
        "summary": "cell 3: `x = 1/0`: ZeroDivisionError: division by zero",
    }
    assert run.failure_record("completed", None, None, nb) is None
    no_cell = run.failure_record("input_error", {"name": "InputError", "value": "bad"}, None, nb)
    assert no_cell == {"cell": None, "source_line": None, "summary": "InputError: bad"}


HOSTILE = (
    'say "hi" C:\\dir\\ \n\r\t\x00\x1b[31mred\x1b[0m \u202eevil caf\u00e9 \udcff' + "z" * 10_000
)


@pytest.mark.parametrize(
    "message",
    [HOSTILE, "ends with a backslash \\", 'quote at the end "', "\\\\\\", "\u00e9" * 400],
)
def test_summary_is_one_bounded_line_that_survives_a_classad(message: str) -> None:
    from classad2 import ParserType, parseOne

    nb = executed(code('raise ValueError("\\\\ \\"")\n'))
    error = {"name": "ValueError", "value": message, "traceback": []}
    summary = run.failure_record("cell_error", error, 0, nb)["summary"]
    assert summary.startswith('cell 1: `raise ValueError("\\\\ \\"")`: ValueError:')
    assert len(summary.encode("utf-8")) <= run.MAX_SUMMARY_BYTES
    assert summary.isprintable() and not summary.endswith("\\")
    ad = parseOne(f"A = {run.classad_string(summary)}\nB = 1\n", ParserType.Old)
    assert ad["A"] == summary and ad["B"] == 1  # read back whole, nothing after it broken


SUMMARY = "cell 3: `x = 1/0`: ZeroDivisionError: division by zero"


def test_the_same_words_before_and_after_fetch() -> None:
    ad = {"JobStatus": 4, "ExitCode": 3, "CondorNbFailure": SUMMARY}
    before = classify(ad)
    result = {
        "outcome": "cell_error",
        "exit_code": 3,
        "failed_cell": 7,
        "failure": {"cell": 3, "source_line": "x = 1/0", "summary": SUMMARY},
        "error": {"name": "ZeroDivisionError", "value": "division by zero"},
    }
    after = from_result_file(result)
    assert before == after and before.state is JobState.FAILED and before.reason == SUMMARY
    timeout = classify({"JobStatus": 4, "ExitCode": 5, "CondorNbFailure": "cell 2: `f()`: X"})
    assert timeout.reason == "a cell ran longer than the per-cell timeout: cell 2: `f()`: X"
    # An older wrapper: no summary in the ad, the class's sentence; its result file as before.
    assert classify({"JobStatus": 4, "ExitCode": 3}).reason == "a cell raised an error"
    old = from_result_file({k: v for k, v in result.items() if k != "failure"})
    assert "in cell 8 of the executed notebook: ZeroDivisionError" in (old.reason or "")
    assert failure.clean_summary("x" * 5000) == "x" * 597 + "..."
    assert failure.clean_summary(" \n") is None and failure.clean_summary(3) is None
