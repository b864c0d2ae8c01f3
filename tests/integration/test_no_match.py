"""A job no slot of the pool can ever run, on the personal pool: refused at submit
with the analysis, submitted anyway with --allow-no-match, then its REASON in ``q``,
``status`` and the Jupyter job list says why it waits."""

from __future__ import annotations

import re
import time

import pytest

import condor_nb
from condor_nb.errors import SpecError

from .conftest import Cnb


def _largest_memory_mb(cnb: Cnb) -> int:
    """What the collector says the biggest machine has (not taken from condor_nb)."""
    from condor_nb.condor.schedd import configure_bindings

    h = configure_bindings(cnb.settings())
    ads = h.Collector().query(h.AdTypes.Startd, "true", ["TotalSlotMemory", "Memory"])
    return max(int(ad.get("TotalSlotMemory", ad.get("Memory", 0))) for ad in ads)


def _jobs_on_schedd(cnb: Cnb) -> list[object]:
    from condor_nb.condor import schedd
    from condor_nb.store import tracking

    settings = cnb.settings()
    return schedd.client_for(settings).query(tracking.base_constraint(settings), ["ClusterId"])


def _q_row(cnb: Cnb, job_id: str) -> str:
    """The job's row of ``condor_nb q`` once its upload is over (a spooled job waits
    on hold a moment first: "uploading inputs")."""
    for _ in range(60):
        out = cnb.run("q", check=True).stdout
        row = next((line for line in out.splitlines() if line.startswith(job_id)), "")
        if "uploading" not in row:
            return row
        time.sleep(1)
    raise AssertionError(f"{job_id} still uploading:\n{out}")


def test_a_job_no_slot_can_run_is_refused_then_explained_when_forced(cnb: Cnb) -> None:
    nb = cnb.notebook("big.ipynb", ["x = 1"])
    largest = _largest_memory_mb(cnb)
    assert largest < 100 * 1024  # the premise: the pool's machine has far less

    # Refused, with what was asked, what the pool has and how to go on; nothing sent.
    refused = cnb.run("submit", str(nb), "--memory", "100GB")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    said = refused.stderr
    assert "no slot of the pool can ever run this job" in said, said
    assert "request_memory 102400 MB: 0 of " in said and f"the largest has {largest} MB" in said
    assert f"memory {largest / 1024:.3g} GB" in said, said  # what the pool has
    assert "--allow-no-match" in said and "--memory" in said, said  # how to fix it
    assert _jobs_on_schedd(cnb) == []
    assert cnb.run("q", check=True).stdout.strip() == "no jobs"
    with pytest.raises(SpecError, match="no slot of the pool can ever run"):  # the API too
        condor_nb.submit(nb, memory="100GB")
    assert _jobs_on_schedd(cnb) == []

    # Submitted anyway: a warning, and the job is queued.
    forced = cnb.run("submit", str(nb), "--memory", "100GB", "--allow-no-match", check=True)
    assert "no slot of the pool can run this job now" in forced.stderr, forced.stderr
    job_id = re.search(r"submitted (\w+) ", forced.stdout).group(1)  # type: ignore[union-attr]
    try:
        row = _q_row(cnb, job_id)
        reason = re.search(r"no slot has 100 GB memory \(largest ([\d.]+) GB\)", row)
        assert reason, row
        assert abs(float(reason.group(1)) * 1024 - largest) < 0.01 * largest, row
        assert "QUEUED" in row

        status = cnb.run("status", job_id, check=True).stdout
        assert re.search(r"^why: no slot can ever run it: request_memory 102400 MB", status,
                         re.M), status  # fmt: skip

        # The Jupyter job list and detail: the status message of the same idle job.
        from condor_nb_jupyter import tasks

        fresh = tasks.refresh({}, [job_id], {})
        assert fresh[job_id]["state"] == "QUEUED", fresh
        assert fresh[job_id]["reason"] == reason.group(0), fresh
    finally:
        cnb.run("rm", "--force", job_id)
    assert cnb.run("status", job_id, check=True).stdout.count("REMOVED") >= 1


def test_a_sweep_no_slot_can_run_is_refused_then_its_row_says_why(cnb: Cnb) -> None:
    nb = cnb.notebook("grid.ipynb", ["y = a"], params="a = 1")
    refused = cnb.run("sweep", str(nb), "--grid", "a=1,2", "--memory", "100GB")
    assert refused.returncode == 2 and "can ever run this job" in refused.stderr, refused.stderr
    forced = cnb.run("sweep", str(nb), "--grid", "a=1,2", "--memory", "100GB",
                     "--allow-no-match", check=True)  # fmt: skip
    sweep_id = re.search(r"sweep (s\w+):", forced.stdout).group(1)  # type: ignore[union-attr]
    try:
        row = _q_row(cnb, sweep_id)  # one row for the sweep, its procs' common reason
        assert "SWEEP 2/2 QUEUED" in row and "no slot has 100 GB memory (largest " in row, row
    finally:
        cnb.run("rm", "--force", sweep_id)
