"""Time to start: submit -> RUNNING, condor_nb against condor_submit on the access point.

condor_submit asks the schedd for a negotiation cycle after submitting (reschedule);
the bindings' ``Schedd.submit()`` does not, so condor_nb sends ``Schedd.reschedule()``
itself (a 23.9 schedd also reschedules by itself on new jobs: docs/developers.md).
On HTCondor's default settings the start then depends on NEGOTIATOR_CYCLE_DELAY
(20 s between cycles), so run enough pairs there; on the personal pool (2 s cycles)
both sides start within a cycle or two.

Pairs are interleaved (condor_nb, then condor_submit), each timed from the start of
the submission to the first poll that sees JobStatus == 2; both jobs are removed
once running. The condor_submit side runs where condor_submit lives, as on an access
point: by default inside the personal pool's root as the pool's user; for another
pool give the command with CONDOR_NB_BENCH_SUBMIT_CMD (e.g. "ssh ap condor_submit",
it gets the submit file on stdin: "-" is appended) and the pool with
CONDOR_NB_CONDOR_CONFIG / CONDOR_NB_OWNER as for the other benchmarks.

condor_nb submits remotely with spooling; condor_submit on the access point does
not spool. The schedd's spool worker sleeps 1 s before releasing spooled jobs (its
"NAP TIME", so that output timestamps differ from input ones) and then reschedules
by itself; that second is the floor of the gap on any pool.
"""

from __future__ import annotations

import os
import re
import shlex
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from common import Row, raw_schedd, row, write_notebook

POLL = 0.2
SLEEP_S = 20  # long enough to be seen running; removed once running
SUBMIT_FILE = f"""universe = vanilla
executable = /bin/sleep
arguments = {SLEEP_S}
request_cpus = 1
request_memory = 64
request_disk = 1024
should_transfer_files = YES
+CondorNbBenchStart = true
queue
"""


def _condor_submit() -> int:
    """condor_submit on the access point; returns the cluster id."""
    given = os.environ.get("CONDOR_NB_BENCH_SUBMIT_CMD")
    if given:
        out = subprocess.run(
            [*shlex.split(given), "-terse", "-"], input=SUBMIT_FILE, capture_output=True,
            text=True, check=True, timeout=120,
        ).stdout  # fmt: skip
    else:
        from condor_nb import pool

        user = pool.owner()
        out = pool.run_in_root(
            ["runuser", "-u", user, "--", "sh", "-c",
             f"cd /tmp && printf '%s' {shlex.quote(SUBMIT_FILE)} | condor_submit -terse -"],
        ).stdout  # fmt: skip
    match = re.search(r"(\d+)\.\d+", out)
    if not match:
        raise RuntimeError(f"condor_submit printed no job id: {out!r}")
    return int(match.group(1))


def _until_running(schedd: Any, constraint: str, start: float) -> float:
    for _ in range(int(600 / POLL)):
        ads = schedd.query(constraint, ["JobStatus"])
        if ads and ads[0].get("JobStatus") == 2:
            return time.perf_counter() - start
        time.sleep(POLL)
    raise RuntimeError(f"{constraint}: not running after 600 s")


def start_latency(pairs: int = 3) -> list[Row]:
    import condor_nb

    htcondor2, schedd = raw_schedd()
    work = Path(tempfile.mkdtemp(prefix="cnb-bench-start-"))
    os.environ["CONDOR_NB_HOME"] = str(work / "home")
    nb = write_notebook(work / "start.ipynb", [f"import time\ntime.sleep({SLEEP_S})"])
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(pairs):
        start = time.perf_counter()
        job = condor_nb.submit(nb, name=f"start{i}", cache=False)
        constraint = f'CondorNbId == "{job.id}"'
        try:
            ours.append(_until_running(schedd, constraint, start))
        finally:
            schedd.act(htcondor2.JobAction.Remove, constraint)
        start = time.perf_counter()
        cluster = _condor_submit()
        try:
            theirs.append(_until_running(schedd, f"ClusterId == {cluster}", start))
        finally:
            schedd.act(htcondor2.JobAction.Remove, f"ClusterId == {cluster}")
    note = (
        f"{pairs} pairs; condor_nb {', '.join(f'{t:.1f}' for t in ours)} s; "
        f"condor_submit {', '.join(f'{t:.1f}' for t in theirs)} s"
    )
    return [
        row(
            "submit -> RUNNING (vs condor_submit on the access point)",
            statistics.median(ours), statistics.median(theirs), "-", note,
        )
    ]  # fmt: skip


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", action="store_true",
                        help="on the site-like pool of tests/sites with HTCondor's default "
                        "timings (needs root; see benchmarks/site_start.py)")  # fmt: skip
    parser.add_argument("--phase", choices=["idle", "busy"], default="idle",
                        help="--site: the negotiator's phase at each submission")  # fmt: skip
    parser.add_argument("--cycle-delay", type=int,
                        help="--site: NEGOTIATOR_CYCLE_DELAY (default 20)")  # fmt: skip
    parser.add_argument("--pairs", type=int,
                        default=int(os.environ.get("CONDOR_NB_BENCH_PAIRS", "3")))  # fmt: skip
    args = parser.parse_args()
    if args.site:
        from site_start import site_start_latency

        rows = site_start_latency(args.pairs, args.phase, args.cycle_delay)
    else:
        from common import ensure_pool

        ensure_pool()
        rows = start_latency(args.pairs)
    for r in rows:
        print(r)
