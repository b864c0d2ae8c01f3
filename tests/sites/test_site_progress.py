"""Live progress on the site, with HTCondor's default timings (STARTER_UPDATE_INTERVAL
300 s, SHADOW_QUEUE_UPDATE_INTERVAL 900 s, NEGOTIATOR_INTERVAL 60 s).

One notebook of five code cells (three of 1 s, then two of 25 s), submitted from the
notebook host. While it runs:

- what reaches the schedd is read from the AP's job queue log (site_watch: every
  attribute the schedd stores is a line there, counted without querying the schedd);
- at each new progress value, what a user sees is taken at once: ``condor_nb q``,
  ``condor_nb status``, the running ``condor_nb wait`` (its stderr lines, timestamped
  as they come) and a real Jupyter server's ``GET /condor_nb/jobs`` on the notebook host;
- each cell prints when it started: the executed notebook, fetched by ``wait``, gives
  the cell start times to measure the latency against.

The two bounds are the issue's own (progress within 15 s of a cell's start, at most
one job-ad update per job per 10 s); the margins are wide (a long cell shows in
~1 s when the worker's 10 s are up, ~7 s when its start was coalesced).

The three short cells start within 3 s: the worker sends "cell 1 of 5" at once and
coalesces the next two, sending "cell 4 of 5" when its 10 s are up. (The attribute,
CondorNbLive, also carries the output: the values are decoded to their cell.)
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from deploy import Site
from integration.conftest import write_notebook
from site_watch import QueueLogWatcher, ap_queue_log

from condor_nb.condor import live
from condor_nb.contract import LIVE_ATTR

pytestmark = pytest.mark.site

SHORT = (1, 1, 1)
LONG = (25, 25)
M = len(SHORT) + len(LONG)
LONG_VALUES = [f"cell {n} of {M}" for n in range(len(SHORT) + 1, M + 1)]
TOKEN = "site-progress-token"
PORT = 8888  # the notebook host's own network namespace: nothing else listens there


def _cell(value: str) -> str:
    """ "cell N of M" of a live value as the job queue log has it (a quoted string)."""
    info = live.decode({LIVE_ATTR: value.strip('"')})
    return f"cell {info.cell} of {info.cells}" if info and info.cell else ""


def _notebook(path: Path) -> None:
    cells = [
        f"import time\nprint('start', repr(time.time()))\ntime.sleep({s})" for s in SHORT + LONG
    ]
    write_notebook(path, cells)


GET = """
import json, sys, urllib.request
req = urllib.request.Request("http://127.0.0.1:{port}" + sys.argv[1])
req.add_header("Authorization", "token {token}")
with urllib.request.urlopen(req, timeout=60) as resp:
    print(resp.read().decode())
"""


class Lines(threading.Thread):
    """A pipe's lines, each with the time it was read."""

    def __init__(self, stream: object) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.lines: list[tuple[float, str]] = []
        self.start()

    def run(self) -> None:
        for line in self.stream:  # type: ignore[attr-defined]
            self.lines.append((time.time(), line.rstrip("\n")))


