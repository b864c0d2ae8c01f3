"""Live progress ("cell N of M") reaches the schedd's job ad while a notebook runs.

What is checked is what HTCondor really stored: the job ad, polled with a raw query
while the job runs, and what `condor_nb q`, `status` and `wait` print from it.

The personal pool updates the starter every 2 s (STARTER_UPDATE_INTERVAL), which
would hide a mechanism relying on delayed updates (those ride on the starter's
update, 300 s apart by HTCondor's default). The attribute's name does not match
CHIRP_DELAYED_UPDATE_PREFIX (``Chirp*`` by default), so HTCondor refuses it as a
delayed update: its appearance in the ad proves the immediate path, whatever the
pool's STARTER_UPDATE_INTERVAL.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from typing import Any

from condor_nb import contract
from condor_nb import worker as remote
from condor_nb.condor import schedd

CELL_S = 12  # each cell longer than the 10 s between two updates


def test_each_cell_start_shows_in_the_job_ad_q_status_and_wait(cnb: Any) -> None:
    assert not contract.PROGRESS_ATTR.lower().startswith("chirp")  # never a delayed update
    cells = [f"import time\nprint('cell {i}')\ntime.sleep({CELL_S})" for i in (1, 2, 3)]
    cnb.notebook("slow.ipynb", cells)
    submitted = cnb.run("submit", "slow.ipynb", check=True).stdout
    job_id = re.search(r"submitted (\w+)", submitted).group(1)  # type: ignore[union-attr]
    waiter = subprocess.Popen(
        [sys.executable, "-m", "condor_nb", "wait", job_id],
        cwd=cnb.workdir,
        env={**os.environ, **cnb.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = schedd.client_for(cnb.settings())
    projection = ["JobStatus", "HoldReasonCode", contract.PROGRESS_ATTR]
    seen: list[str] = []
    shown: dict[str, str] = {}
    ad: Any = {}
    for _ in range(2400):  # a bound, not a timing: ~20 min of 0.5 s polls
        ads = client.query(f'CondorNbId == "{job_id}"', projection)
        if not ads:
            break
        ad = ads[0]
        value = ad.get(contract.PROGRESS_ATTR)
        if value and (not seen or seen[-1] != value):
            seen.append(str(value))
            if value == "cell 2 of 3":  # while it runs: what the CLI shows
                shown["q"] = cnb.run("q", check=True).stdout
                shown["status"] = cnb.run("status", job_id, check=True).stdout
        spooling = ad.get("HoldReasonCode") == 16  # held until the inputs are uploaded
        if ad.get("JobStatus") in (3, 4) or (ad.get("JobStatus") == 5 and not spooling):
            break
        time.sleep(0.5)
    out, err = waiter.communicate(timeout=600)

    assert seen[:3] == ["cell 1 of 3", "cell 2 of 3", "cell 3 of 3"], seen
    assert re.search(r"RUNNING.*cell [23] of 3", shown["q"]), shown["q"]
    assert re.search(r"cell [23] of 3", shown["status"]), shown["status"]
    assert waiter.returncode == 0, out + err
    for n in (1, 2, 3):
        assert f"RUNNING (cell {n} of 3)" in err, err
    # At most one update per 10 s: three cells of 12 s gave three values, not more.
    assert len(seen) <= 1 + (3 * CELL_S) // 10, seen


def test_the_chirp_protocol_spoken_without_condor_chirp(cnb: Any) -> None:
    """Container images rarely have condor_chirp: the worker then speaks Chirp itself."""
    job_dir = cnb.workdir / "raw"
    job_dir.mkdir()
    shutil.copy(remote.REPORT_PATH, job_dir / "condor_nb_report.py")
    shutil.copy(remote.WRAPPER_FILES[contract.CONTRACT_NAME], job_dir / contract.CONTRACT_NAME)
    shipped = ", ".join(str(job_dir / n) for n in ("condor_nb_report.py", contract.CONTRACT_NAME))
    script = job_dir / "job.py"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import importlib.util, time\n"
        "spec = importlib.util.spec_from_file_location('r', 'condor_nb_report.py')\n"
        "m = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(m)\n"
        "print('rc', m.chirp_set_job_attr('CondorNbProgress', '\"cell 1 of 2 (socket)\"'))\n"
        "time.sleep(30)\n"
    )
    script.chmod(0o755)
    client = schedd.client_for(cnb.settings())
    cluster, _ = client.submit({
        "executable": str(script), "transfer_input_files": shipped,
        "output": "out", "error": "err", "should_transfer_files": "YES",
        "MY.WantIOProxy": "true", "request_memory": "64", "request_disk": "1024",
        "initialdir": str(job_dir), "MY.CondorNbTestChirp": "true",
    })  # fmt: skip
    value = None
    try:
        for _ in range(1200):  # a bound on polling, not a timing
            ads = client.query(f"ClusterId == {cluster}", ["JobStatus", contract.PROGRESS_ATTR])
            value = ads[0].get(contract.PROGRESS_ATTR) if ads else None
            if value or not ads or ads[0].get("JobStatus") in (3, 4):
                break
            time.sleep(0.5)
    finally:
        client.act("remove", f"ClusterId == {cluster}", "condor_nb test finished")
    assert value == "cell 1 of 2 (socket)"
