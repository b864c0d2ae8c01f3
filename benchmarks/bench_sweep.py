"""Sweeps and the cache, against raw htcondor2 doing the same work.

- submit a 1,000-proc sweep (spec to spooled cluster) vs raw bindings submitting
  and spooling the same description, itemdata and files (clusters removed after);
- status of that sweep (one schedd query, registry updated);
- a cache hit inside the API, and as a whole CLI process;
- the results table of 1,000 procs once their outputs are present.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from common import Row, cli, cli_env, process_time, raw_schedd, row, write_notebook

N = 1000


def _setup(work: Path) -> Path:
    os.environ["CONDOR_NB_HOME"] = str(work / "home")
    return write_notebook(work / "sweep.ipynb", ["import condor_nb\ncondor_nb.record('y', a * 2)"],
                          params="a = 0")  # fmt: skip


def sweep_submit(repeats: int = 3) -> list[Row]:
    import condor_nb
    from condor_nb.store.registry import JobRecord  # noqa: F401  (warm imports on both sides)

    work = Path(tempfile.mkdtemp(prefix="cnb-sweep-"))
    nb = _setup(work)
    htcondor2, schedd = raw_schedd()
    ours, raw, status_times, table_times = [], [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        sweep = condor_nb.sweep(nb, grid={"a": list(range(N))}, cache=False)
        ours.append(time.perf_counter() - start)
        description = json.loads((Path(sweep.record.job_dir) / "description.json").read_text())
        from condor_nb.submission.render import ITEM_ID, ITEM_INDEX, ITEM_PARAMS

        items = [{ITEM_ID: f"r{i:07x}", ITEM_INDEX: str(i), ITEM_PARAMS: "{}"} for i in range(N)]
        start = time.perf_counter()
        result = schedd.submit(htcondor2.Submit(description), itemdata=iter(items), spool=True)
        schedd.spool(result)
        raw.append(time.perf_counter() - start)
        schedd.act(htcondor2.JobAction.Remove, f"ClusterId == {result.cluster()}", ("bench", 0))
        for _ in range(3):  # an existing sweep's status, not the first look after submit
            start = time.perf_counter()
            sweep.status()
            status_times.append(time.perf_counter() - start)
        sweep.remove()
        # Outputs as if retrieved: time building the table from them.
        for index, job in sweep.members():
            out = job._files.out_dir
            (out / "_condor_nb_values.json").write_text(json.dumps({"y": index * 2}))
        start = time.perf_counter()
        rows = sweep.results(as_dataframe=False, retrieve=False)
        table_times.append(time.perf_counter() - start)
        assert len(rows) == N and rows[-1]["y"] == 2 * (N - 1)
    shutil.rmtree(work, ignore_errors=True)
    med = statistics.median
    return [
        row(f"submit a {N:,}-proc sweep (spec to spooled cluster)", med(ours), med(raw), "<= 1.25"),
        row(f"status of a {N:,}-proc sweep (one query)", med(status_times), None, "<= 0.3 s"),
        row(f"results table of {N:,} procs (outputs present)", med(table_times), None, "<= 1 s"),
    ]


def cache_hit(repeats: int = 20) -> list[Row]:
    import condor_nb

    work = Path(tempfile.mkdtemp(prefix="cnb-cache-"))
    nb = _setup(work)
    job = condor_nb.submit(nb, parameters={"a": 7})
    job.wait(poll=0.25)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        hit = condor_nb.submit(nb, parameters={"a": 7})
        samples.append(time.perf_counter() - start)
        assert hit.from_cache
    env = cli_env(work / "home")
    proc = statistics.median(
        process_time(cli("submit", str(nb), "-p", "a", "7"), env) for _ in range(5)
    )
    shutil.rmtree(work, ignore_errors=True)
    return [
        row("cache hit inside the API", statistics.median(samples), None, "<= 0.05 s"),
        row("cache hit, whole CLI process", proc, None, "<= 0.5 s"),
    ]
