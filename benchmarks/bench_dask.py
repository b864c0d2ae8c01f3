"""Dask session start-up against the pool's own floor.

- ours: ``condor_nb.dask.dask_session(N)`` called (scheduler start, options, one
  spooled cluster of N worker jobs) until the first, then the N-th, worker has
  registered with the scheduler (polled every 20 ms, in process).
- raw floor: raw ``htcondor2`` submitting and spooling one cluster of N trivial
  jobs (the same Python, connecting once to a TCP listener here) until the first,
  then the N-th, connection arrives: the pool's own time to start N jobs.
Pairs are interleaved; each session is closed (its jobs removed) before the next.

    .venv/bin/python benchmarks/bench_dask.py [N] [REPEATS]
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row, ensure_pool, raw_schedd, row

POLL = 0.02
TIMEOUT = 180.0


def _mount_python() -> None:
    """Make this venv visible to the personal pool's jobs (no restart)."""
    if os.environ.get("CONDOR_NB_CONDOR_CONFIG"):
        return
    from condor_nb import pool
    from condor_nb.pool.paths import pool_paths
    from condor_nb.pool.runtime import load_runtime

    state = load_runtime(pool_paths())
    assert state is not None
    mounts = sorted({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()})
    pool.start(mounts=mounts, port=state.port, cpus=state.cpus, memory_mb=state.memory_mb)


def _ours(n: int) -> tuple[float, float]:
    from condor_nb.dask import dask_session

    start = time.perf_counter()
    session = dask_session(n, python=sys.executable, cpus=1, memory="512MB", disk="100MB",
                           dashboard_address=":0")  # fmt: skip
    first = None
    try:
        while session.cluster.connected_workers() < n:
            if first is None and session.cluster.connected_workers() >= 1:
                first = time.perf_counter() - start
            if time.perf_counter() - start > TIMEOUT:
                raise TimeoutError(session.cluster.explain(n))
            time.sleep(POLL)
        done = time.perf_counter() - start
    finally:
        session.close()
    return (first if first is not None else done), done


def _raw(n: int, htcondor2: Any, schedd: Any, staging: Path) -> tuple[float, float]:
    from condor_nb.dask.description import quote_arguments

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    arrivals: list[float] = []

    def accept() -> None:
        listener.settimeout(TIMEOUT)
        for _ in range(n):
            conn, _ = listener.accept()
            arrivals.append(time.perf_counter())
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    code = f"import socket; socket.create_connection(('127.0.0.1', {port})).close()"
    sub = htcondor2.Submit({
        "executable": sys.executable, "transfer_executable": "false",
        "arguments": quote_arguments(["-S", "-c", code]), "initialdir": str(staging),
        "should_transfer_files": "YES", "when_to_transfer_output": "ON_EXIT",
        "request_cpus": "1", "request_memory": "512", "request_disk": "102400",
        "leave_in_queue": "false", "MY.CondorNbBench": "true",
    })  # fmt: skip
    start = time.perf_counter()
    result = schedd.submit(sub, spool=True, count=n)
    schedd.spool(result)
    thread.join(TIMEOUT)
    listener.close()
    schedd.act(htcondor2.JobAction.Remove, f"ClusterId == {result.cluster()}", ("bench", 0))
    if len(arrivals) < n:
        raise TimeoutError(f"only {len(arrivals)} of {n} raw jobs started")
    return arrivals[0] - start, arrivals[-1] - start


def run(n: int = 3, repeats: int = 3) -> list[Row]:
    ensure_pool()
    _mount_python()
    staging = Path(tempfile.mkdtemp(prefix="cnb-bench-dask-"))
    os.environ.setdefault("CONDOR_NB_HOME", str(staging / "home"))
    htcondor2, schedd = raw_schedd()
    _ours(1)  # warm: imports, the schedd client, the pool's claim
    ours_first, ours_all, raw_first, raw_all = [], [], [], []
    for _ in range(repeats):
        first, done = _ours(n)
        ours_first.append(first)
        ours_all.append(done)
        time.sleep(2)  # let the pool release the slots
        first, done = _raw(n, htcondor2, schedd, staging)
        raw_first.append(first)
        raw_all.append(done)
        time.sleep(2)
    med = statistics.median
    note = f"{repeats} pairs; raw = {n} trivial jobs of one spooled cluster"
    return [
        row(f"dask session: first of {n} workers connected", med(ours_first), med(raw_first),
            "<= 1.3", note),
        row(f"dask session: all {n} workers connected", med(ours_all), med(raw_all), "-", note),
    ]  # fmt: skip


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    for r in run(*args):
        print(r)
