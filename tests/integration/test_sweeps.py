"""Sweeps, the re-execution cache, retries and time limits, on the real pool."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

import condor_nb
from condor_nb.condor import schedd
from condor_nb.condor.status import JobState

from .conftest import Cnb, cell_outputs

pytestmark = pytest.mark.pool

RECORDS = (
    "import condor_nb\n"
    "condor_nb.record('product', a * len(b))\n"
    "condor_nb.record('label', f'{b}-{a}')\n"
    "if a == fail_on:\n"
    "    raise RuntimeError(f'a={a} fails on purpose')"
)
PARAMS = "a = 1\nb = 'x'\nfail_on = -1\n"


def _queue_size(cnb: Cnb) -> int:
    client = schedd.client_for(cnb.settings())
    return int(client.summary("true").get("AllusersJobs", 0))


def test_grid_sweep_is_one_cluster_with_a_results_table(cnb: Cnb) -> None:
    nb = cnb.notebook("grid.ipynb", [RECORDS], params=PARAMS)
    sweep = condor_nb.sweep(nb, grid={"a": [1, 2, 3], "b": ["x", "yy"]})
    jobs = sweep.jobs()
    assert len(jobs) == 6
    assert len({j.record.cluster for j in jobs}) == 1  # one HTCondor cluster
    assert sorted(j.record.proc for j in jobs) == list(range(6))
    counts = sweep.wait(timeout=300)
    assert counts == {"COMPLETED": 6}, counts
    rows = sweep.results(as_dataframe=False)
    assert [(r["a"], r["b"], r["product"], r["label"]) for r in rows] == [
        (1, "x", 1, "x-1"), (1, "yy", 2, "yy-1"), (2, "x", 2, "x-2"),
        (2, "yy", 4, "yy-2"), (3, "x", 3, "x-3"), (3, "yy", 6, "yy-3"),
    ]  # fmt: skip
    assert all(r["state"] == "COMPLETED" and r["runtime_s"] is not None for r in rows)
    # The CLI shows the sweep as one row, and writes the table.
    listing = cnb.run("q", check=True).stdout
    assert sweep.id in listing and "6/6 COMPLETED" in listing
    out = cnb.run("sweep", "results", sweep.id, "-o", "results.csv", check=True)
    assert "6 rows" in out.stdout
    header = (cnb.workdir / "results.csv").read_text().splitlines()[0]
    assert header.startswith("index,job_id,state,reason,runtime_s") and "product" in header


def test_failed_proc_is_retried_alone(cnb: Cnb) -> None:
    nb = cnb.notebook("retry.ipynb", [RECORDS], params=PARAMS)
    sweep = condor_nb.sweep(nb, grid={"a": [1, 2, 3]}, parameters={"fail_on": 2})
    counts = sweep.wait(timeout=300)
    assert counts == {"COMPLETED": 2, "FAILED": 1}
    failed = [j for j in sweep.jobs() if j.record.state == "FAILED"]
    assert "fails on purpose" in (failed[0].record.reason or "")
    # The results table says where, as the user counts cells (the parameters cell is 1).
    row = next(r for r in sweep.results(as_dataframe=False) if r["state"] == "FAILED")
    assert row["reason"] == "cell 2: `import condor_nb`: RuntimeError: a=2 fails on purpose", row
    before = {i: j.id for i, j in sweep.members()}
    proc = cnb.run("sweep", "retry", sweep.id, check=True)
    assert "resubmitted 1 parameter set" in proc.stdout
    after = {i: j.id for i, j in sweep.members()}
    assert after[0] == before[0] and after[2] == before[2] and after[1] != before[1]
    sweep.wait(timeout=300)
    retried = dict(sweep.members())[1]
    assert retried.record.state == "FAILED"  # it fails on purpose again, but ran again alone
    assert retried.record.cluster != failed[0].record.cluster
    # The first attempt's outputs are kept next to the new ones.
    out_root = retried._files.out_dir.parent
    assert (out_root / "1.attempt1").is_dir()


def test_cache_hit_does_not_touch_the_schedd(cnb: Cnb, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = cnb.notebook("cached.ipynb", ["print(x * 2)"], params="x = 1")
    first = condor_nb.submit(nb, parameters={"x": 21})
    first.wait(timeout=240)
    jobs_before = _queue_size(cnb)

    def no_schedd(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a cache hit contacted the schedd")

    # A context of its own: undoing the fixture's monkeypatch would also drop CONDOR_NB_HOME.
    with monkeypatch.context() as patch:
        patch.setattr(schedd, "client_for", no_schedd)
        again = condor_nb.submit(nb, parameters={"x": 21})
    assert again.from_cache and again.id == first.id
    assert _queue_size(cnb) == jobs_before
    proc = cnb.run("submit", str(nb), "-p", "x", "21")
    assert "from the cache" in proc.stdout and first.id in proc.stdout
    # A different parameter, a changed input file, or --no-cache: a new run.
    other = condor_nb.submit(nb, parameters={"x": 22})
    assert not other.from_cache
    assert Path(other.record.job_dir or "").is_relative_to(cnb.env["CONDOR_NB_HOME"])
    assert "submitted" in cnb.run("submit", str(nb), "-p", "x", "21", "--no-cache").stdout


def test_changed_input_file_misses_and_deleted_outputs_are_not_hits(cnb: Cnb) -> None:
    data = cnb.workdir / "data.txt"
    data.write_text("one\n")
    nb = cnb.notebook("inputs.ipynb", ["print(open('data.txt').read())"])
    first = condor_nb.submit(nb, files=[data])
    first.wait(timeout=240)
    assert condor_nb.submit(nb, files=[data]).id == first.id
    data.write_text("two\n")
    second = condor_nb.submit(nb, files=[data])
    assert not second.from_cache
    second.wait(timeout=240)
    # Outputs deleted: the next identical submission runs again.
    for path in second._files.out_dir.iterdir():
        path.unlink()
    assert not condor_nb.submit(nb, files=[data]).from_cache


def test_identical_job_in_flight_is_attached_not_duplicated(cnb: Cnb) -> None:
    nb = cnb.notebook("slow.ipynb", ["import time\ntime.sleep(s)"], params="s = 0")
    first = condor_nb.submit(nb, parameters={"s": 30})
    second = condor_nb.submit(nb, parameters={"s": 30})
    assert second.from_cache and second.id == first.id
    # Once it runs (seen on the schedd only: the registry row still says QUEUED),
    # the attached job reports what the schedd says, not the older registry state.
    from lookalikes import raw_schedd

    _, raw = raw_schedd()
    deadline = time.monotonic() + 120
    while not raw.query(f'CondorNbId == "{first.id}" && JobStatus == 2', ["ClusterId"]):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(1)
    third = condor_nb.submit(nb, parameters={"s": 30})
    assert third.from_cache and third.record.state == "RUNNING", third.record
    first.remove()


def test_sweep_with_one_new_value_runs_only_that_one(cnb: Cnb) -> None:
    nb = cnb.notebook("grow.ipynb", [RECORDS], params=PARAMS)
    first = condor_nb.sweep(nb, grid={"a": [1, 2]})
    first.wait(timeout=300)
    second = condor_nb.sweep(nb, grid={"a": [1, 2, 3]})
    members = second.members()
    assert [j.id for _, j in members[:2]] == [j.id for _, j in first.members()]
    assert [j.record.sweep_id for _, j in members] == [first.id, first.id, second.id]
    assert second.wait(timeout=300) == {"COMPLETED": 3}
    assert [r["product"] for r in second.results(as_dataframe=False)] == [1, 2, 3]


def test_wall_time_stops_the_notebook_and_keeps_its_partial_outputs(cnb: Cnb) -> None:
    nb = cnb.notebook(
        "long.ipynb", ["print('first cell done', flush=True)", "import time\ntime.sleep(600)"]
    )
    job = condor_nb.submit(nb, wall_time="8s")
    info = job.wait(timeout=240)
    assert info.state is JobState.FAILED and info.failure_class == "wall_time", info
    assert "wall-time limit" in (info.reason or "")
    assert "cell 2: `import time`: WallTimeExceeded" in (info.reason or ""), info
    fetched = job.fetch()
    assert "first cell done" in "".join(cell_outputs(fetched.notebook))  # type: ignore[arg-type]
    result = json.loads(fetched.result.read_text())  # type: ignore[union-attr]
    assert result["outcome"] == "wall_time" and result["failed_cell"] is not None


def test_retries_rerun_a_failed_job(cnb: Cnb, schedd_ads: Any) -> None:
    nb = cnb.notebook("flaky.ipynb", ["raise RuntimeError('always')"])
    job = condor_nb.submit(nb, retries=1)
    started = time.monotonic()
    info = job.wait(timeout=300)
    assert info.state is JobState.FAILED and info.failure_class == "cell_error"
    ad = schedd_ads(job.id)
    assert ad["NumJobStarts"] == 2, f"expected 2 runs (1 retry); got {ad['NumJobStarts']}"
    assert time.monotonic() - started < 300
