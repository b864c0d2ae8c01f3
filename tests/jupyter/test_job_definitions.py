"""Job definitions are schedules on the schedd; each run shows up as a job with its own files.

This test waits for real cron firings (one a minute): it takes about three minutes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Server, running_server

pytestmark = pytest.mark.pool


def _runs(server: Server, definition_id: str) -> list[dict[str, Any]]:
    status, body = server.request("GET", f"/scheduler/jobs?job_definition_id={definition_id}")
    assert status == 200, body
    return list(body["jobs"])


def _schedule(server: Server) -> dict[str, Any]:
    _, body = server.request("GET", "/condor_nb/schedules")
    mine = [s for s in body["schedules"] if s["name"] == "every minute"]
    assert len(mine) == 1, body
    return dict(mine[0])


def test_definition_fires_twice_each_run_its_own_job_then_pause_and_delete(server: Server) -> None:
    server.notebook("tick.ipynb", ["import time; print('tick', n, time.time())"], params="n = 1")
    status, body = server.request(
        "POST",
        "/scheduler/job_definitions",
        {
            "input_uri": "tick.ipynb",
            "runtime_environment_name": "personal",
            "name": "every minute",
            "parameters": {"n": "7"},
            "output_formats": ["ipynb", "html"],
            "schedule": "* * * * *",
            "timezone": "UTC",
        },
    )
    assert status == 200, body
    definition_id = body["job_definition_id"]
    try:
        deadline = time.monotonic() + 240
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline and len(runs) < 2:
            time.sleep(10)
            listed = _runs(server, definition_id)
            runs = [r for r in listed if r["status"] == "COMPLETED"]
        assert len(runs) >= 2, listed
        # A busy pool may skip a firing: it is listed as a job that says so, nothing else.
        others = [r for r in listed if r["status"] != "COMPLETED"]
        assert all(r["status_message"].startswith("Missed: ") for r in others), others
        assert len({r["job_id"] for r in listed}) == len(listed)
        # Each run has its own executed notebook, downloadable like any job's.
        first = runs[-1]
        assert server.request("GET", f"/scheduler/jobs/{first['job_id']}/download_files")[0] == 204
        files = {
            f["file_format"]: f["file_path"]
            for f in server.request("GET", f"/scheduler/jobs/{first['job_id']}")[1]["job_files"]
        }
        assert "tick 7" in (server.root / files["ipynb"]).read_text(encoding="utf-8")

        status, _ = server.request(
            "PATCH", f"/scheduler/job_definitions/{definition_id}", {"active": False}
        )
        assert status == 204
        paused = _schedule(server)
        assert paused["state"] == "PAUSED", paused
        _, listed = server.request("GET", "/scheduler/job_definitions")
        assert [d["active"] for d in listed["job_definitions"]] == [False]
        started = paused["runs_started"]
        time.sleep(75)  # at least one planned firing passes
        assert _schedule(server)["runs_started"] == started

        status, _ = server.request(
            "PATCH", f"/scheduler/job_definitions/{definition_id}", {"active": True}
        )
        assert status == 204
        assert _schedule(server)["state"] == "ACTIVE"
    finally:
        status, _ = server.request("DELETE", f"/scheduler/job_definitions/{definition_id}")
    assert status == 204
    _, body = server.request("GET", "/condor_nb/schedules")
    assert not [s for s in body["schedules"] if s["name"] == "every minute"]
    assert server.request("GET", f"/scheduler/job_definitions/{definition_id}")[0] == 404


def test_a_missed_firing_is_a_failed_job_under_its_definition(
    tmp_path: Path, pool_env: dict[str, str]
) -> None:
    from integration.test_schedule_missed import BLOCKED_PROFILE

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "blocked.sub").write_text(BLOCKED_PROFILE, encoding="utf-8")
    env = {**pool_env, "CONDOR_NB_PROFILES_PATH": str(profiles)}
    with running_server(tmp_path / "srv", env) as server:
        server.notebook("beat.ipynb", ["print('beat')"])
        status, body = server.request(
            "POST",
            "/scheduler/job_definitions",
            {
                "input_uri": "beat.ipynb",
                "runtime_environment_name": "blocked",
                "name": "every minute",
                "output_formats": ["ipynb"],
                "schedule": "* * * * *",
                "timezone": "UTC",
            },
        )
        assert status == 200, body
        definition_id = body["job_definition_id"]
        try:
            _see_the_missed_firing(server, definition_id, pool_env)
        finally:
            status, _ = server.request("DELETE", f"/scheduler/job_definitions/{definition_id}")
        assert status == 204


def _see_the_missed_firing(server: Server, definition_id: str, pool_env: dict[str, str]) -> None:
    from condor_nb.condor import schedd
    from condor_nb.settings import load_settings

    deadline = time.monotonic() + 60
    schedule = _schedule(server)
    while schedule["next_run"] is None and time.monotonic() < deadline:
        time.sleep(1)  # planned once the inputs are uploaded
        schedule = _schedule(server)
    first = schedule["next_run"]
    assert first is not None, schedule
    # The first firing cannot start (no slot matches) until the next one has passed.
    time.sleep(max(0.0, first + 70 - time.time()))
    client = schedd.client_for(load_settings(**_pool_overrides(pool_env)))
    where = f"ClusterId == {schedule['cluster']} && ProcId == {schedule['proc']}"
    assert client.edit(where, "CondorNbTestGo", "true") == 1
    deadline = time.monotonic() + 150
    listed: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        time.sleep(5)
        listed = _runs(server, definition_id)
        if {r["status"] for r in listed} >= {"COMPLETED", "FAILED"}:
            break
    missed = [r for r in listed if r["status"] == "FAILED"]
    assert missed, listed
    assert missed[0]["status_message"].startswith("Missed: run "), missed
    assert "could only start at" in missed[0]["status_message"]
    assert missed[0]["name"].endswith("(missed)")
    assert [r for r in listed if r["status"] == "COMPLETED"], listed


def _pool_overrides(pool_env: dict[str, str]) -> dict[str, Any]:
    return {"condor_config": pool_env.get("CONDOR_NB_CONDOR_CONFIG")}
