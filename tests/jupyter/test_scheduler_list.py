"""jupyter-scheduler's own job list, as condor_nb knows it: held jobs say HELD, CLI and
API jobs are listed too (one registry), downloads bring what `condor_nb fetch` brings,
and --CondorNbJupyter.* settings on the command line are honoured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Server

pytestmark = pytest.mark.pool

WRITER = [
    "open('summary.txt', 'w').write('total = 42\\n')",
    "print('done')",
]


def api_call(server: Server, code: str) -> str:
    """Run Python against the pool as a user of the API would, with the server's home."""
    done = subprocess.run(
        [sys.executable, "-c", f"import condor_nb\n{code}"],
        env=server.env,
        cwd=server.root,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def rows_of(server: Server, condor_nb_id: str) -> list[dict[str, Any]]:
    """jupyter-scheduler's rows (GET /scheduler/jobs) that show this condor_nb job."""
    status, listed = server.request("GET", "/scheduler/jobs?max_items=100")
    assert status == 200, listed
    out = []
    for job in listed["jobs"]:
        code, detail = server.request("GET", f"/condor_nb/scheduler-jobs/{job['job_id']}")
        if code == 200 and detail["id"] == condor_nb_id:
            out.append({**job, "condor_nb": detail})
    return out


def test_held_cli_job_listed_released_and_ui_downloads(server: Server) -> None:
    # A job of the Python API, held at once: the UI lists it, says HELD and why.
    server.notebook("api.ipynb", ["import time", "time.sleep(1)"])
    api_id = api_call(server, "j = condor_nb.submit('api.ipynb')\nj.hold()\nprint(j.id)")
    # And one of the UI's own, which writes a file of its own.
    server.notebook("writer.ipynb", WRITER)
    ui_job = server.create_job("writer.ipynb", name="writer")

    rows = rows_of(server, api_id)
    assert len(rows) == 1, rows  # listed, once
    row, detail = rows[0], rows[0]["condor_nb"]
    assert row["status"] == "QUEUED", row  # jupyter-scheduler has no HELD status
    assert row["status_message"].startswith("HELD ("), row
    assert api_id in row["status_message"] and detail["cluster"] in row["status_message"]
    assert "held by the user" in row["status_message"]
    assert detail["state"] == "HELD" and "held" in (detail["reason"] or ""), detail
    assert detail["job_id"] == row["job_id"] and detail["failure"] is None

    # Released through the panel's action: the schedd runs it.
    code, acted = server.request("POST", f"/condor_nb/jobs/{api_id}/actions", {"action": "release"})
    assert code == 200 and acted["state"] != "HELD", acted
    state = api_call(server, f"print(condor_nb.get('{api_id}').status().state.value)")
    assert state in ("QUEUED", "RUNNING", "COMPLETED"), state
    done = server.wait_job(row["job_id"], ("COMPLETED", "FAILED"))
    assert done["status"] == "COMPLETED", done

    # The UI's own job: listed once (not adopted a second time), with its ids.
    code, mine = server.request("GET", f"/condor_nb/scheduler-jobs/{ui_job}")
    assert code == 200 and mine["id"] and mine["cluster"], mine
    assert len(rows_of(server, mine["id"])) == 1
    job = server.wait_job(ui_job, ("COMPLETED", "FAILED"))
    assert job["status"] == "COMPLETED", job
    assert server.request("GET", f"/scheduler/jobs/{ui_job}/download_files")[0] == 204
    job = server.wait_job(ui_job, ("COMPLETED",))
    files = {f["file_format"]: f["file_path"] for f in job["job_files"]}
    assert "input" not in files, files  # the unexecuted copy is not an output
    assert job["downloaded"] is True, job
    folder = server.root / files["files"]
    got = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert "summary.txt" in got and "job.log" in got and "stdout.txt" in got, got
    assert (folder / "summary.txt").read_text() == "total = 42\n"
    assert "writer.ipynb" not in got, got  # the input's own name: not copied beside
    assert {Path(files["ipynb"]).name, Path(files["html"]).name} <= got

    # Unknown job: 404, and no staging path in any answer.
    code, body = server.request("GET", "/condor_nb/scheduler-jobs/no-such-job")
    assert code == 404 and "no-such-job" in body["message"], body
    assert "staging" not in str(body) and "staging" not in str([*rows, job, mine])


def test_command_line_setting_is_honoured(tmp_path: Path, pool_env: dict[str, str]) -> None:
    env = {**pool_env}
    srv = Server(tmp_path, env)
    srv.start("--CondorNbJupyter.scheduler_backend=False")
    try:
        status, body = srv.request("GET", "/scheduler/runtime_environments")
        assert status == 200, body
        names = [e["name"] for e in body]
        assert "personal" not in names, names  # jupyter-scheduler's own environments
    finally:
        srv.stop()