def test_progress_under_default_timings_reaches_q_status_wait_and_jupyter(
    site: Site, tmp_path: Path
) -> None:
    nb = tmp_path / "slow.ipynb"
    _notebook(nb)
    env = {
        "CONDOR_NB_HOME": str(tmp_path / "home"),
        "JUPYTER_DATA_DIR": str(tmp_path / "jdata"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jrun"),
    }
    (tmp_path / "jroot").mkdir()
    server = site.client_popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={PORT}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}",
         f"--ServerApp.root_dir={tmp_path / 'jroot'}", "--allow-root"],
        env=env, cwd=tmp_path, start_new_session=True,
        stdout=(tmp_path / "server.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    get = GET.format(port=PORT, token=TOKEN)

    def jupyter_jobs() -> str:
        proc = site.client_run([sys.executable, "-c", get, "/condor_nb/jobs"], env=env)
        return proc.stdout if proc.returncode == 0 else f"ERROR {proc.stderr[-500:]}"

    def jupyter_ready() -> bool:
        try:
            json.loads(jupyter_jobs())
        except ValueError:
            return False
        return True

    waiter = None
    try:
        # The server answers before the job starts (its start took > 20 s on a loaded CI).
        for _ in range(240):  # a bound on polling (~2-4 min), not a timing
            if jupyter_ready():
                break
            time.sleep(0.5)
        with QueueLogWatcher(ap_queue_log(site)) as queue:
            submitted = site.client_run(
                [sys.executable, "-m", "condor_nb", "submit", str(nb)], env=env, cwd=tmp_path,
                check=True,
            ).stdout  # fmt: skip
            job_id = re.search(r"submitted (\w+)", submitted).group(1)  # type: ignore[union-attr]
            waiter = site.client_popen(
                [sys.executable, "-m", "condor_nb", "wait", job_id, "-o", str(tmp_path / "out")],
                env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            wait_err = Lines(waiter.stderr)
            wait_out = Lines(waiter.stdout)
            key = ""
            shown: dict[str, dict[str, tuple[float, float, str]]] = {}
            askers: list[threading.Thread] = []

            def ask(seen: dict[str, tuple[float, float, str]], what: str) -> None:
                asked = time.time()
                if what == "jupyter":
                    out = jupyter_jobs()
                else:
                    args = ["q"] if what == "q" else ["status", job_id]
                    out = site.client_run(
                        [sys.executable, "-m", "condor_nb", *args], env=env, cwd=tmp_path
                    ).stdout
                seen[what] = (asked, time.time(), out)

            for _ in range(3000):  # a bound on polling (~15 min), not a timing
                key = key or queue.proc_key("CondorNbId", f'"{job_id}"')
                values = [_cell(w.value) for w in queue.of(key, LIVE_ATTR)]
                for value in dict.fromkeys(values):
                    if value in shown or value not in LONG_VALUES:
                        continue
                    # All three at once: one after the other, on a loaded machine, the
                    # last would answer when the next cell has begun.
                    shown[value] = {}
                    for what in ("q", "status", "jupyter"):
                        askers.append(threading.Thread(target=ask, args=(shown[value], what)))
                        askers[-1].start()
                if waiter.poll() is not None:
                    break
                time.sleep(0.3)
            waiter.wait(timeout=600)
            for asker in askers:
                asker.join(120)
        wait_err.join(10)
        wait_out.join(10)
    finally:
        if waiter is not None and waiter.poll() is None:
            waiter.kill()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)

    assert waiter.returncode == 0, (wait_out.lines, wait_err.lines)
    executed = next((tmp_path / "out").rglob("slow*.ipynb"))
    cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    starts = []
    for cell in cells:
        text = "".join("".join(o.get("text", "")) for o in cell["outputs"])
        starts.append(float(re.search(r"start (\S+)", text).group(1)))  # type: ignore[union-attr]

    writes = queue.of(key, LIVE_ATTR)
    arrived: dict[str, float] = {}
    for w in writes:
        arrived.setdefault(_cell(w.value), w.seen)
    report = {
        "cell starts (s after cell 1)": [round(s - starts[0], 1) for s in starts],
        "progress writes at the schedd (s after cell 1, value)": [
            (round(w.seen - starts[0], 1), _cell(w.value)) for w in writes
        ],
        "job ad writes while running (all attributes)": len(
            [w for w in queue.of(key) if starts[0] <= w.seen <= starts[-1] + LONG[-1]]
        ),
        "wait stderr": [(round(t - starts[0], 1), line) for t, line in wait_err.lines],
    }
    print(json.dumps(report, indent=1))
    # No more than one update of the job ad per 10 s (the worker's limiter; what the
    # schedd took, counted in its own log): the short cells were coalesced.
    gaps = [b.seen - a.seen for a, b in itertools.pairwise(writes)]
    assert all(gap >= 9 for gap in gaps), report
    assert [_cell(w.value) for w in writes][:2] == ["cell 1 of 5", "cell 4 of 5"], report
    latency: dict[str, dict[str, float]] = {}
    for n in (4, 5):
        value = f"cell {n} of {M}"
        start = starts[n - 1]
        assert value in shown, (value, report)
        seen = shown[value]
        assert re.search(rf"RUNNING.*{value}", seen["q"][2]), seen["q"][2]
        assert value in seen["status"][2], seen["status"][2]
        assert seen["jupyter"][2].startswith("{"), seen["jupyter"][2]
        jobs = json.loads(seen["jupyter"][2])["jobs"]
        (row,) = [j for j in jobs if j.get("id") == job_id]
        assert str(row.get("reason")).startswith(f"{value}: `import time` ("), row
        waited = next(t for t, line in wait_err.lines if f"RUNNING ({value}: " in line)
        latency[value] = {
            "in the schedd's job ad": round(arrived[value] - start, 1),
            "printed by the running wait": round(waited - start, 1),
            **{f"{what} asked": round(t[0] - start, 1) for what, t in seen.items()},
            **{f"{what} answered": round(t[1] - start, 1) for what, t in seen.items()},
        }
    print(json.dumps({"latency (s after the cell started)": latency}, indent=1))
    # The bound: within 15 s of its start each long cell is in the job ad,
    # printed by `wait`, and shown by q, status and Jupyter when asked (their own
    # process start, slow on a loaded machine, is in the "answered" figures).
    for value, by_tool in latency.items():
        bounded = {k: v for k, v in by_tool.items() if not k.endswith("answered")}
        assert max(bounded.values()) <= 15, (value, by_tool, report)
