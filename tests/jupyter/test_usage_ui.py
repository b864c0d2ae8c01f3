"""The Jupyter job list shows an ended job's runtime and usage as the schedd recorded them.

Through the real server's REST API (GET /condor_nb/jobs), against the raw job ad.
"""

from __future__ import annotations

import time
from typing import Any

from conftest import Server
from lookalikes import raw_schedd


def _ad(job_id: str) -> Any:
    _, schedd = raw_schedd()
    attrs = ["MemoryUsage", "ResidentSetSize", "RequestMemory", "RemoteWallClockTime"]
    constraint = f'CondorNbId == "{job_id}"'
    found = schedd.query(constraint, attrs) or list(schedd.history(constraint, attrs, match=1))
    assert found, job_id
    return found[0]


def _job(server: Server, name: str) -> dict[str, Any] | None:
    status, body = server.request("GET", "/condor_nb/jobs")
    assert status == 200, body
    return next((j for j in body["jobs"] if j["name"] == name), None)


def _until(server: Server, name: str, states: tuple[str, ...]) -> dict[str, Any]:
    job = None
    for _ in range(300):  # a bound on polling (1 s apart), not a timing
        job = _job(server, name)
        if job is not None and job["state"] in states:
            return job
        time.sleep(1)
    raise AssertionError(f"{name} never reached {states}: {job}")


def test_the_job_list_shows_recorded_runtime_and_usage(server: Server) -> None:
    server.notebook("mem.ipynb", ['import time\nbuf = b"x" * (200 * 1024 * 1024)\ntime.sleep(8)'])
    server.notebook("sleep.ipynb", ["import time\ntime.sleep(600)"])
    server.create_job("mem.ipynb", name="mem")
    server.create_job("sleep.ipynb", name="sleeper")

    sleeper = _until(server, "sleeper", ("RUNNING",))
    time.sleep(2)
    status, body = server.request(
        "POST", f"/condor_nb/jobs/{sleeper['id']}/actions", {"action": "remove"}
    )
    assert status == 200, body
    first = _until(server, "sleeper", ("REMOVED",))["runtime"]
    time.sleep(4)
    again = _job(server, "sleeper")
    assert again is not None and first is not None and first > 0, (first, again)
    assert again["runtime"] == first, (first, again["runtime"])  # it does not grow

    done = _until(server, "mem", ("COMPLETED",))
    ad = _ad(done["id"])
    usage = done["usage"]
    assert usage is not None, done
    assert usage["memory_used_mb"] == float(ad.eval("MemoryUsage")) > 0, (usage, ad)
    assert usage["memory_requested_mb"] == float(ad["RequestMemory"])
    assert done["runtime"] == float(ad["RemoteWallClockTime"]), (done, ad)
    assert isinstance(usage["hints"], list), usage  # (none when the request fits)
