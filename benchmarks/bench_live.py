"""Live progress and output: what they cost the schedd, and how late the output is.

One job prints a time-stamped line every second for ~60 s over three cells; a real
``condor_nb logs --follow`` process reads it. Measured in one run:

- the follow delay: time from the ``print`` in the job to the line in ``logs
  --follow`` (the worker and the follower share a clock on the personal pool);
- ad updates per job per 10 s: the values of CondorNbLive the schedd stored, read from
  its job queue log as it is written (each SetAttribute is a ``103 <cluster.proc>
  <attr> <value>`` line): their rate from the first to the last, and the shortest gap
  between two (the worker's bound: 10 s);
- the live attribute's size (the largest value stored).

No raw side: HTCondor has no live output of a running job to compare with.
"""

from __future__ import annotations

import itertools
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from common import Row, cli, cli_env, write_notebook

TICKS = 20  # lines (one a second) per cell
CELL = (
    "import time\n"
    "for i in range({ticks}):\n"
    "    print(f'tick {cell} {{i}} {{time.time():.3f}}', flush=True)\n"
    "    time.sleep(1)"
)
QUEUE_LOG = "var/spool/condor/job_queue.log"


class QueueLogWatch:
    """Tails the schedd's job queue log in a thread: when each new value of the live
    attribute of one job was stored (to 0.2 s). A compaction rewrites the log (a new
    file): it is read again from its start, values already seen are not counted."""

    def __init__(self) -> None:
        from condor_nb.pool.paths import pool_paths

        self.path = pool_paths().root / QUEUE_LOG
        self.prefix = ""
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        fh, inode = open(self.path, encoding="utf-8", errors="replace"), 0  # noqa: SIM115
        fh.seek(0, os.SEEK_END)
        inode = os.fstat(fh.fileno()).st_ino
        while not self.stop.wait(0.2):
            for line in fh.readlines():
                if self.prefix and line.startswith(self.prefix):
                    self.seen.setdefault(line[len(self.prefix) :].rstrip("\n"), time.time())
            if os.stat(self.path).st_ino != inode:  # compacted: the new file from its start
                fh.close()
                fh = open(self.path, encoding="utf-8", errors="replace")  # noqa: SIM115
                inode = os.fstat(fh.fileno()).st_ino
        fh.close()


def run() -> list[Row]:
    from condor_nb.condor import schedd
    from condor_nb.contract import LIVE_ATTR
    from condor_nb.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = cli_env(work / "home")
        cells = [CELL.format(ticks=TICKS, cell=c) for c in (1, 2, 3)]
        write_notebook(work / "ticks.ipynb", cells)
        watch = QueueLogWatch()
        watch.start()  # before the submission: no update is missed
        done = subprocess.run(cli("submit", "ticks.ipynb"), cwd=work, env=env, check=True,
                              capture_output=True, text=True).stdout  # fmt: skip
        found = re.search(r"submitted (\w+) .* as HTCondor job (\d+\.\d+)", done)
        assert found, done
        job_id, cluster_proc = found.groups()
        watch.prefix = f"103 {cluster_proc} {LIVE_ATTR} "
        follower = subprocess.Popen(cli("logs", "--follow", job_id), cwd=work, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    text=True)  # fmt: skip
        delays: list[float] = []
        assert follower.stdout is not None
        for line in follower.stdout:
            tick = re.match(r"tick \d+ \d+ (\d+\.\d+)$", line.strip())
            if tick:
                delays.append(time.time() - float(tick.group(1)))
        follower.wait(timeout=120)
        settings = load_settings(home=work / "home")
        client, where = schedd.client_for(settings), f'CondorNbId == "{job_id}"'
        times: list[Any] = []
        for _ in range(60):  # the job moves to the history once its outputs are fetched
            when = ["JobStartDate", "CompletionDate"]
            times = client.query(where, when) or client.history(where, when, 1)
            if times and times[0].get("CompletionDate"):
                break
            time.sleep(1)
        ran = float(times[0]["CompletionDate"]) - float(times[0]["JobStartDate"])
        client.act("remove", where, "condor_nb benchmark finished")
    watch.stop.set()
    watch.thread.join()
    values, stamps = list(watch.seen), sorted(watch.seen.values())
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    per_10s = 10 * len(gaps) / (stamps[-1] - stamps[0]) if gaps else 0.0
    biggest = max((len(v) for v in values), default=0)
    shown = f"{len(delays)} of {3 * TICKS} lines followed"
    return [
        {"name": "live output: print in the job -> line in `logs --follow` (median)",
         "condor_nb_s": statistics.median(delays), "raw_s": None, "ratio": None,
         "target": "<= 15 s", "note": f"max {max(delays):.1f} s; {shown}"},
        {"name": "live updates stored by the schedd, per job per 10 s", "unit": "updates",
         "condor_nb_s": float(per_10s), "raw_s": None, "ratio": None, "target": "<= 1",
         "note": f"{len(values)} updates over {ran:.0f} s of run (job queue log); "
                 f"shortest gap {min(gaps, default=0):.1f} s"},
        {"name": "live attribute (CondorNbLive), largest value stored", "unit": "bytes",
         "condor_nb_s": float(biggest), "raw_s": None, "ratio": None, "target": "<= 4096",
         "note": "2 KB output tail + cell, base64"},
    ]  # fmt: skip
