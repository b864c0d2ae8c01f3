"""jupyter-scheduler's REST API, backed by condor_nb, against the personal pool."""

from __future__ import annotations

import http.cookiejar
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN, Server

pytestmark = pytest.mark.pool

PARAMS = 'n = 1\nlabel = "x"\nratio = 0.5\nflags = [1]'
SHOW = "print(repr(n), repr(label), repr(ratio), repr(flags), sep='|')"


def condor_job(server: Server, job_id: str) -> dict[str, Any]:
    """The condor_nb job behind a jupyter-scheduler job (its staged notebook path names it)."""
    _, jobs = server.request("GET", "/condor_nb/jobs")
    mine = [j for j in jobs["jobs"] if f"/{job_id}/" in j["notebook"]]
    assert len(mine) == 1, jobs
    return dict(mine[0])


def executed_text(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    chunks = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            chunks.append("".join(text) if isinstance(text, list) else text)
    return "".join(chunks)


def test_create_job_completes_with_typed_parameters_and_files_download(server: Server) -> None:
    server.notebook("typed.ipynb", [SHOW], params=PARAMS)
    params = {"n": "42", "label": "007", "ratio": "2", "flags": "[1, 2]"}
    job_id = server.create_job("typed.ipynb", params)
    job = server.wait_job(job_id, ("COMPLETED", "FAILED"))
    assert job["status"] == "COMPLETED", job
    status, _ = server.request("GET", f"/scheduler/jobs/{job_id}/download_files")
    assert status == 204
    job = server.wait_job(job_id, ("COMPLETED",))
    assert job["downloaded"] is True, job
    files = {f["file_format"]: f["file_path"] for f in job["job_files"]}
    executed = server.root / files["ipynb"]
    assert "42|'007'|2.0|[1, 2]" in executed_text(executed)  # typed, not pasted text
    html = (server.root / files["html"]).read_text(encoding="utf-8")
    assert "<html" in html.lower()
    assert (executed.parent / "stdout.txt").is_file()


def test_failing_notebook_is_failed_with_the_reason(server: Server) -> None:
    server.notebook("boom.ipynb", ["x = 1", "raise ValueError('boom from the test')"])
    job_id = server.create_job("boom.ipynb")
    job = server.wait_job(job_id, ("COMPLETED", "FAILED"))
    assert job["status"] == "FAILED"
    # The cell as the user counts it, its line and the error: the words of `condor_nb status`.
    expected = "cell 2: `raise ValueError('boom from the test')`: ValueError: boom from the test"
    # Then which job it is: the condor_nb id and the HTCondor id.
    assert job["status_message"].startswith(f"{expected} (condor_nb job "), job["status_message"]


def test_stop_removes_the_htcondor_job(server: Server) -> None:
    server.notebook("slow.ipynb", ["import time; time.sleep(600)"])
    job_id = server.create_job("slow.ipynb")
    server.wait_job(job_id, ("IN_PROGRESS", "QUEUED"))
    status, body = server.request("PATCH", f"/scheduler/jobs/{job_id}", {"status": "STOPPED"})
    assert status == 204, body
    job = server.wait_job(job_id, ("STOPPED",), timeout=60)
    assert job["status"] == "STOPPED"
    assert condor_job(server, job_id)["state"] == "REMOVED"


def test_delete_removes_job_and_records(server: Server) -> None:
    server.notebook("slow.ipynb", ["import time; time.sleep(600)"])
    job_id = server.create_job("slow.ipynb")
    condor_id = condor_job(server, job_id)["id"]
    status, _ = server.request("DELETE", f"/scheduler/jobs/{job_id}")
    assert status == 204
    assert server.request("GET", f"/scheduler/jobs/{job_id}")[0] == 404
    # The HTCondor job is gone from the queue; the schedd's history keeps it as REMOVED.
    status, detail = server.request("GET", f"/condor_nb/jobs/{condor_id}")
    assert status == 200 and detail["state"] == "REMOVED", detail
    assert not (server.data / "scheduler_staging_area" / job_id).exists()


def test_server_killed_while_jobs_run_shows_true_states_after_restart(server: Server) -> None:
    """SIGKILL (no clean shutdown) while jobs run: after a restart each job is right."""
    server.notebook("quick.ipynb", ["print('done', n)"], params="n = 1")
    server.notebook("boom.ipynb", ["import time; time.sleep(5)", "raise ValueError('late boom')"])
    server.notebook("slow.ipynb", ["import time; time.sleep(600)"])
    ok = server.create_job("quick.ipynb", {"n": "5"})
    bad = server.create_job("boom.ipynb")
    slow = server.create_job("slow.ipynb")
    server.wait_job(slow, ("IN_PROGRESS",), timeout=120)
    slow_condor = condor_job(server, slow)["id"]
    server.kill()  # the jobs go on without the server

    from condor_nb import api
    from condor_nb.settings import load_settings

    settings = load_settings(home=str(server.home))
    # Wait on the schedd's word alone (Job.wait would also fetch the outputs).
    pending = [j for j in api.jobs(settings=settings) if j.id != slow_condor]
    assert len(pending) == 2
    deadline = time.monotonic() + 240
    while pending and time.monotonic() < deadline:
        time.sleep(1)
        pending = [j for j in pending if not j.status().state.is_terminal]
    assert not pending, pending
    server.start()
    assert server.wait_job(ok, ("COMPLETED", "FAILED"), timeout=60)["status"] == "COMPLETED"
    failed = server.wait_job(bad, ("COMPLETED", "FAILED"), timeout=60)
    assert failed["status"] == "FAILED" and "late boom" in failed["status_message"], failed
    assert server.wait_job(slow, ("IN_PROGRESS",), timeout=60)["status"] == "IN_PROGRESS"
    # Outputs of the job that finished while the server was dead still fetch.
    assert server.request("GET", f"/scheduler/jobs/{ok}/download_files")[0] == 204
    files = {
        f["file_format"]: f["file_path"] for f in server.wait_job(ok, ("COMPLETED",))["job_files"]
    }
    assert "done 5" in executed_text(server.root / files["ipynb"])
    # Each job is listed once: nothing lost or duplicated by the kill.
    _, listed = server.request("GET", "/scheduler/jobs")
    ids = [j["job_id"] for j in listed["jobs"]]
    assert sorted(ids) == sorted({ok, bad, slow}), ids
    _, condor = server.request("GET", "/condor_nb/jobs")
    assert len(condor["jobs"]) == 3, condor


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("POST", "/scheduler/jobs", {"input_uri": "quick.ipynb"}, 400),
        ("POST", "/scheduler/jobs", [1, 2], 400),
        (
            "POST",
            "/scheduler/jobs",
            {"input_uri": "missing.ipynb", "name": "x", "runtime_environment_name": "personal"},
            400,
        ),
        (
            "POST",
            "/scheduler/jobs",
            {"input_uri": "quick.ipynb", "name": "x", "runtime_environment_name": "nowhere"},
            400,
        ),
        (
            "POST",
            "/scheduler/jobs",
            {
                "input_uri": "quick.ipynb",
                "name": "x",
                "runtime_environment_name": "personal",
                "parameters": {"n": "not a number"},
            },
            400,
        ),
        (
            "POST",
            "/scheduler/jobs",
            {
                "input_uri": "quick.ipynb",
                "name": "x",
                "runtime_environment_name": "personal",
                "runtime_environment_parameters": {"memory": "lots"},
            },
            400,
        ),
        (
            "POST",
            "/scheduler/job_definitions",
            {
                "input_uri": "quick.ipynb",
                "name": "x",
                "runtime_environment_name": "personal",
                "schedule": "61 * * * *",
            },
            400,
        ),
        (
            "POST",
            "/scheduler/job_definitions",
            {
                "input_uri": "quick.ipynb",
                "name": "x",
                "runtime_environment_name": "personal",
                "schedule": "0 6 * * *",
                "timezone": "Europe/Paris",
            },
            400,
        ),
        ("GET", "/scheduler/jobs/0000-not-a-job", None, 404),
        ("PATCH", "/scheduler/jobs/0000-not-a-job", {"status": "STOPPED"}, 404),
        ("GET", "/condor_nb/jobs/not-hex!", None, 400),
        ("GET", "/condor_nb/jobs/abcdef0123", None, 404),
        ("POST", "/condor_nb/jobs/abcdef01/actions", {"action": "explode"}, 400),
        ("GET", "/condor_nb/jobs?refresh=maybe", None, 400),
        ("GET", "/condor_nb/schedules/nope", None, 400),
    ],
)
def test_bad_input_is_a_4xx_with_a_clear_message(
    shared_server: Server, method: str, path: str, body: object, expected: int
) -> None:
    server = shared_server
    server.notebook("quick.ipynb", ["print('done')"], params="n = 1")
    status, reply = server.request(method, path, body)
    assert status == expected, reply
    assert isinstance(reply, dict) and reply.get("message"), reply


