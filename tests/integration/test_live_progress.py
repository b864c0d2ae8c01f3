"""Live progress (the running cell) and output reach the schedd's job ad while a notebook runs.

What is checked is what HTCondor really stored: the job ad, polled with a raw query
while the job runs, and what `condor_nb q`, `status` and `wait` print from it.

The personal pool updates the starter every 2 s (STARTER_UPDATE_INTERVAL), which
would hide a mechanism relying on delayed updates (those ride on the starter's
update, 300 s apart by HTCondor's default). The attribute's name does not match
CHIRP_DELAYED_UPDATE_PREFIX (``Chirp*`` by default), so HTCondor refuses it as a
delayed update: its appearance in the ad proves the immediate path, whatever the
pool's STARTER_UPDATE_INTERVAL.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

from condor_nb import contract
from condor_nb import worker as remote
from condor_nb.condor import live, schedd

QUEUE_LOG = "var/spool/condor/job_queue.log"
HOSTILE = (  # quotes, backslashes, NUL, ANSI, a bidi override, invalid UTF-8 on the fd
    r"""print('q"uote \\\\ back \x00 nul \x1b[31mred\x1b[0m \u202e bidi', flush=True)"""
    "\nimport os\nos.write(1, b'bad \\xff\\xfe utf8\\n')"
)
CELLS = [
    "import time\nfor i in range(4):\n    print(f'alpha {i}', flush=True)\n    time.sleep(2)\n"
    + HOSTILE,
    "total = 0  # the fitting loop\nfor i in range(n):\n"
    "    print(f'beta {i}', flush=True)\n    time.sleep(2)",
    "time.sleep(11)  # the beta lines go out first\n"
    "print('x' * 100_000)  # more than the tail between two updates\ntime.sleep(11)",
    "print('last cell', flush=True)\ntime.sleep(12)",
]


def _read_lines(stream: Any, into: list[tuple[float, str]]) -> None:
    for line in stream:
        into.append((time.monotonic(), line))


def _live_updates(cluster_proc: str) -> list[str]:
    """Every value of the live attribute the schedd stored for this job (its job queue
    log, and the rotated ones: the schedd compacts it now and then)."""
    from condor_nb.pool.paths import pool_paths

    logs = sorted(pool_paths().root.glob(QUEUE_LOG + "*"), key=lambda p: p.stat().st_mtime)
    prefix = f"103 {cluster_proc} {contract.LIVE_ATTR} "
    values: list[str] = []
    for log in logs[-3:]:
        with open(log, encoding="utf-8", errors="replace") as fh:
            values += [line[len(prefix) :].rstrip("\n") for line in fh if line.startswith(prefix)]
    return list(dict.fromkeys(values))  # a compaction writes the current value again


def test_running_cell_and_live_output_in_status_q_wait_and_logs_follow(cnb: Any) -> None:
    """One job printing over ~50 s in several cells, watched the ways a user would."""
    assert not contract.LIVE_ATTR.lower().startswith("chirp")  # never a delayed update
    cnb.notebook("slow.ipynb", CELLS, params="n = 3")
    submitted = cnb.run("submit", "slow.ipynb", "-p", "n", "5", check=True).stdout
    found = re.search(r"submitted (\w+) .* as HTCondor job (\d+\.\d+)", submitted)
    assert found, submitted
    job_id, cluster_proc = found.groups()
    env = {**os.environ, **cnb.env}
    cli = [sys.executable, "-m", "condor_nb"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    follower = subprocess.Popen([*cli, "logs", "--follow", job_id], cwd=cnb.workdir, env=env,
                                **pipes)  # type: ignore[call-overload]  # fmt: skip
    waiter = subprocess.Popen([*cli, "wait", job_id], cwd=cnb.workdir, env=env,
                              **pipes)  # type: ignore[call-overload]  # fmt: skip
    followed: list[tuple[float, str]] = []
    reader = threading.Thread(target=_read_lines, args=(follower.stdout, followed), daemon=True)
    reader.start()

    client = schedd.client_for(cnb.settings())
    projection = ["JobStatus", "HoldReasonCode", contract.LIVE_ATTR]
    shown: dict[str, str] = {}
    ended_at = None
    sizes: list[int] = []
    for _ in range(2400):  # a bound, not a timing: ~20 min of 0.5 s polls
        ads = client.query(f'CondorNbId == "{job_id}"', projection)
        ad = ads[0] if ads else {}
        value = ad.get(contract.LIVE_ATTR)
        if value:
            sizes.append(len(str(value)))
        info = live.decode(ad) if ad else None
        if info is not None and info.cell == 3 and info.chars and "q" not in shown:
            shown["status"] = cnb.run("status", job_id, check=True).stdout
            shown["q"] = cnb.run("q", check=True).stdout
            shown["logs"] = cnb.run("logs", job_id, check=True).stdout
            shown["json"] = cnb.run("status", job_id, "--json", check=True).stdout
        spooling = ad.get("HoldReasonCode") == 16  # held until the inputs are uploaded
        if not ads or ad.get("JobStatus") in (3, 4) or (ad.get("JobStatus") == 5 and not spooling):
            ended_at = time.monotonic()
            break
        time.sleep(0.5)
    assert ended_at is not None
    out, err = waiter.communicate(timeout=600)
    follower.wait(timeout=120)  # it stops by itself when the job ends
    reader.join(timeout=30)
    follow_err = follower.stderr.read()  # type: ignore[union-attr]
    text = "".join(line for _, line in followed)

    # The running cell as the user counts it (their parameters cell is 1, the injected
    # one is not counted), with its first source line, in status, q, wait and logs.
    assert "cell 3 of 5: `total = 0  # the fitting loop`" in shown["status"], shown["status"]
    assert "last output" in shown["status"] and "alpha" in shown["status"], shown["status"]
    assert re.search(r"RUNNING +cell 3 of 5", shown["q"]), shown["q"]
    assert "output so far" in shown["logs"] and "alpha 0" in shown["logs"], shown["logs"]
    doing = json.loads(shown["json"])["live"]
    assert (doing["cell"], doing["cells"]) == (3, 5), doing
    assert doing["source"] == "total = 0  # the fitting loop", doing
    assert doing["last_lines"] and doing["output_chars"] > 0, doing
    assert waiter.returncode == 0, out + err
    assert "RUNNING (cell 3 of 5: `total = 0  # the fitting loop`" in err, err

    # logs --follow: lines while the job ran, the skip announced, then it stopped.
    early = [line for at, line in followed if at < ended_at]
    assert any(line.startswith("alpha 0") for line in early), followed
    assert "beta 0\n" in text and "beta 4\n" in text, text
    assert "characters of output skipped" in text, text
    assert "x" * 100 in text and "last cell\n" in text
    assert "12\n" in text  # the value of a cell's last expression (os.write's count)
    assert follower.returncode == 0, follow_err
    assert f"condor_nb fetch {job_id}" in follow_err, follow_err
    hostile = next(line for line in text.splitlines() if line.startswith("q"))
    assert hostile.startswith('q"uote \\\\ back') and "\x1b" not in hostile, hostile
    assert "red" in hostile and "\\u202e" in hostile, hostile  # shown, not obeyed

    # What the schedd stored: at most one live update per 10 s over the run, small.
    times: list[Any] = []
    for _ in range(60):  # a bound on waiting for the schedd's history, not a timing
        where, when = f'CondorNbId == "{job_id}"', ["JobStartDate", "CompletionDate"]
        times = client.query(where, when) or client.history(where, when, 1)
        if times and times[0].get("CompletionDate"):
            break
        time.sleep(1)
    ran = float(times[0]["CompletionDate"]) - float(times[0]["JobStartDate"])
    updates = _live_updates(cluster_proc)
    assert 4 <= len(updates) <= 1 + ran // 10, (len(updates), ran)
    assert max(len(u) for u in updates) <= 4096 and max(sizes) <= 4096
    print(f"live updates: {len(updates)} over {ran:.0f} s; largest {max(sizes)} bytes")


def test_the_chirp_protocol_spoken_without_condor_chirp(cnb: Any) -> None:
    """Container images rarely have condor_chirp: the worker then speaks Chirp itself."""
    job_dir = cnb.workdir / "raw"
    job_dir.mkdir()
    shutil.copy(remote.REPORT_PATH, job_dir / "condor_nb_report.py")
    shutil.copy(remote.WRAPPER_FILES[contract.CONTRACT_NAME], job_dir / contract.CONTRACT_NAME)
    shipped = ", ".join(str(job_dir / n) for n in ("condor_nb_report.py", contract.CONTRACT_NAME))
    script = job_dir / "job.py"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import importlib.util, time\n"
        "spec = importlib.util.spec_from_file_location('r', 'condor_nb_report.py')\n"
        "m = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(m)\n"
        "print('rc', m.chirp_set_job_attr('CondorNbProgress', '\"cell 1 of 2 (socket)\"'))\n"
        # The largest value the worker can send: 2 KB of output that JSON-escaping
        # doubles, cut to fit, and the longest source line of 4-byte characters.
        "state = {'c': 1, 'of': 2, 'src': '\U0001f642' * 60, 't': 1, 'n': 10**9,\n"
        "         'o': '\"' * 4096, 'end': 'completed'}\n"
        "big = m.encode_live(state)\n"
        "open('big', 'w').write(big)\n"
        "print('rc big', m.chirp_set_job_attr(m.LIVE_ATTR, '\"' + big + '\"'))\n"
        "time.sleep(30)\n"
    )
    script.chmod(0o755)
    client = schedd.client_for(cnb.settings())
    cluster, _ = client.submit({
        "executable": str(script), "transfer_input_files": shipped,
        "output": "out", "error": "err", "should_transfer_files": "YES",
        "MY.WantIOProxy": "true", "request_memory": "64", "request_disk": "1024",
        "initialdir": str(job_dir), "MY.CondorNbTestChirp": "true",
    })  # fmt: skip
    value = big = None
    try:
        for _ in range(1200):  # a bound on polling, not a timing
            projection = ["JobStatus", contract.PROGRESS_ATTR, contract.LIVE_ATTR]
            ads = client.query(f"ClusterId == {cluster}", projection)
            value = ads[0].get(contract.PROGRESS_ATTR) if ads else None
            big = ads[0].get(contract.LIVE_ATTR) if ads else None
            if (value and big) or not ads or ads[0].get("JobStatus") in (3, 4):
                break
            time.sleep(0.5)
    finally:
        client.act("remove", f"ClusterId == {cluster}", "condor_nb test finished")
    assert value == "cell 1 of 2 (socket)"
    # The largest live value goes through the starter's Chirp proxy whole.
    info = live.decode({contract.LIVE_ATTR: big})
    assert info is not None and info.end == "completed" and info.tail == '"' * len(info.tail)
    assert len(str(big)) > 2048, big  # more than the 1024-byte line of older Chirp code
    print(f"largest live value through the Chirp socket: {len(str(big))} bytes")
