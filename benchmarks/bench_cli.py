"""CLI start-up and `condor_nb q` with a big queue, as whole processes.

The raw side of `q` is a Python process that imports htcondor2, locates the schedd
and runs the same constrained query with the same projection (what a hand-written
script would do), and the same query timed inside a warm process.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import Row, cli, cli_env, process_time, row

RAW_Q = """
import sys, time
from condor_nb.condor import schedd
from condor_nb.store import tracking
from condor_nb.settings import load_settings
s = load_settings()
h = schedd.configure_bindings(s)
sd = h.Schedd(h.Collector().locateAll(h.DaemonType.Schedd)[0])
ads = sd.query(tracking.base_constraint(s), list(tracking.PROJECTION))
print(len(ads))
"""


def _median_process(cmd: list[str], env: dict[str, str], repeats: int) -> float:
    return statistics.median(process_time(cmd, env) for _ in range(repeats))


def cold_start(repeats: int = 7) -> list[Row]:
    home = Path(tempfile.mkdtemp(prefix="cnb-cli-"))
    env = cli_env(home)
    process_time(cli("q"), env)  # creates the registry
    bare = _median_process([sys.executable, "-c", "pass"], env, repeats)
    helps = _median_process(cli("--help"), env, repeats)
    q_empty = _median_process(cli("q"), env, repeats)
    return [
        row("`condor_nb --help` cold start", helps, None, "<= 0.3 s",
            f"bare interpreter start {bare:.3f} s"),
        row("`condor_nb q`, empty queue", q_empty, None, "<= 0.5 s"),
    ]  # fmt: skip


def _fill_queue(n: int, home: Path) -> int:
    """n held condor_nb-like jobs of ``home`` in one cluster (no spool: fast)."""
    from common import raw_schedd

    from condor_nb.spec.quoting import encode_attr

    htcondor2, schedd = raw_schedd()
    sub = htcondor2.Submit({
        "executable": "/bin/true", "transfer_executable": "false", "hold": "true",
        "initialdir": "/tmp", "MY.CondorNbId": '"$(nbid)"', "MY.CondorNbName": '"bench"',
        "MY.CondorNbNotebook": '"/bench/load.ipynb"', "MY.CondorNbProfile": '"personal"',
        "MY.CondorNbJobDir": encode_attr(f"{home}/jobs/bench"),
    })  # fmt: skip
    items = [{"nbid": f"b{i:07x}"} for i in range(n)]
    result = schedd.submit(sub, itemdata=iter(items))
    return int(result.cluster())


def _remove_cluster(cluster: int) -> None:
    from common import raw_schedd

    htcondor2, schedd = raw_schedd()
    schedd.act(htcondor2.JobAction.Remove, f"ClusterId == {cluster}", ("bench done", 0))


def q_big_queue(n: int = 10_000, repeats: int = 5) -> list[Row]:
    from common import raw_schedd

    from condor_nb.condor import schedd as cnb_schedd
    from condor_nb.settings import load_settings
    from condor_nb.store import tracking

    home = Path(tempfile.mkdtemp(prefix="cnb-q-"))
    env = cli_env(home)
    os.environ["CONDOR_NB_HOME"] = str(home)  # the in-process queries look at the same home
    cluster = _fill_queue(n, home)
    try:
        first = process_time(cli("q"), env)  # first sight: inserts n registry rows
        time.sleep(3)  # then the steady state a user polls in (see tracking.SYNC_MARGIN)
        ours = _median_process(cli("q"), env, repeats)
        raw_proc = _median_process([sys.executable, "-c", RAW_Q], env, repeats)
        settings = load_settings()
        _, schedd = raw_schedd()
        proj = list(tracking.PROJECTION)
        constraint = tracking.base_constraint(settings)
        start = time.perf_counter()
        schedd.query(constraint, proj)
        raw_inproc = time.perf_counter() - start
        client = cnb_schedd.client_for(settings)
        start = time.perf_counter()
        client.query(constraint, proj)
        ours_inproc = time.perf_counter() - start
    finally:
        _remove_cluster(cluster)
    return [
        row(f"`condor_nb q`, {n:,} jobs in the queue (whole process)", ours, raw_proc,
            "<= 1.0 s and <= 1.5x", f"first q (registry fill) {first:.2f} s"),
        row(f"query of {n:,} jobs in-process (client vs raw)", ours_inproc, raw_inproc, "-"),
    ]  # fmt: skip
