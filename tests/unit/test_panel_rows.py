"""The JupyterLab panel's rows (condor_nb.view.panel): pure, from registry rows."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from condor_nb.condor.live import LiveInfo
from condor_nb.spec.usage import Usage
from condor_nb.store.registry import JobRecord, SweepRecord
from condor_nb.view import panel

NOW = time.time()


def record(**over: Any) -> JobRecord:
    base: dict[str, Any] = dict(
        id="abc123", name="fit", notebook="/srv/root/work/fit.ipynb", profile="default",
        schedd="ap", cluster=12, proc=0, job_dir="/tmp/x", params_json='{"a": 1}',
        content_hash=None, state="RUNNING", reason="cell 3 of 5", failure_class=None,
        exit_code=None, submitted_at=NOW - 100, started_at=NOW - 60, finished_at=None,
        updated_at=NOW,
    )  # fmt: skip
    base.update(over)
    return JobRecord(**base)


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (LiveInfo(cell=3, cells=5, source="total = 0", started=NOW - 5), 0.4),
        (LiveInfo(cell=1, cells=4), 0.0),
        (LiveInfo(cell=0, cells=4), 0.0),  # the injected parameters cell
        (LiveInfo(cell=9, cells=4), 1.0),  # never beyond the end
        (LiveInfo(cell=2, cells=None), None),
        (LiveInfo(end="ok"), 1.0),
        (LiveInfo(legacy="cell 2 of 3"), None),
        (None, None),
    ],
)
def test_progress(live: LiveInfo | None, expected: float | None) -> None:
    assert panel.progress(live) == expected


def test_running_row_has_its_cell_and_a_relative_notebook() -> None:
    live = LiveInfo(cell=3, cells=5, source="total = 0", started=NOW - 5)
    row = panel.job_row(record(), NOW, live=live, root_dir="/srv/root")
    assert row["cell"] == {"number": 3, "total": 5, "source": "total = 0", "since": NOW - 5}
    assert row["progress"] == 0.4
    assert row["notebook"] == "work/fit.ipynb"
    assert row["cluster"] == "12.0" and row["state"] == "RUNNING" and row["reason"] is None
    assert row["usage"]["runtime_s"] == pytest.approx(60, abs=1)
    assert json.loads(json.dumps(row)) == row  # JSON-ready


def test_a_job_never_submitted_has_no_cluster() -> None:
    row = panel.job_row(record(cluster=None, state="REMOVED", reason="not submitted: x"), NOW)
    assert row["cluster"] is None and row["state"] == "REMOVED"


def test_notebook_outside_the_root_stays_as_it_is() -> None:
    row = panel.job_row(record(notebook="/elsewhere/fit.ipynb"), NOW, root_dir="/srv/root")
    assert row["notebook"] == "/elsewhere/fit.ipynb"
    assert panel.relative("/srv/rootless/x.ipynb", "/srv/root") == "/srv/rootless/x.ipynb"


def test_cell_and_progress_only_while_running() -> None:
    live = LiveInfo(cell=3, cells=5)
    row = panel.job_row(record(state="COMPLETED", reason=None), NOW, live=live)
    assert row["cell"] is None and row["progress"] is None


def test_queued_row_takes_the_idle_reason_and_held_its_hold_reason() -> None:
    queued = record(state="QUEUED", reason=None, started_at=None)
    assert panel.job_row(queued, NOW, reason="no slot has 100 GB memory")["reason"] == (
        "no slot has 100 GB memory"
    )
    held = record(state="HELD", reason="held: memory exceeded")
    assert panel.job_row(held, NOW, reason="ignored")["reason"] == "held: memory exceeded"
    failed = record(state="FAILED", reason="cell 2: `1/0`: ZeroDivisionError", finished_at=NOW)
    row = panel.job_row(failed, NOW)
    assert row["failure"] == "cell 2: `1/0`: ZeroDivisionError" and row["reason"] is None


@pytest.mark.parametrize(
    ("over", "at_risk"),
    [
        (dict(state="COMPLETED"), True),  # spooled, never fetched
        (dict(state="FAILED", spooled=0, retrieved_at=None), False),  # written in place
        (dict(state="FAILED", spooled=0, retrieved_at=NOW), True),
        (dict(state="COMPLETED", fetched_to="/x"), False),
        (dict(state="RUNNING"), False),
        (dict(state="REMOVED"), False),
    ],
)
def test_outputs_at_risk(over: dict[str, Any], at_risk: bool) -> None:
    row = panel.job_row(record(**over), NOW)
    assert row["outputs"]["at_risk"] is at_risk
    assert row["outputs"]["fetched"] is bool(over.get("fetched_to"))


def test_usage_from_the_recorded_usage() -> None:
    used = Usage("abc123", memory_used_mb=120, disk_used_mb=3, cpu_seconds=10.5)
    row = panel.job_row(record(state="COMPLETED", runtime_s=12.0, usage_json=used.to_json()), NOW)
    assert row["usage"] == {"runtime_s": 12.0, "cpu_s": 10.5, "memory_mb": 120, "disk_mb": 3}
    never = record(state="QUEUED", started_at=None)
    assert panel.job_row(never, NOW)["usage"] is None


def test_a_notebook_jobs_job_shows_its_notebook_by_name_not_its_staging_copy() -> None:
    staged = "/srv/root/.local/share/jupyter/scheduler_staging_area/4599d481/typed.ipynb"
    row = panel.job_row(record(notebook=staged), NOW, root_dir="/srv/root")
    assert row["notebook"] == "typed.ipynb"
    assert panel.shown_notebook("/srv/root/sub/a.ipynb", "/srv/root") == "sub/a.ipynb"


def test_frontend() -> None:
    staged = "/home/u/.local/share/jupyter/scheduler_staging_area/123/fit.ipynb"
    assert panel.frontend(record(notebook=staged)) == "jupyter"
    assert panel.frontend(record()) == "cli"


def test_sweep_row_counts_states_and_progress() -> None:
    sweep = SweepRecord(id="s1", name="grid", notebook="/srv/root/fit.ipynb", schedd="ap",
                        job_dir="/tmp/s", size=6, submitted_at=NOW)  # fmt: skip
    states = ["QUEUED", "RUNNING", "RUNNING", "COMPLETED", "COMPLETED", "FAILED"]
    members = [record(id=f"p{i}", cluster=40, proc=i, state=s) for i, s in enumerate(states)]
    row = panel.sweep_row(sweep, members, "/srv/root")
    assert row["counts"] == {"QUEUED": 1, "RUNNING": 2, "COMPLETED": 2, "FAILED": 1,
                             "HELD": 0, "REMOVED": 0}  # fmt: skip
    assert row["total"] == 6 and row["progress"] == 0.5
    assert row["cluster"] == "40" and row["notebook"] == "fit.ipynb"
    proc = panel.proc_row(2, members[2], panel.job_row(members[2], NOW))
    assert proc["proc"] == 2 and proc["params"] == {"a": 1} and proc["id"] == "p2"


def test_schedule_runs_newest_first_with_missed_ones_and_at_most_ten() -> None:
    runs = [{"run_id": f"r{i}", "planned": 1000.0 + i * 60, "started": 1001.0 + i * 60,
             "state": "COMPLETED", "reason": None} for i in range(12)]  # fmt: skip
    missed = [{"planned": 1000.0 + 12 * 60, "state": "MISSED", "reason": "the schedd was down"}]
    rows = panel.schedule_runs(runs, missed)
    assert len(rows) == panel.SCHEDULE_RUNS
    assert rows[0] == {"time": 1720.0, "state": "MISSED", "job": None,
                       "reason": "the schedd was down"}  # fmt: skip
    assert rows[1]["job"] == "r11" and rows[1]["state"] == "COMPLETED"
    row = panel.schedule_row({"id": "s1", "name": "n", "notebook": "/srv/root/r.ipynb",
                              "cron": "0 2 * * *", "state": "PAUSED", "next_run": 5.0}, rows,
                             "/srv/root")  # fmt: skip
    assert row["paused"] is True and row["next_run"] == 5.0 and row["notebook"] == "r.ipynb"


def test_results_table_names_the_index_proc() -> None:
    rows = [{"index": 0, "job_id": "a", "state": "COMPLETED", "alpha": 0.1, "loss": 2.0},
            {"index": 1, "job_id": "b", "state": "FAILED", "alpha": 0.2}]  # fmt: skip
    table = panel.results(rows)
    assert table["columns"] == ["proc", "job_id", "state", "alpha", "loss"]
    assert table["rows"] == [[0, "a", "COMPLETED", 0.1, 2.0], [1, "b", "FAILED", 0.2, None]]
