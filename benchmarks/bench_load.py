"""Issue 7's load: 10,000 held jobs in the queue and 1,000 completed in history.

The history jobs really ran (local universe ``/bin/true``, not spooled, so they
leave the queue for the history file as soon as they end). Rows:

- ``condor_nb registry rebuild`` (queue and history) against a raw process doing
  the same queue query and history query;
- ``condor_nb q`` with the 11,000-row registry against the raw queue query process;
- GET /condor_nb/jobs of a Jupyter server with that home, against the raw query;
- the Jupyter server's memory (server and worker processes) over 1,000 status
  refreshes of a 200-job home.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_cli import RAW_Q, _median_process
from bench_jupyter import Server, _fill, _remove
from common import Row, cli, cli_env, process_time, raw_schedd, row
from lookalikes import submit_lookalikes
from procmem import tree_rss_mb

RAW_REBUILD = (
    RAW_Q
    + """
hist = list(sd.history(tracking.base_constraint(s), list(tracking.PROJECTION), match=-1))
print(len(hist))
"""
)


def _fill_history(n: int, home: Path, timeout: float = 900) -> float:
    """n jobs of ``home`` that run and end (local universe); seconds until all are history."""
    _, schedd = raw_schedd()
    start = time.perf_counter()
    cluster = submit_lookalikes(home, n, "h", held=False, universe="local")
    deadline = time.monotonic() + timeout
    while schedd.query(f"ClusterId == {cluster}", ["ProcId"]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{n} local-universe jobs did not all end in {timeout:.0f} s")
        time.sleep(2)
    return time.perf_counter() - start


def big_home_rows(queued: int = 10_000, history: int = 1_000, repeats: int = 5) -> list[Row]:
    base = Path(tempfile.mkdtemp(prefix="cnb-bench-load-"))
    home = base / "home"
    env = cli_env(home)
    cluster = _fill(queued, "q", home)
    try:
        filled = _fill_history(history, home)
        rebuild = process_time(cli("registry", "rebuild"), env)
        raw_rebuild = _median_process([sys.executable, "-c", RAW_REBUILD], env, 1)
        process_time(cli("q"), env)
        time.sleep(3)  # the steady state a user polls in (see tracking.SYNC_MARGIN)
        q = _median_process(cli("q"), env, repeats)
        raw_q = _median_process([sys.executable, "-c", RAW_Q], env, repeats)
        with Server(base) as srv:
            srv.call("GET", "/condor_nb/jobs")
            samples = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                listed = len(srv.call("GET", "/condor_nb/jobs")["jobs"])
                samples.append(time.perf_counter() - t0)
        jobs = statistics.median(samples)
        from condor_nb.settings import load_settings
        from condor_nb.store import tracking

        settings = load_settings(home=str(home))
        _, schedd = raw_schedd()
        t0 = time.perf_counter()
        schedd.query(tracking.base_constraint(settings), list(tracking.PROJECTION))
        raw_query = time.perf_counter() - t0
    finally:
        _remove(cluster)
    total = f"{queued:,} held + {history:,} in history"
    return [
        row(f"`condor_nb registry rebuild`, {total}", rebuild, raw_rebuild, "-",
            f"{history:,} local-universe jobs ran and ended in {filled:.0f} s"),
        row(f"`condor_nb q`, {total} (whole process)", q, raw_q, "<= 1.0 s and <= 1.5x"),
        row(f"GET /condor_nb/jobs, {total} ({listed:,} listed)", jobs, raw_query, "< 0.5 s"),
    ]  # fmt: skip


def memory_rows(jobs: int = 200, refreshes: int = 1000) -> list[Row]:
    base = Path(tempfile.mkdtemp(prefix="cnb-bench-mem-"))
    cluster = _fill(jobs, "m", base / "home")
    try:
        with Server(base) as srv:
            assert srv.proc is not None
            marks = {}
            for i in range(1, refreshes + 1):
                srv.call("GET", "/condor_nb/jobs?refresh=1")
                srv.call("GET", "/scheduler/jobs")
                if i in (100, 500, refreshes):
                    marks[i] = tree_rss_mb(srv.proc.pid)
    finally:
        _remove(cluster)
    growth = marks[refreshes] - marks[100]
    rows = [
        row(f"Jupyter server + workers RSS growth, refreshes 100 -> {refreshes:,} (MB)",
            growth, None, "flat (< 20 MB)",
            ", ".join(f"{k}: {v:.0f} MB" for k, v in marks.items())),
    ]  # fmt: skip
    rows[0]["unit"] = "MB"
    return rows


def run() -> list[Row]:
    return [*big_home_rows(), *memory_rows()]


if __name__ == "__main__":
    for r in run():
        print(json.dumps(r))
