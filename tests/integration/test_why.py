"""condor_nb why on the personal pool: an idle job no slot can hold, and a held job."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

import condor_nb
from condor_nb.condor.status import JobState
from condor_nb.submission.nomatch import NoMatchWarning

from .conftest import Cnb


def _largest_memory_mb(cnb: Cnb) -> int:
    """What the collector says the biggest machine has (not taken from condor_nb)."""
    from condor_nb.condor.schedd import configure_bindings

    h = configure_bindings(cnb.settings())
    ads = h.Collector().query(h.AdTypes.Startd, "true", ["TotalSlotMemory", "Memory"])
    return max(int(ad.get("TotalSlotMemory", ad.get("Memory", 0))) for ad in ads)


def _better_analyze(condor_id: str) -> str | None:
    """condor_q -better-analyze from the pool root's tools (None when the pool has none)."""
    from condor_nb.pool.paths import pool_paths

    paths = pool_paths()
    tool = paths.base / "client" / "bin" / "condor_q"
    if "CONDOR_NB_TEST_CONDOR_CONFIG" in os.environ or not tool.exists():
        return None
    env = {**os.environ, "CONDOR_CONFIG": str(paths.base / "client" / "condor_config")}
    proc = subprocess.run([str(tool), "-better-analyze", condor_id], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    return proc.stdout


def _why_once_uploaded(cnb: Cnb, job_id: str) -> subprocess.CompletedProcess[str]:
    """``condor_nb why``, asked again while the schedd still says "uploading inputs"
    (it releases a spooled job a moment after the upload)."""
    for _ in range(60):
        proc = cnb.run("why", job_id, check=True)
        if "being uploaded" not in proc.stdout:
            return proc
        time.sleep(1)
    raise AssertionError(f"{job_id} still uploading: {proc.stdout}")


def test_why_names_the_memory_no_slot_has_and_a_held_jobs_command(cnb: Cnb) -> None:
    nb = cnb.notebook("slow.ipynb", ["import time\ntime.sleep(seconds)"], params="seconds = 1")
    with pytest.warns(NoMatchWarning, match="submitted anyway"):
        big = condor_nb.submit(nb, memory="100GB", allow_no_match=True)
    proc = _why_once_uploaded(cnb, big.id)
    largest = _largest_memory_mb(cnb)
    assert "no slot can ever run it" in proc.stdout, proc.stdout
    assert "request_memory 102400 MB: 0 of " in proc.stdout
    assert f"the largest has {largest} MB" in proc.stdout, proc.stdout
    shown = json.loads(cnb.run("why", big.id, "--json", check=True).stdout)
    memory = [c for c in shown["clauses"] if "RequestMemory" in c["text"]]
    assert [c["matched"] for c in memory] == [0] and shown["matching"] == 0
    status = cnb.run("status", big.id, check=True).stdout
    assert re.search(r"^why: no slot can ever run it: request_memory 102400 MB", status, re.M)
    analysed = _better_analyze(big.condor_id)
    if analysed is not None:  # the same verdict from HTCondor's own analyser
        row = re.search(r"\[\d+\]\s+(\d+)\s+TARGET\.Memory >= RequestMemory", analysed)
        assert row and row.group(1) == "0", analysed
        machines = re.search(r"Of (\d+) machines,\s+(\d+) are rejected by your job", analysed)
        assert machines and int(machines.group(1)) == shown["machines"], analysed
        assert int(machines.group(2)) == shown["machines"] - shown["matching"]

    held = condor_nb.submit(nb, parameters={"seconds": 600})
    held.hold()
    assert held.status().state is JobState.HELD
    proc = cnb.run("why", held.id, check=True)
    assert "held by the user" in proc.stdout, proc.stdout
    assert f"do: condor_nb release {held.id}" in proc.stdout
    status = cnb.run("status", held.id, check=True).stdout
    assert f"do:  condor_nb release {held.id}" in status, status
