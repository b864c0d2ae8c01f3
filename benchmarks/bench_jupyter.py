"""The Jupyter server extension against the pool: list, create, and an event loop that never waits.

- GET /condor_nb/jobs and GET /scheduler/jobs with 1,000 jobs (target < 0.5 s);
- POST /scheduler/jobs (Create Job) against the core ``submit()`` of the same job
  (target < 1.5x);
- /api/status, /condor_nb/profiles, /scheduler/runtime_environments while a
  10,000-job GET /condor_nb/jobs is in flight (target < 100 ms).

Jobs for the big queues are held raw submissions (no spooling: fast), removed after.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from common import Row, ensure_pool, median_time, row, write_notebook
from lookalikes import remove_cluster, submit_lookalikes

TOKEN = "bench-token"


class Server:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "CONDOR_NB_HOME": str(base / "home"),
            "JUPYTER_DATA_DIR": str(base / "data"),
        }
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        cmd = [
            sys.executable,
            "-m",
            "jupyter",
            "server",
            "--no-browser",
            f"--port={self.port}",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={self.root}",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
        ]
        log = (self.base / "server.log").open("wb")
        self.proc = subprocess.Popen(
            cmd, env=self.env, stdout=log, stderr=log, start_new_session=True
        )
        for _ in range(300):
            try:
                self.call("GET", "/api/status")
                time.sleep(2)  # let the worker processes warm up
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("jupyter server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"token {TOKEN}")
        with urllib.request.urlopen(req, timeout=300) as resp:
            text = resp.read().decode()
            return json.loads(text) if text else None


def _fill(n: int, prefix: str, home: Path) -> int:
    """n held jobs that look like jobs of the condor_nb home ``home`` (raw, no spooling)."""
    return submit_lookalikes(home, n, prefix)


def _remove(cluster: int) -> None:
    remove_cluster(cluster)


def _link_scheduler_rows(srv: Server, ids: list[str]) -> None:
    """jupyter-scheduler rows for existing condor_nb jobs (as if created through the UI)."""
    from condor_nb_jupyter.links import Links
    from jupyter_scheduler.orm import Job, create_session

    db = f"sqlite:///{srv.base / 'data' / 'scheduler.sqlite'}"
    links = Links(db)
    with create_session(db)() as session:
        rows = [
            Job(
                name=f"bench {cid}",
                input_filename="load.ipynb",
                status="QUEUED",
                runtime_environment_name="personal",
                output_formats=[],
            )
            for cid in ids
        ]
        session.add_all(rows)
        session.commit()
        job_ids = [r.job_id for r in rows]
    for job_id, cid in zip(job_ids, ids, strict=True):
        links.add_job(job_id, condor_nb_id=cid)


def list_rows(n: int = 1000, repeats: int = 5) -> list[Row]:
    base = Path(tempfile.mkdtemp(prefix="cnb-bench-jupyter-"))
    cluster = _fill(n, "l", base / "home")
    try:
        with Server(base) as srv:
            start = time.perf_counter()
            first = len(srv.call("GET", "/condor_nb/jobs")["jobs"])
            fill_s = time.perf_counter() - start
            ours = median_time(lambda: srv.call("GET", "/condor_nb/jobs"), repeats)
            _link_scheduler_rows(srv, [f"l{i:07x}" for i in range(n)])
            sched_first = median_time(lambda: srv.call("GET", "/scheduler/jobs"), 1)
            sched = median_time(lambda: srv.call("GET", "/scheduler/jobs"), repeats)
    finally:
        _remove(cluster)
    return [
        row(
            f"GET /condor_nb/jobs, {first:,} jobs",
            ours,
            None,
            "< 0.5 s",
            f"first call (registry fill) {fill_s:.2f} s",
        ),
        row(
            f"GET /scheduler/jobs, {n:,} open jobs refreshed from the schedd",
            sched,
            None,
            "< 0.5 s",
            f"first call {sched_first:.2f} s",
        ),
    ]


def create_rows(repeats: int = 5) -> list[Row]:
    from condor_nb import api

    base = Path(tempfile.mkdtemp(prefix="cnb-bench-create-"))
    with Server(base) as srv:
        write_notebook(srv.root / "hello.ipynb", ["print('hi', n)"], params="n = 1")
        body = {
            "input_uri": "hello.ipynb",
            "runtime_environment_name": "personal",
            "name": "bench create",
            "parameters": {"n": "3"},
            "output_formats": ["ipynb"],
        }
        srv.call("POST", "/scheduler/jobs", body)  # warm
        ui = median_time(lambda: srv.call("POST", "/scheduler/jobs", body), repeats)
        os.environ["CONDOR_NB_HOME"] = str(base / "core-home")
        nb = str(srv.root / "hello.ipynb")
        api.submit(nb, {"n": 3}, cache=False)  # warm
        core = median_time(lambda: api.submit(nb, {"n": 3}, cache=False), repeats)
        jobs = api.jobs()
        for job in jobs:
            job.remove()
        for entry in srv.call("GET", "/scheduler/jobs")["jobs"]:
            srv.call("PATCH", f"/scheduler/jobs/{entry['job_id']}", {"status": "STOPPED"})
    return [row("POST /scheduler/jobs (Create Job) vs core submit()", ui, core, "< 1.5x")]


async def _latencies(srv: Server) -> tuple[list[float], list[float]]:
    """Full 10,000-job listings back to back for >= 3 s; other requests sampled meanwhile."""
    from tornado.httpclient import AsyncHTTPClient

    client = AsyncHTTPClient()
    headers = {"Authorization": f"token {TOKEN}"}
    slow_times: list[float] = []

    async def slow_queries() -> None:
        started = time.perf_counter()
        while time.perf_counter() - started < 3.0 or len(slow_times) < 2:
            t0 = time.perf_counter()
            await client.fetch(
                srv.url + "/condor_nb/jobs?refresh=full", headers=headers, request_timeout=600
            )
            slow_times.append(time.perf_counter() - t0)

    slow = asyncio.ensure_future(slow_queries())
    await asyncio.sleep(0.2)
    samples = []
    while not slow.done():
        for path in ("/api/status", "/condor_nb/profiles", "/scheduler/runtime_environments"):
            t0 = time.perf_counter()
            await client.fetch(srv.url + path, headers=headers)
            samples.append(time.perf_counter() - t0)
        await asyncio.sleep(0.05)
    await slow
    return slow_times, samples


def busy_rows(n: int = 10_000) -> list[Row]:
    base = Path(tempfile.mkdtemp(prefix="cnb-bench-busy-"))
    cluster = _fill(n, "q", base / "home")
    try:
        with Server(base) as srv:
            slow_times, samples = asyncio.run(_latencies(srv))
    finally:
        _remove(cluster)
    med, worst = statistics.median(samples), max(samples)
    slow = statistics.median(slow_times)
    return [
        row(
            f"other requests while {n:,}-job listings run (each {slow:.2f} s)",
            med,
            None,
            "< 0.1 s",
            f"{len(samples)} requests, max {worst * 1000:.0f} ms",
        )
    ]


def run() -> list[Row]:
    ensure_pool()
    return [*list_rows(), *create_rows(), *busy_rows()]


if __name__ == "__main__":
    for r in run():
        print(json.dumps(r))
