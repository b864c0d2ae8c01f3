"""jupyter-scheduler's own job list, as condor_nb knows it: held jobs say HELD, CLI and
API jobs are listed too (one registry), downloads bring what `condor_nb fetch` brings,
and --CondorNbJupyter.* settings on the command line are honoured."""

from __future__ import annotations

import subprocess
import sys
import time
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

    # A schedule of the API: a job definition, paused as on the schedd; deleting the
    # definition deletes the schedule.
    sid = api_call(server, "print(condor_nb.schedule('api.ipynb', '0 5 * * *', name='api5').id)")
    api_call(server, f"from condor_nb.schedules import api\napi.pause('{sid}')")
    _, defs = server.request("GET", "/scheduler/job_definitions")
    mine = [d for d in defs["job_definitions"] if d["name"] == "api5"]
    assert len(mine) == 1 and mine[0]["schedule"] == "0 5 * * *", defs
    assert mine[0]["active"] is False and mine[0]["input_filename"] == "api.ipynb", mine
    assert len(server.request("GET", "/scheduler/job_definitions")[1]["job_definitions"]) == 1
    definition = f"/scheduler/job_definitions/{mine[0]['job_definition_id']}"
    assert server.request("DELETE", definition)[0] == 204
    _, left = server.request("GET", "/condor_nb/schedules")
    assert sid not in [s["id"] for s in left["schedules"]], left

    # Unknown job: 404, and no staging path in any answer.
    code, body = server.request("GET", "/condor_nb/scheduler-jobs/no-such-job")
    assert code == 404 and "no-such-job" in body["message"], body
    assert "staging" not in str(body) and "staging" not in str([*rows, job, mine])


def test_command_line_setting_is_honoured(tmp_path: Path, pool_env: dict[str, str]) -> None:
    env = {**pool_env}
    srv = Server(tmp_path, env)
    srv.start(
        "--CondorNbJupyter.scheduler_backend=False",
        "--CondorNbJupyter.profile=campus",
        "--CondorNbJupyter.image=/cvmfs/example.org/img:1",
    )
    try:
        status, body = srv.request("GET", "/scheduler/runtime_environments")
        assert status == 200, body
        names = [e["name"] for e in body]
        assert "personal" not in names, names  # jupyter-scheduler's own environments
        status, body = srv.request("GET", "/condor_nb/profiles")
        assert body["default_profile"] == "campus", body
        assert body["images"] == ["/cvmfs/example.org/img:1"], body
    finally:
        srv.stop()


def test_a_run_stopped_by_pause_is_stopped_not_failed(server: Server) -> None:
    server.notebook("slow.ipynb", ["import time", "time.sleep(150)"], params="n = 1")
    # A definition's error names the user's notebook, never the staging copy.
    bad = {
        "input_uri": "slow.ipynb",
        "runtime_environment_name": "personal",
        "name": "bad",
        "parameters": {"nope": "1"},
        "output_formats": ["ipynb"],
        "schedule": "0 5 * * *",
        "timezone": "UTC",
    }
    status, body = server.request("POST", "/scheduler/job_definitions", bad)
    assert status == 400 and "nope" in body["message"], body
    assert "staging" not in str(body) and "slow.ipynb" in str(body), body
    status, body = server.request(
        "POST",
        "/scheduler/job_definitions",
        {
            "input_uri": "slow.ipynb",
            "runtime_environment_name": "personal",
            "name": "slow every minute",
            "output_formats": ["ipynb"],
            "schedule": "* * * * *",
            "timezone": "UTC",
        },
    )
    assert status == 200, body
    definition_id = body["job_definition_id"]
    path = f"/scheduler/jobs?job_definition_id={definition_id}"
    try:
        deadline = time.monotonic() + 240
        schedule: dict[str, Any] = {}
        while time.monotonic() < deadline:  # until its first run is running
            _, found = server.request("GET", "/condor_nb/schedules")
            schedule = next(s for s in found["schedules"] if s["name"] == "slow every minute")
            if schedule["runs_started"] > schedule["runs_finished"]:
                break
            time.sleep(2)
        assert schedule["runs_started"] > schedule["runs_finished"], schedule
        status, _ = server.request(
            "PATCH", f"/scheduler/job_definitions/{definition_id}", {"active": False}
        )
        assert status == 204
        runs: list[dict[str, Any]] = []
        # A bound on polling, not a timing: under a full suite's load the run once took
        # longer than 120 s to be listed.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not runs:
            time.sleep(3)
            runs = server.request("GET", path)[1]["jobs"]
        assert runs, "the stopped run was never listed"
        assert [r["status"] for r in runs] == ["STOPPED"], runs
        assert "Pause" in runs[0]["status_message"], runs
        assert "not a failure" in runs[0]["status_message"], runs
    finally:
        status, _ = server.request("DELETE", f"/scheduler/job_definitions/{definition_id}")
    assert status == 204
