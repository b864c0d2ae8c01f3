"""The HTML reprs (escaping, links), results tables and their Parquet, the extras."""

from __future__ import annotations

import json
import re
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from condor_nb.errors import SpecError
from condor_nb.store.registry import JobRecord
from condor_nb.sweeps.results import ResultRows, write_table
from condor_nb.view import html
from condor_nb.view.live import open_live, plain

REPO = Path(__file__).resolve().parents[2]
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "&lt;already&gt; & more",
]


def record(**over: Any) -> JobRecord:
    now = time.time()
    base: dict[str, Any] = dict(
        id="abc123", name="fit", notebook="/home/u/fit.ipynb", profile="default",
        schedd="ap.example.edu", cluster=12, proc=0, job_dir="/tmp/x", params_json='{"a": 1}',
        content_hash=None, state="RUNNING", reason="cell 3 of 12", failure_class=None,
        exit_code=None, submitted_at=now - 100, started_at=now - 60, finished_at=None,
        updated_at=now,
    )  # fmt: skip
    base.update(over)
    return JobRecord(**base)


def _no_markup_from(text: str, rendered: str) -> None:
    """Nothing of ``text`` appears unescaped: no tag, no attribute breaking out."""
    assert "<script" not in rendered and "<img" not in rendered
    assert html.esc(text) in rendered
    # every tag in the output is one of ours
    assert set(re.findall(r"<([a-z]+)", rendered)) <= {
        "div", "b", "code", "span", "table", "tr", "th", "td", "a", "progress", "p",
    }  # fmt: skip


@pytest.mark.parametrize("text", HOSTILE)
def test_every_user_string_is_escaped_in_a_job(text: str, tmp_path: Path) -> None:
    folder = tmp_path / text.replace("/", "_")
    folder.mkdir()
    (folder / f"{text.replace('/', '_')}.html").write_text("report")
    rec = record(
        name=text, notebook=f"/x/{text.replace('/', '_')}.ipynb", reason=text,
        params_json=json.dumps({text: text}),
        fetched_to=str(folder), schedd=text,
    )  # fmt: skip
    rendered = html.job_html(rec, cwd=tmp_path)
    _no_markup_from(text, rendered)
    for href in re.findall(r'href="([^"]*)"', rendered):
        assert not href.startswith(("javascript:", "/")) and "<" not in href


@pytest.mark.parametrize("text", HOSTILE)
def test_every_user_string_is_escaped_in_a_sweep_and_results(text: str) -> None:
    members = [(0, record(name=text, reason=text, state="FAILED")), (1, record())]
    _no_markup_from(text, html.sweep_html("s1", text, text, members))
    rows = ResultRows([{"index": 0, "job_id": "a", "state": "COMPLETED", text: text}])
    _no_markup_from(text, rows._repr_html_())


def test_links_are_relative_below_the_notebook_folder_else_text(tmp_path: Path) -> None:
    out = tmp_path / "fit out"
    out.mkdir()
    for name in ("fit.ipynb", "fit.html"):
        (out / name).write_text("x")
    rec = record(state="COMPLETED", reason=None, fetched_to=str(out), finished_at=time.time())
    below = html.job_html(rec, cwd=tmp_path)
    assert 'href="fit%20out/fit.ipynb"' in below and 'href="fit%20out/fit.html"' in below
    elsewhere = html.job_html(rec, cwd=tmp_path / "other")
    assert "href" not in elsewhere and f"<code>{out / 'fit.html'}</code>" in elsewhere
    assert "COMPLETED" in below and "cell 3" not in below


def test_a_running_job_shows_its_cell_and_a_sweep_its_progress() -> None:
    running = html.job_html(record())
    assert "RUNNING" in running and "cell 3 of 12" in running and "progress" in running
    members = [(0, record(state="COMPLETED")), (1, record()), (2, record(state="QUEUED"))]
    sweep = html.sweep_html("s1", "grid", "fit.ipynb", members)
    assert '<progress value="1" max="3">' in sweep and "1/3 finished" in sweep


def test_no_display_without_a_terminal_or_a_kernel() -> None:
    # pytest captures stderr (not a tty) and runs no kernel: wait() shows nothing
    assert open_live("job x") is None
    assert plain("a\x1b[31mb\nc") == "a\\x1b[31mb\\nc"


def test_results_to_pandas_and_a_parquet_with_mixed_values(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    rows = ResultRows([
        {"index": 0, "job_id": "a", "state": "COMPLETED", "reason": None, "runtime_s": 1.5,
         "x": 1, "score": 0.5, "note": {"k": [1, 2]}},
        {"index": 1, "job_id": "b", "state": "FAILED", "reason": "boom", "runtime_s": None,
         "x": 2, "score": "n/a"},
    ])  # fmt: skip
    frame = rows.to_pandas()
    assert list(frame.columns[:5]) == ["index", "job_id", "state", "reason", "runtime_s"]
    write_table(rows, tmp_path / "r.parquet")
    back = pd.read_parquet(tmp_path / "r.parquet")
    assert list(back["x"]) == [1, 2] and list(back["state"]) == ["COMPLETED", "FAILED"]
    # a value one proc recorded as a number and another as text: JSON text, not a crash
    assert list(back["score"]) == ["0.5", '"n/a"']


def test_missing_pandas_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    rows = ResultRows([{"index": 0, "job_id": "a", "state": "COMPLETED"}])
    for call in (rows.to_pandas, lambda: write_table(rows, tmp_path / "r.parquet")):
        with pytest.raises(SpecError) as err:
            call()
        assert "pandas" in str(err.value) and "condor_nb[results]" in (err.value.hint or "")
    assert not (tmp_path / "r.parquet").exists()


def test_the_results_extra_brings_pandas_and_pyarrow_and_all_includes_it() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    names = {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0] for r in extras["results"]}
    assert {"pandas", "pyarrow"} <= names
    (everything,) = extras["all"]
    included = set(everything.split("[", 1)[1].rstrip("]").split(","))
    assert included == set(extras) - {"all", "test", "jupyter-test", "docs"}
    assert "results" in (REPO / "Makefile").read_text().split("pip install -q -e")[1].split("\n")[0]
