"""A job's state that forbids the request answers 409 with the message and the hint,
resolved from the error's class (``JobHeldError`` has no status of its own: its
parent's, 409)."""

from __future__ import annotations

import pytest
from conftest import Server

pytestmark = pytest.mark.pool


def test_state_conflicts_answer_409(server: Server) -> None:
    server.notebook("sleeper.ipynb", ["import time; time.sleep(3600)"])
    job_id = server.create_job("sleeper.ipynb")
    _, jobs = server.request("GET", "/condor_nb/jobs")
    mine = [j for j in jobs["jobs"] if f"/{job_id}/" in j["notebook"]]
    assert len(mine) == 1, jobs
    condor_id = mine[0]["id"]

    status, body = server.request("GET", f"/scheduler/jobs/{job_id}/download_files")
    assert status == 409, body
    assert body["error"] == "StateConflictError", body
    assert "its outputs are not available until it finishes" in body["message"], body
    assert "condor_nb wait" in body["hint"], body

    actions = f"/condor_nb/jobs/{condor_id}/actions"
    status, body = server.request("POST", actions, {"action": "release"})
    assert status == 409, body
    assert "only a held job can be released" in body["message"], body

    status, body = server.request("POST", actions, {"action": "hold"})
    assert status == 200 and body["state"] == "HELD", body
    status, body = server.request("GET", f"/scheduler/jobs/{job_id}/download_files")
    assert status == 409, body
    assert body["error"] == "JobHeldError" and "is HELD" in body["message"], body
    assert f"condor_nb release {condor_id}" in body["hint"], body
