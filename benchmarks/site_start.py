"""Time to start on the site-like pool (tests/sites), with HTCondor's default timings.

``python benchmarks/bench_start.py --site`` (root: it builds the site of tests/sites,
then tears it down). condor_nb submits from the notebook host (remote, spooled,
``condor_nb.submit()`` in an already started Python, as in a notebook);
condor_submit of an equivalent job runs ON THE ACCESS POINT as the same user; and
HTCondor's own remote spooled submission, ``condor_submit -remote AP -spool`` of an
equivalent job with an input file, runs on the notebook host (the pool root's
condor_submit, same /etc/condor/condor_config and token as condor_nb). All are
timed from the moment before the submission to the moment the schedd writes
``JobStatus = 2`` into its job queue log (read from the AP's root every 50 ms: the
same measure for all, no query added to the schedd).

The negotiator's phase decides most of the time to start (NEGOTIATOR_INTERVAL 60 s,
NEGOTIATOR_CYCLE_DELAY 20 s: a cycle never starts within 20 s of the last one), so
each submission starts at the same phase, chosen with ``--phase``: "idle" (the last
cycle began >= 25 s ago: a reschedule starts one at once) or "busy" (5 s after a
cycle began: any reschedule waits for the 20 s). Triples alternate their order
(condor_nb first, then last). The NegotiatorLog's cycle starts after each
submission are kept as evidence.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from common import ROOT, Row, row, write_notebook

sys.path.insert(0, str(ROOT / "tests" / "sites"))

SLEEP_S = 90  # each job is removed as soon as it runs
SUBMIT_FILE = f"""universe = vanilla
executable = /bin/sleep
arguments = {SLEEP_S}
request_cpus = 1
request_memory = 1024
request_disk = 1048576
should_transfer_files = YES
+CondorNbBenchStart = true
queue
"""
#: condor_submit -remote -spool on the notebook host: the same job, with an input file.
REMOTE_SUBMIT_FILE = SUBMIT_FILE.replace(
    "queue\n", "initialdir = {work}\ntransfer_input_files = input.txt\nqueue\n"
)
NB_SUBMIT = """
import sys, time, condor_nb
t0 = time.time()
job = condor_nb.submit(sys.argv[1], name=sys.argv[2], cache=False)
print(t0, time.time(), job.id)
"""
CYCLE = re.compile(r"^(\d\d/\d\d/\d\d \d\d:\d\d:\d\d) -+ Started Negotiation Cycle", re.M)


def _cycles(site: Any) -> list[float]:
    return [
        datetime.strptime(s, "%m/%d/%y %H:%M:%S").timestamp()
        for s in CYCLE.findall(site.log("cm", "NegotiatorLog"))
    ]


def _phase(site: Any, phase: str) -> None:
    """Until the negotiator is at ``phase`` (see the module's docstring)."""
    if phase == "busy":
        seen = len(_cycles(site))
        while len(_cycles(site)) == seen:
            time.sleep(0.2)
        time.sleep(max(0.0, _cycles(site)[-1] + 5 - time.time()))
        return
    while True:
        cycles = _cycles(site)
        since = time.time() - (cycles[-1] if cycles else 0)
        if 25 <= since < 40:
            return
        time.sleep(0.5 if since < 25 else max(0.5, 61 - since))


def _running(queue: Any, key: str, after: float, limit: float = 300) -> float:
    end = time.time() + limit
    while time.time() < end:
        for w in queue.of(key, "JobStatus"):
            if w.value == "2" and w.seen >= after:
                return float(w.seen)
        time.sleep(0.05)
    raise RuntimeError(f"job {key} not running {limit:.0f} s after its submission")


def _gone(site: Any, cluster: str) -> None:
    site.run("ap", ["condor_rm", cluster], check=False)
    for _ in range(120):
        left = site.run("ap", ["condor_q", cluster, "-af", "ClusterId"], check=False).stdout
        if not left.strip():
            return
        time.sleep(0.5)


def _cycle_delay(site: Any, seconds: int) -> None:
    """An admin's NEGOTIATOR_CYCLE_DELAY on the central manager (default: 20)."""
    folder = site.hosts["cm"].root / "etc/condor/config.d"
    (folder / "95-bench-cycle-delay").write_text(f"NEGOTIATOR_CYCLE_DELAY = {seconds}\n")
    site.run("cm", ["condor_reconfig"])
    for _ in range(100):
        shown = site.run("cm", ["condor_config_val", "-negotiator", "NEGOTIATOR_CYCLE_DELAY"])
        if shown.stdout.strip() == str(seconds):
            return
        time.sleep(0.2)
    raise RuntimeError("the negotiator did not take NEGOTIATOR_CYCLE_DELAY")


def site_start_latency(
    pairs: int = 5, phase: str = "idle", cycle_delay: int | None = None
) -> list[Row]:
    from deploy import DOMAIN, USER, create_site
    from site_watch import QueueLogWatcher, ap_queue_log

    work = Path(tempfile.mkdtemp(prefix="cnb-bench-site-start-"))
    nb = write_notebook(work / "start.ipynb", [f"import time\ntime.sleep({SLEEP_S})"])
    env = {"CONDOR_NB_HOME": str(work / "home")}
    site = create_site()
    if cycle_delay is not None:
        _cycle_delay(site, cycle_delay)
    (work / "input.txt").write_text("x" * 4096, encoding="utf-8")
    remote_file = work / "remote.sub"
    remote_file.write_text(REMOTE_SUBMIT_FILE.format(work=work), encoding="utf-8")
    ours: list[float] = []
    theirs: list[float] = []
    remote: list[float] = []
    evidence: list[str] = []
    try:
        with QueueLogWatcher(ap_queue_log(site), every=0.05) as queue:

            def condor_nb_once(i: int) -> float:
                _phase(site, phase)
                out = site.client_run(
                    [sys.executable, "-c", NB_SUBMIT, str(nb), f"start{i}"], env=env, cwd=work,
                    check=True,
                ).stdout.split()  # fmt: skip
                t0, job_id = float(out[0]), out[2]
                key = queue.proc_key("CondorNbId", f'"{job_id}"')
                took = _running(queue, key, t0) - t0
                evidence.append(f"condor_nb {took:.1f} s, cycles at {_after(site, t0)}")
                _gone(site, key.split(".")[0])
                return took

            def condor_submit_once() -> float:
                _phase(site, phase)
                t0 = time.time()
                out = site.run(
                    "ap", ["runuser", "-u", USER, "--", "sh", "-c",
                           "cd && condor_submit -terse -"], input_text=SUBMIT_FILE,
                ).stdout  # fmt: skip
                cluster = re.search(r"(\d+)\.\d+", out).group(1)  # type: ignore[union-attr]
                took = _running(queue, f"{cluster}.0", t0) - t0
                evidence.append(f"condor_submit {took:.1f} s, cycles at {_after(site, t0)}")
                _gone(site, cluster)
                return took

            def remote_spool_once() -> float:
                _phase(site, phase)
                t0 = time.time()
                out = site.client_tool(
                    ["condor_submit", "-terse", "-remote", f"ap.{DOMAIN}", "-spool",
                     str(remote_file)]
                )  # fmt: skip
                if out.returncode != 0:
                    raise RuntimeError(f"condor_submit -remote: {out.stdout}{out.stderr}")
                cluster = re.search(r"(\d+)\.\d+", out.stdout).group(1)  # type: ignore[union-attr]
                took = _running(queue, f"{cluster}.0", t0) - t0
                evidence.append(
                    f"condor_submit -remote -spool {took:.1f} s, cycles at {_after(site, t0)}"
                )
                _gone(site, cluster)
                return took

            sides = [
                lambda i: ours.append(condor_nb_once(i)),
                lambda i: theirs.append(condor_submit_once()),
                lambda i: remote.append(remote_spool_once()),
            ]
            for i in range(pairs):
                for side in sides if i % 2 == 0 else reversed(sides):
                    side(i)
                print(f"triple {i}: condor_nb {ours[-1]:.1f} s, condor_submit on the AP "
                      f"{theirs[-1]:.1f} s, condor_submit -remote -spool {remote[-1]:.1f} s",
                      file=sys.stderr, flush=True)  # fmt: skip
    finally:
        site.stop()
    for line in evidence:
        print(line, file=sys.stderr)
    settings = (
        "HTCondor defaults"
        if cycle_delay is None
        else (f"NEGOTIATOR_CYCLE_DELAY = {cycle_delay}, other defaults")
    )
    note = (
        f"site, {settings}, negotiator {phase}; {pairs} triples; condor_nb "
        f"{_list(ours)} s; condor_submit on the AP {_list(theirs)} s; "
        f"condor_submit -remote -spool on the notebook host {_list(remote)} s"
    )
    name = f"submit -> RUNNING on the site ({settings}, negotiator {phase})"
    return [
        row(name, statistics.median(ours), statistics.median(theirs), "<= 1.05", note),
        row(f"{name}, vs condor_submit -remote -spool",
            statistics.median(ours), statistics.median(remote), "<= 1.05", note),
    ]  # fmt: skip


def _list(times: list[float]) -> str:
    return ", ".join(f"{t:.1f}" for t in times)


def _after(site: Any, t0: float) -> str:
    """Negotiation cycles that started after t0 (within 90 s), in s after t0."""
    later = [c - t0 for c in _cycles(site) if -1 <= c - t0 <= 90]
    return ", ".join(f"{c:+.0f}" for c in later) or "none"
