"""The condor_nb panel's REST answer (GET /condor_nb/panel) on a big queue, and its schedd load.

- 1,000 jobs and 10 sweeps of 100 procs (held look-alike jobs: they never run), against
  the raw htcondor2 query of the same jobs (target: answer < 0.3 s);
- the answer served from the shared snapshot, and the answer that takes a new one;
- 5 clients polling every second for 30 s: the schedd queries counted by the server
  (GET /condor_nb/panel/stats; target: about 30 / refresh_s, whatever the clients).

    .venv/bin/python benchmarks/bench_panel.py
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench_jupyter import Server
from common import Row, ensure_pool, raw_schedd, row
from lookalikes import remove_cluster, submit_lookalikes

JOBS, SWEEPS, PROCS = 1_000, 10, 100
CLIENTS, POLL_S, DURATION_S = 5, 1.0, 30.0


def _sweep_lookalikes(home: Path, sweep: int) -> int:
    """One held cluster of PROCS procs that look like a sweep of the condor_nb home."""
    import htcondor2

    from condor_nb.spec.quoting import encode_text

    _, schedd = raw_schedd()
    sweep_id = f"s{sweep:08x}"
    description = {
        "executable": "/bin/true",
        "transfer_executable": "false",
        "initialdir": "/tmp",
        "hold": "true",
        "MY.CondorNbId": '"$(nbid)"',
        "MY.CondorNbName": '"grid[$(idx)]"',
        "MY.CondorNbNotebook": '"/load/fit.ipynb"',
        "MY.CondorNbProfile": '"personal"',
        "MY.CondorNbJobDir": f'"{encode_text(str(home))}/sweeps/{sweep_id}"',
        "MY.CondorNbSweep": f'"{sweep_id}"',
        "MY.CondorNbSweepIndex": "$(idx)",
    }
    items = [{"nbid": f"w{sweep:02x}{i:05x}", "idx": str(i)} for i in range(PROCS)]
    result = schedd.submit(htcondor2.Submit(description), itemdata=iter(items))
    return int(result.cluster())


def _get(srv: Server, path: str) -> float:
    start = time.perf_counter()
    srv.call("GET", path)
    return time.perf_counter() - start


def run() -> list[Row]:
    ensure_pool()
    base = Path(tempfile.mkdtemp(prefix="cnb-bench-panel-"))
    home = base / "home"
    os.environ["CONDOR_NB_HOME"] = str(home)
    clusters = [submit_lookalikes(home, JOBS, "p")]
    try:
        clusters += [_sweep_lookalikes(home, s) for s in range(SWEEPS)]
        from condor_nb import api
        from condor_nb.settings import load_settings
        from condor_nb.store import tracking

        api.rebuild_registry()  # the sweeps' rows, as `condor_nb registry rebuild` makes them
        settings = load_settings()
        _, schedd = raw_schedd()
        constraint, projection = tracking.base_constraint(settings), list(tracking.PROJECTION)
        raw_times = []
        for _ in range(5):
            start = time.perf_counter()
            found = len(schedd.query(constraint, projection))
            raw_times.append(time.perf_counter() - start)
        raw = statistics.median(raw_times)

        with Server(base) as srv:
            first = _get(srv, "/condor_nb/panel")
            answer = srv.call("GET", "/condor_nb/panel")
            jobs = len(answer["jobs"]) + sum(s["total"] for s in answer["sweeps"])
            refresh_s = float(answer["refresh_s"])
            cached = statistics.median(_get(srv, "/condor_nb/panel") for _ in range(20))
            refreshing = []
            for _ in range(4):  # unpolled for 2 refreshes: each one awaits a new snapshot
                time.sleep(2 * refresh_s + 0.2)
                refreshing.append(_get(srv, "/condor_nb/panel"))
            body = len(json.dumps(answer))

            before = srv.call("GET", "/condor_nb/panel/stats")
            times: list[float] = []
            stop = time.monotonic() + DURATION_S

            def poll() -> None:
                while time.monotonic() < stop:
                    times.append(_get(srv, "/condor_nb/panel"))
                    time.sleep(POLL_S)

            threads = [threading.Thread(target=poll) for _ in range(CLIENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            after = srv.call("GET", "/condor_nb/panel/stats")
    finally:
        for cluster in clusters:
            remove_cluster(cluster)
    queries = after["schedd_queries"] - before["schedd_queries"]
    calls = after["schedd_calls"] - before["schedd_calls"]
    requests = after["requests"] - before["requests"]
    expected = DURATION_S / refresh_s
    worst = max(times)
    label = f"{JOBS:,} jobs + {SWEEPS} sweeps x {PROCS}"
    return [
        row(f"GET /condor_nb/panel, {label}, from the snapshot (vs raw query of {found:,} ads)",
            cached, raw, "< 0.3 s", f"{jobs:,} jobs in the answer, {body / 1e6:.2f} MB; "
            f"first answer after start (workers starting, full look) {first:.2f} s"),
        row(f"GET /condor_nb/panel, {label}, taking a new snapshot (vs raw query)",
            statistics.median(refreshing), raw, "< 0.3 s",
            f"max {max(refreshing):.2f} s"),
        {"name": f"schedd queries, {CLIENTS} clients polling every {POLL_S:.0f} s for "
                 f"{DURATION_S:.0f} s (refresh {refresh_s:.0f} s)",
         "condor_nb_s": None, "raw_s": None, "ratio": None,
         "target": f"~{expected:.0f} queries",
         "note": f"{queries} snapshots ({calls} schedd calls) for {requests} requests; "
                 f"answers median {statistics.median(times) * 1000:.0f} ms, "
                 f"max {worst:.2f} s"},
    ]  # fmt: skip


if __name__ == "__main__":
    for r in run():
        print(json.dumps(r))