def test_condor_nb_api_needs_authentication(shared_server: Server) -> None:
    server = shared_server
    for path in ("/condor_nb/status", "/condor_nb/jobs", "/scheduler/jobs"):
        status, _ = server.request("GET", path, token=False)
        assert status == 403, path
    status, _ = server.request(
        "POST", "/condor_nb/jobs/abcdef01/actions", {"action": "hold"}, token=False
    )
    assert status == 403


def test_cookie_session_writes_need_the_xsrf_token(shared_server: Server) -> None:
    """A browser session (login cookie) cannot be driven by another site's form post."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    url = shared_server.url
    opener.open(f"{url}/api/status?token={TOKEN}").read()  # logs in: sets the cookie
    assert any(c.name.startswith("username-") for c in jar), list(jar)
    body = json.dumps({"action": "hold"}).encode()
    path = f"{url}/condor_nb/jobs/abcdef01/actions"

    def post(headers: dict[str, str]) -> int:
        req = urllib.request.Request(path, data=body, method="POST", headers=headers)
        try:
            with opener.open(req) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post({"Content-Type": "application/json"}) == 403  # cookie alone: refused
    # With the XSRF token a page of the server would send, the request is let through
    # (and answered: there is no such job).
    xsrf = "condor-nb-test-xsrf"
    jar.set_cookie(http.cookiejar.Cookie(
        0, "_xsrf", xsrf, None, False, "127.0.0.1", False, False, "/", True, False,
        None, False, None, None, {},
    ))  # fmt: skip
    assert post({"Content-Type": "application/json", "X-XSRFToken": xsrf}) == 404


def test_status_profiles_and_job_detail(server: Server) -> None:
    status, body = server.request("GET", "/condor_nb/status")
    assert status == 200 and body["reachable"] is True, body
    status, body = server.request("GET", "/condor_nb/profiles")
    assert "personal" in {p["name"] for p in body["profiles"]}
    server.notebook("quick.ipynb", ["print('done')"])
    job_id = server.create_job("quick.ipynb")
    server.wait_job(job_id, ("COMPLETED",))
    job = condor_job(server, job_id)
    assert {"state", "reason", "failure_class", "condor_id", "cluster"} <= set(job)
    status, detail = server.request("GET", f"/condor_nb/jobs/{job['id']}")
    assert status == 200 and detail["state"] == "COMPLETED"
    assert detail["result"]["outcome"] == "completed"
    started = time.monotonic()
    assert server.request("GET", "/scheduler/runtime_environments")[0] == 200
    assert time.monotonic() - started < 5
