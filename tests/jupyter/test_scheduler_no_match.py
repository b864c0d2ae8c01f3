"""jupyter-scheduler's Create Job with more memory than any slot has, on the real
server and the personal pool: refused with the analysis; with allow_no_match, created,
and its status message says why it waits."""

from __future__ import annotations

import time

import pytest
from conftest import Server

pytestmark = pytest.mark.pool


def test_create_job_no_slot_can_run_is_refused_then_explained(server: Server) -> None:
    server.notebook("big.ipynb", ["x = 1"])
    body = {"input_uri": "big.ipynb", "name": "big", "runtime_environment_name": "personal",
            "runtime_environment_parameters": {"memory": "100GB"}}  # fmt: skip
    status, refused = server.request("POST", "/scheduler/jobs", body)
    assert status == 400, refused
    assert "no slot of the pool can ever run this job" in str(refused), refused
    assert "request_memory 102400 MB" in str(refused), refused

    body["runtime_environment_parameters"] = {"memory": "100GB", "allow_no_match": "true"}
    status, created = server.request("POST", "/scheduler/jobs", body)
    assert status == 200, created
    job_id = created["job_id"]
    try:
        job: dict[str, object] = {}
        for _ in range(60):  # past the upload ("uploading inputs")
            _, job = server.request("GET", f"/scheduler/jobs/{job_id}")
            if "no slot has" in str(job.get("status_message")):
                break
            time.sleep(1)
        assert job["status"] == "QUEUED", job
        message = str(job["status_message"])
        assert message.startswith("no slot has 100 GB memory (largest "), job
        _, listed = server.request("GET", "/scheduler/jobs")
        row = [j for j in listed["jobs"] if j["job_id"] == job_id]
        assert row and row[0]["status_message"] == message, listed
        # The Job Detail page's condor_nb fields say why it waits, too.
        _, detail = server.request("GET", f"/condor_nb/scheduler-jobs/{job_id}")
        assert detail["state"] == "QUEUED" and "no slot has 100 GB" in detail["reason"], detail
    finally:
        server.request("PATCH", f"/scheduler/jobs/{job_id}", {"status": "STOPPED"})
