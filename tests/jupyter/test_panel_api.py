"""The condor_nb panel's REST API (GET /condor_nb/panel and its actions), through a real
Jupyter server on the personal pool, for jobs, a sweep and a schedule made by the CLI.

One server (restarted once): what the panel answers is checked against what the CLI
says (`q --json`), what the schedd holds, and the files on disk.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Forwarder, Server, collector_address, running_server

REFRESH_S = 1.0
#: Polls of the panel, one a second at most: a bound on waiting, not a timing.
POLLS = 400


def cli(server: Server, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "condor_nb", *args], env=server.env, cwd=server.root,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def panel(server: Server) -> dict[str, Any]:
    status, body = server.request("GET", "/condor_nb/panel")
    assert status == 200, body
    return dict(body)


def stats(server: Server) -> dict[str, Any]:
    status, body = server.request("GET", "/condor_nb/panel/stats")
    assert status == 200, body
    return dict(body)


def job(answer: dict[str, Any], job_id: str) -> dict[str, Any] | None:
    return next((j for j in answer["jobs"] if j["id"] == job_id), None)


def until(server: Server, check: Callable[[dict[str, Any]], Any], what: str) -> Any:
    answer: dict[str, Any] = {}
    for _ in range(POLLS):
        answer = panel(server)
        found = check(answer)
        if found:
            return found
        time.sleep(REFRESH_S)
    raise AssertionError(f"never {what}: {json.dumps(answer)[:3000]}")


def state_is(job_id: str, *states: str) -> Callable[[dict[str, Any]], Any]:
    def check(answer: dict[str, Any]) -> Any:
        row = job(answer, job_id)
        return row if row is not None and row["state"] in states else None

    return check


def act(server: Server, kind: str, thing: str, action: str, force: bool = False) -> Any:
    return server.request(
        "POST", f"/condor_nb/{kind}/{thing}/actions", {"action": action, "force": force}
    )


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, pool_env: dict[str, str]) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("panel")
    with running_server(base, pool_env) as server:
        server.stop()  # again, with a short refresh interval
        server.start(f"--CondorNbJupyter.panel_refresh_s={REFRESH_S}")
        yield server


def test_panel_jobs_sweep_schedule_actions_and_restart(srv: Server) -> None:
    root = srv.root
    srv.notebook("cells.ipynb", ["import time\ntime.sleep(12)"] * 3 + ["done = 1"])
    srv.notebook("quick.ipynb", ['open("summary.txt", "w").write("hi")\nx = 1'])
    srv.notebook("sleep.ipynb", ["import time\ntime.sleep(600)"])
    srv.notebook(
        "fit.ipynb",
        ["assert i != 5, 'proc 5 fails'\nimport condor_nb\ncondor_nb.record('loss', i * 2)"],
        "i = 0",
    )
    running = cli(srv, "submit", "cells.ipynb", "-q").strip()
    quick = cli(srv, "submit", "quick.ipynb", "-q").strip()
    never = cli(srv, "submit", "sleep.ipynb", "--memory", "900TB", "--allow-no-match",
                "--name", "never", "-q").strip()  # fmt: skip
    held = cli(srv, "submit", "sleep.ipynb", "--name", "tohold", "--no-cache", "-q").strip()
    sweep_id = cli(srv, "sweep", "run", "fit.ipynb", "--grid", "i=0,1,2,3,4,5", "-q").strip()
    srv.create_job("quick.ipynb", name="from the UI")  # Notebook Jobs: one registry
    made = cli(srv, "schedule", "create", "quick.ipynb", "--cron", "0 2 * * *", "--name", "nightly")
    schedule = re.findall(r"\bs[0-9a-f]{8}\b", made)[0]

    try:
        # Every job made by the CLI is there, newest first, the sweep's procs not among them.
        answer = panel(srv)
        assert answer["refresh_s"] == REFRESH_S
        ids = [j["id"] for j in answer["jobs"]]
        assert {running, quick, never, held} <= set(ids)
        assert ids.index(held) < ids.index(running)
        assert {j["frontend"] for j in answer["jobs"]} == {"cli", "jupyter"}
        ui = next(j for j in answer["jobs"] if j["frontend"] == "jupyter")
        assert ui["name"] == "from the UI" and ui["id"] not in (running, quick, never, held)
        assert job(answer, running)["notebook"] == "cells.ipynb"  # type: ignore[index]

        # A running notebook: cell N of M, and a progress that advances.
        first = until(srv, lambda a: (r := job(a, running)) and r["cell"] and r, "a cell")
        assert first["state"] == "RUNNING" and first["cell"]["total"] == 4
        assert first["cell"]["source"] == "import time"  # its first line
        later = until(
            srv,
            lambda a: (r := job(a, running)) and (r["progress"] or 0) > first["progress"] and r,
            "a progress that advanced",
        )
        assert later["cell"]["number"] > first["cell"]["number"]

        # A job that can never match: the reason `q` shows.
        q_rows = json.loads(cli(srv, "q", "--json"))
        q_reason = next(r for r in q_rows["jobs"] if r["id"] == never)["reason"]
        assert q_reason and "memory" in q_reason, q_reason
        row = until(srv, lambda a: (r := job(a, never)) and r["reason"] == q_reason and r,
                    "the no-match reason")  # fmt: skip
        assert row["state"] == "QUEUED"

        # Hold from the panel: the hold reason; release from the panel.
        until(srv, state_is(held, "QUEUED", "RUNNING"), "tohold queued")
        status, body = act(srv, "jobs", held, "hold")
        assert status == 200, body
        assert body["state"] == "HELD"
        row = until(srv, state_is(held, "HELD"), "held")
        assert "held by condor_nb user" in row["reason"]
        status, body = act(srv, "jobs", held, "release")
        assert status == 200 and body["state"] in ("QUEUED", "RUNNING"), body
        until(srv, state_is(held, "QUEUED", "RUNNING"), "released")

        # A finished job with unfetched outputs: remove refused (409); fetch into the root.
        done = until(srv, state_is(quick, "COMPLETED"), "quick completed")
        assert done["outputs"] == {"fetched": False, "at_risk": True}
        assert done["usage"]["runtime_s"] is not None
        status, body = act(srv, "jobs", quick, "remove")
        assert status == 409, body
        assert "force" in body["message"] + (body.get("hint") or "")
        status, body = act(srv, "jobs", quick, "fetch")
        assert status == 200, body
        assert body["folder"] == f"condor_nb_outputs/{quick}"
        for name in ("notebook", "html"):
            assert body[name] and (root / body[name]).is_file(), body
            assert body[name].startswith(f"condor_nb_outputs/{quick}/")
        assert (root / body["folder"] / "summary.txt").read_text() == "hi"
        executed = json.loads((root / body["notebook"]).read_text())
        assert executed["cells"][-1]["execution_count"] is not None  # the executed one
        assert job(panel(srv), quick)["outputs"] == {"fetched": True, "at_risk": False}  # type: ignore[index]

        # The sweep: one row with its counts; its detail lists 6 procs and the results.
        def sweep_done(a: dict[str, Any]) -> Any:
            row = next((s for s in a["sweeps"] if s["id"] == sweep_id), None)
            ended = row and row["counts"]["COMPLETED"] + row["counts"]["FAILED"] == 6
            return row if ended else None

        row = until(srv, sweep_done, "the sweep ended")
        assert row["total"] == 6 and row["counts"]["FAILED"] == 1 and row["progress"] == 1.0
        assert sweep_id not in {j["id"] for j in panel(srv)["jobs"]}
        status, detail = srv.request("GET", f"/condor_nb/panel/sweeps/{sweep_id}")
        assert status == 200, detail
        procs = detail["procs"]
        assert [p["proc"] for p in procs] == list(range(6))
        assert [p["params"] for p in procs] == [{"i": i} for i in range(6)]
        assert procs[5]["state"] == "FAILED" and "proc 5 fails" in procs[5]["failure"]
        table = detail["results"]
        assert table["columns"][0] == "proc" and "loss" in table["columns"]
        loss = table["columns"].index("loss")
        assert [r[loss] for r in table["rows"]][:5] == [0, 2, 4, 6, 8]

        # A proc with unfetched outputs: remove refused, then forced.
        status, body = act(srv, "jobs", procs[0]["id"], "remove")
        assert status == 409, body
        status, body = act(srv, "jobs", procs[0]["id"], "remove", force=True)
        assert status == 200, body

        # Retry resubmits the failed proc (a new job for index 5).
        status, body = act(srv, "sweeps", sweep_id, "retry")
        assert status == 200, body
        assert len(body["retried"]) == 1
        status, detail = srv.request("GET", f"/condor_nb/panel/sweeps/{sweep_id}")
        assert detail["procs"][5]["id"] == body["retried"][0] != procs[5]["id"]

        # The schedule: its next run and its runs.
        row = next(s for s in panel(srv)["schedules"] if s["id"] == schedule)
        assert row["name"] == "nightly" and row["cron"] == "0 2 * * *"
        assert row["next_run"] and row["next_run"] > time.time() and row["runs"] == []
        assert row["paused"] is False

        # Many clients at once: one snapshot per refresh interval, whatever their number.
        before = stats(srv)
        start = time.monotonic()
        rounds = 4
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            for _ in range(rounds):
                answers = list(pool.map(lambda _: panel(srv)["generated"], range(20)))
                assert len(set(answers)) <= 2, answers
                time.sleep(REFRESH_S)
        elapsed = time.monotonic() - start
        after = stats(srv)
        queries = after["schedd_queries"] - before["schedd_queries"]
        assert after["requests"] - before["requests"] == rounds * 20
        assert 1 <= queries <= elapsed / REFRESH_S + 1, (queries, elapsed)

        # Restarted: the same rows, from the registry and the schedd.
        cli(srv, "rm", "--force", never, held, running)
        until(srv, state_is(held, "REMOVED"), "removed")
        settled = panel(srv)
        srv.restart()
        again = panel(srv)
        assert again["generated"] > settled["generated"]
        fields = ("id", "state", "cluster", "reason", "failure", "outputs", "notebook")
        assert [{k: j[k] for k in fields} for j in again["jobs"]] == [
            {k: j[k] for k in fields} for j in settled["jobs"]
        ]
        assert [s["id"] for s in again["sweeps"]] == [s["id"] for s in settled["sweeps"]]
        assert [s["id"] for s in again["schedules"]] == [schedule]
        assert stats(srv)["schedd_queries"] == 1
    finally:
        subprocess.run([sys.executable, "-m", "condor_nb", "schedule", "delete", schedule],
                       env=srv.env, capture_output=True, timeout=120)  # fmt: skip


def test_bad_requests(srv: Server) -> None:
    status, body = srv.request("GET", "/condor_nb/panel/sweeps/nothex")
    assert status == 400 and "sweep id" in body["message"], body
    status, body = srv.request("POST", "/condor_nb/jobs/abc123/actions", {"action": "explode"})
    assert status == 400 and "fetch" in body["message"], body
    status, body = srv.request(
        "POST", "/condor_nb/jobs/abc123/actions", {"action": "remove", "force": "yes"}
    )
    assert status == 400 and "force" in body["message"], body
    status, body = srv.request("POST", "/condor_nb/sweeps/s0000/actions", {"action": "retry"})
    assert status == 404, body


def test_pool_unreachable_answers_the_registry_rows_and_what_to_do(
    srv: Server, tmp_path: Path, pool_env: dict[str, str]
) -> None:
    """A second server on the same condor_nb home (its registry holds jobs), configured as
    a user would (``--CondorNbJupyter.collector``) with a collector that refuses
    connections: the panel answers (no hang, no 500) with the registry's rows and an
    error saying what failed and what to do; once the collector answers again (the port
    forwards to the pool's), the error is gone and the rows are the schedd's again."""
    srv.notebook("outage.ipynb", ["x = 1"])
    job_id = cli(srv, "submit", "outage.ipynb", "--name", "outage", "--no-cache", "-q").strip()
    gate = Forwarder(collector_address(pool_env))
    other = Server(tmp_path, pool_env)
    other.home = srv.home
    other.env["CONDOR_NB_HOME"] = str(srv.home)
    other.start(f"--CondorNbJupyter.collector={gate.address}",
                f"--CondorNbJupyter.panel_refresh_s={REFRESH_S}")  # fmt: skip
    try:
        started = time.monotonic()
        status, body = other.request("GET", "/condor_nb/panel", timeout=180)
        print(f"panel with the collector refusing: {time.monotonic() - started:.1f} s")
        assert status == 200, body
        error = body["error"]
        assert error and gate.address in error, error
        assert "cannot reach the schedd" in error.lower() and "What to do: check" in error, error
        assert "as condor_nb last saw them" in error, error
        mine = job(body, job_id)
        assert mine is not None and mine["state"] in ("QUEUED", "RUNNING", "COMPLETED"), body
        main = until(srv, lambda a: job(a, job_id) and a, "the job, on the reachable server")
        registry = {j["id"] for j in main["jobs"]}
        assert {j["id"] for j in body["jobs"]} == registry
        assert [s["id"] for s in body["sweeps"]] == [s["id"] for s in main["sweeps"]]
        assert stats(other)["failures"] >= 1
        status, again = other.request("GET", "/condor_nb/panel", timeout=180)
        assert status == 200 and again["error"], again  # still said, still no hang

        gate.open()  # the collector answers again
        back = until(other, lambda a: a["error"] is None and a, "the error gone")
        row = until(other, state_is(job_id, "COMPLETED"), "the job Completed, from the schedd")
        assert {j["id"] for j in back["jobs"]} == registry
        assert row["usage"]["runtime_s"] is not None
    finally:
        other.stop()
        gate.close()


def test_pool_silent_answers_the_registry_rows_while_it_keeps_asking(
    srv: Server, tmp_path: Path, pool_env: dict[str, str]
) -> None:
    """A collector that accepts connections and never answers (a host behind a firewall
    that drops packets: minutes before HTCondor gives up): the panel does not wait for
    it; within the server's bound (wait_s, 30 s) it answers 200 with the registry's rows
    and an error saying HTCondor has not answered yet and what to do."""
    import socket

    srv.notebook("silent.ipynb", ["x = 1"])
    job_id = cli(srv, "submit", "silent.ipynb", "--name", "silent", "--no-cache", "-q").strip()
    main = until(srv, lambda a: job(a, job_id) and a, "the job, on the reachable server")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # the kernel accepts; nobody ever reads or answers
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        other = Server(tmp_path, pool_env)
        other.home = srv.home
        other.env["CONDOR_NB_HOME"] = str(srv.home)
        other.start(f"--CondorNbJupyter.collector={address}")
        try:
            started = time.monotonic()
            status, body = other.request("GET", "/condor_nb/panel", timeout=120)
            print(f"panel with a silent collector: {time.monotonic() - started:.1f} s")
            assert status == 200, body
            assert "has not answered" in body["error"] and address in body["error"], body
            assert "What to do: check that the collector" in body["error"], body
            assert {j["id"] for j in body["jobs"]} >= {j["id"] for j in main["jobs"]}
            assert job(body, job_id) is not None
        finally:
            other.stop()
