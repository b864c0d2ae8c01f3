"""`condor_nb doctor --dask` on the personal pool: its jobs share this machine, so the
probe listens on loopback and its job connects there; the job leaves the queue."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.pool


def test_doctor_dask_probe_reaches_loopback_and_leaves_no_job(cnb: Any) -> None:
    from condor_nb.condor import schedd

    proc = cnb.run("doctor", "--dask", "--timeout", "240")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if "dask connect-back" in ln)
    match = re.search(r"reached: job (\d+) on \S+ connected to 127\.0\.0\.1:\d+ ", line)
    assert line.startswith("[  ok]") and match, proc.stdout
    assert "the personal pool's jobs run on this machine" in line
    client = schedd.client_for(cnb.settings())
    assert client.query(f"ClusterId == {match.group(1)}", ["JobStatus"]) == []
    # It ran and left: completed, or removed by the doctor once its token arrived.
    ads = client.history(f"ClusterId == {match.group(1)}", ["JobStatus", "CondorNbProbeKind"])
    assert [ad.get("CondorNbProbeKind") for ad in ads] == ["dask-connect-back"], ads
    assert ads[0].get("JobStatus") in (3, 4), ads
