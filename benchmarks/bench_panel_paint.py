"""First paint of the condor_nb panel in JupyterLab (headless Chromium): 1,000 jobs and
10 sweeps of 100 procs.

Measures, in a real JupyterLab page, the time from clicking the "HTCondor jobs" side tab
(the model starts polling then) to the first rows painted: the first page of jobs and
every sweep row in the DOM, after the next animation frame. GET /condor_nb/panel is
answered by the browser itself (Playwright route) with a payload of the contract's shape
and size, so the figure is the frontend's share: request, JSON parse, React render,
layout. The server's answer with that data set is panelapi's figure (bench_panel).
Target < 1 s. Each repetition loads JupyterLab afresh (a new model, a reset workspace).

    .venv/bin/python benchmarks/bench_panel_paint.py [--reps 5] [--jobs 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
from urllib.parse import urlparse

TOKEN = "bench-paint-token"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]  # fmt: skip
STATES = ["QUEUED", "RUNNING", "COMPLETED", "FAILED", "HELD", "REMOVED"]


def payload(n_jobs: int = 1000, n_sweeps: int = 10, procs: int = 100) -> dict[str, Any]:
    """A GET /condor_nb/panel answer (contract B) with n_jobs jobs and n_sweeps sweeps."""
    now = time.time()
    jobs = []
    for i in range(n_jobs):
        state = STATES[i % len(STATES)]
        running = state == "RUNNING"
        jobs.append({
            "id": f"j{i:011x}", "name": f"job {i}", "notebook": f"nb/analysis_{i % 17}.ipynb",
            "state": state, "cluster": f"{1000 + i}.0", "submitted": now - i * 60,
            "frontend": "cli",
            "cell": {"number": 3, "total": 7, "source": "total = sum(x)", "since": now - 5}
            if running else None,
            "progress": 2 / 7 if running else None,
            "reason": "no machine has 512 CPUs (RequestCpus)" if state == "QUEUED" else
            ("held by user" if state == "HELD" else None),
            "failure": "cell 4: ZeroDivisionError: division by zero" if state == "FAILED" else None,
            "usage": {"runtime_s": 120.0, "cpu_s": 100.5, "memory_mb": 300, "disk_mb": 12},
            "outputs": {"fetched": False, "at_risk": state in ("COMPLETED", "FAILED")},
        })  # fmt: skip
    sweeps = []
    for s in range(n_sweeps):
        counts = {
            "QUEUED": 10,
            "RUNNING": 20,
            "COMPLETED": 60,
            "FAILED": 5,
            "HELD": 5,
            "REMOVED": 0,
        }
        sweeps.append({"id": f"w{s:011x}", "name": f"sweep {s}", "notebook": "fit.ipynb",
                       "cluster": str(5000 + s), "submitted": now - s * 600, "total": procs,
                       "counts": counts, "progress": 0.65})  # fmt: skip
    return {"generated": now, "refresh_s": 60.0, "jobs": jobs, "sweeps": sweeps, "schedules": []}


class Lab:
    def __init__(self, base: Path) -> None:
        self.base = base
        (base / "root").mkdir(parents=True, exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Lab:
        env = {**os.environ, "CONDOR_NB_HOME": str(self.base / "home"),
               "JUPYTER_DATA_DIR": str(self.base / "data")}  # fmt: skip
        cmd = [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={self.port}",
               f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={self.base / 'root'}",
               "--allow-root", "--ServerApp.ip=127.0.0.1",
               "--ServerApp.jpserver_extensions=jupyterlab=True",
               f"--LabApp.workspaces_dir={self.base / 'workspaces'}"]  # fmt: skip
        log = (self.base / "server.log").open("wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, start_new_session=True)
        for _ in range(600):
            try:
                self.get("/api/status", timeout=5)
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"jupyter server did not start: see {self.base / 'server.log'}")

    def get(self, path: str, timeout: float = 300) -> bytes:
        req = urllib.request.Request(self.url + path)
        req.add_header("Authorization", f"token {TOKEN}")
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return bytes(resp.read())

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)


def _real_queue(home: Path, n_jobs: int, n_sweeps: int) -> list[int]:
    """Held look-alike jobs and sweeps of the condor_nb home ``home`` (bench_panel's data
    set), in its registry; returns their clusters (remove them after)."""
    import bench_panel
    from common import ensure_pool
    from lookalikes import submit_lookalikes

    ensure_pool()
    os.environ["CONDOR_NB_HOME"] = str(home)
    clusters = [submit_lookalikes(home, n_jobs, "p")]
    clusters += [bench_panel._sweep_lookalikes(home, s) for s in range(n_sweeps)]
    from condor_nb import api

    api.rebuild_registry()
    return clusters


def measure(
    reps: int = 5, n_jobs: int = 1000, n_sweeps: int = 10, real: bool = False
) -> list[float]:
    """Seconds from the click on the side tab to the first rows painted, per repetition.

    ``real``: the server answers, from held look-alike jobs on the pool (else the browser
    answers with :func:`payload`)."""
    with tempfile.TemporaryDirectory(prefix="bench-paint-") as tmp:
        clusters = _real_queue(Path(tmp) / "home", n_jobs, n_sweeps) if real else []
        try:
            return _measure(Path(tmp), reps, n_jobs, n_sweeps, real)
        finally:
            if clusters:
                from lookalikes import remove_cluster

                for cluster in clusters:
                    remove_cluster(cluster)


def _measure(base: Path, reps: int, n_jobs: int, n_sweeps: int, real: bool) -> list[float]:
    from playwright.sync_api import sync_playwright

    body = json.dumps(payload(n_jobs, n_sweeps))
    samples: list[float] = []
    tmp = str(base)
    with Lab(base) as lab, sync_playwright() as p:
        if real:
            lab.get("/condor_nb/panel")  # the server's first snapshot, as after any start
        browser = p.chromium.launch_persistent_context(
            str(Path(tmp) / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1400, "height": 900},
        )  # fmt: skip
        page = browser.new_page()
        if not real:
            page.route(
                lambda url: urlparse(url).path.endswith("/condor_nb/panel"),
                lambda route: route.fulfill(status=200, content_type="application/json", body=body),
            )
        for i in range(reps):
            page.goto(f"{lab.url}/lab/workspaces/bench{i}?reset&token={TOKEN}")
            tab = page.locator(".jp-SideBar .lm-TabBar-tab[title='HTCondor jobs']")
            tab.wait_for(timeout=180_000)
            page.wait_for_timeout(1000)  # JupyterLab settled: measure the panel only
            # t0: the click reaches the page; t1: the frame after the rows are in the DOM
            page.evaluate(
                """([n, s]) => {
                  window.__cnbT0 = undefined; window.__cnbT1 = undefined;
                  document.addEventListener('pointerdown', () => {
                    window.__cnbT0 = performance.now();
                  }, {capture: true, once: true});
                  const ready = () => document.querySelectorAll(
                      '#condor-nb-panel li[data-kind="job"]').length >= n &&
                    document.querySelectorAll(
                      '#condor-nb-panel li[data-kind="sweep"]').length === s;
                  const check = () => ready()
                    ? requestAnimationFrame(() => { window.__cnbT1 = performance.now(); })
                    : requestAnimationFrame(check);
                  check();
                }""",
                [min(50, n_jobs), n_sweeps],
            )
            tab.click()
            page.wait_for_function("window.__cnbT1 !== undefined", timeout=120_000)
            seconds = page.evaluate("(window.__cnbT1 - window.__cnbT0) / 1000")
            samples.append(float(seconds))
        browser.close()
    return samples


def run(reps: int = 5) -> list[dict[str, Any]]:
    """The rows for benchmarks/run.py: the frontend alone, then with the real server."""
    rows = []
    for real, how in ((False, "the answer served by the browser"),
                      (True, "the server's answer, held look-alikes on the pool")):  # fmt: skip
        samples = measure(reps, real=real)
        rows.append({"name": "panel first paint, 1,000 jobs + 10 sweeps of 100 procs "
                             f"({'server' if real else 'frontend'}, Chromium)",
                     "condor_nb_s": statistics.median(samples), "raw_s": None, "ratio": None,
                     "target": "< 1 s",
                     "note": f"median of {len(samples)}, max {max(samples):.3f} s; "
                             f"{how}"})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--sweeps", type=int, default=10)
    parser.add_argument("--real", action="store_true", help="the server answers (pool jobs)")
    args = parser.parse_args()
    samples = measure(args.reps, args.jobs, args.sweeps, args.real)
    print(json.dumps({"samples_s": [round(s, 4) for s in samples],
                      "median_s": round(statistics.median(samples), 4)}))  # fmt: skip


if __name__ == "__main__":
    main()
