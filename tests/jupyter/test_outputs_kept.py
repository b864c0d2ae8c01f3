"""The extension's "remove" action keeps a finished job's outputs that were never fetched."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from conftest import Server

pytestmark = pytest.mark.pool


def test_remove_action_keeps_unfetched_outputs(server: Server) -> None:
    nb = server.notebook("kept.ipynb", ["print('kept output')"])
    cli = [sys.executable, "-m", "condor_nb"]
    submitted = subprocess.run(
        [*cli, "submit", str(nb)], env=server.env, capture_output=True, text=True, check=True
    )
    job_id = submitted.stdout.split()[1]
    for _ in range(400):  # the schedd's state; nothing retrieves the outputs meanwhile
        status, job = server.request("GET", f"/condor_nb/jobs/{job_id}")
        assert status == 200, job
        if job["state"] in ("COMPLETED", "FAILED", "REMOVED"):
            break
        time.sleep(0.5)
    assert job["state"] == "COMPLETED", job

    status, body = server.request("POST", f"/condor_nb/jobs/{job_id}/actions", {"action": "remove"})

    assert status == 409, body
    assert "never fetched" in str(body) and "force" in str(body)
    fetched = subprocess.run(
        [*cli, "fetch", job_id, "-o", str(server.root / "res")],
        env=server.env,
        capture_output=True,
        text=True,
    )
    assert fetched.returncode == 0, fetched.stderr
    assert "kept output" in (server.root / "res" / "stdout.txt").read_text()
