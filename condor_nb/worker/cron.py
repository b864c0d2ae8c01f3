#!/usr/bin/env python3
"""Schedule runner, run ON THE WORKER at every firing of a schedule (shipped as condor_nb_cron.py).

A schedule is one HTCondor cron job; every firing starts in a fresh scratch directory.
This script runs the ordinary job wrapper (condor_nb_run.py) once, then files that
run's outputs under ``runs/<run id>/`` in the cumulative archive ``condor_nb_runs.zip``.
The archive is both an input and an output of the job: HTCondor writes it back to the
spool after each run and sends the updated copy with the next one (measured on the
personal pool), so a retrieve at any time brings every kept run, with no condor_nb
process alive in between. Only the newest ``keep_runs`` runs keep their files; the
index keeps a line for every run (its id, times, outcome, exit code).

Standard library only, never condor_nb; Python >= 3.9.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

# The names shared with condor_nb (condor_nb/contract/names.py, shipped beside this file).
SHIPPED = os.path.basename(__file__).startswith("condor_nb_")  # else: in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
CONTRACT = os.path.join(HERE, "condor_nb_contract.py" if SHIPPED else "../contract/names.py")
C = SimpleNamespace(**runpy.run_path(CONTRACT))

ARCHIVE, INDEX, WRAPPER, JOB_JSON = C.RUNS_ARCHIVE, C.RUNS_INDEX, C.WRAPPER_NAME, C.JOB_JSON
OUTPUTS = C.RUN_FILES  # the wrapper's file -> its name in the run's folder
OUTCOMES = C.OUTCOME_BY_EXIT_CODE
MAX_INDEX = 1000
RUN_ID_ENV = "CONDOR_NB_RUN_ID"  # read by condor_nb_notify.py


def utc_stamp(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def read_archive(path: str) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """(index, files) of the archive; an empty or unreadable archive is a fresh start."""
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        return [], {}
    try:
        with zipfile.ZipFile(path) as zf:
            files = {name: zf.read(name) for name in zf.namelist() if name != INDEX}
            index = json.loads(zf.read(INDEX)) if INDEX in zf.namelist() else []
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return [], {}
    return (index if isinstance(index, list) else []), files


def write_archive(path: str, index: list[dict[str, Any]], files: dict[str, bytes]) -> None:
    tmp = f".{path}.tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(INDEX, json.dumps(index, indent=1))
        for name in sorted(files):
            zf.writestr(name, files[name])
    os.replace(tmp, path)


def keep_runs_setting() -> int:
    try:
        with open(JOB_JSON, encoding="utf-8") as f:
            value = json.load(f).get("keep_runs", 10)
        return max(1, int(value))
    except (OSError, ValueError, TypeError):
        return 10


def run_once(run_id: str) -> int:
    """The ordinary wrapper, with its stdout/stderr kept per run; returns its exit code."""
    with open(f"{run_id}.out", "wb") as out, open(f"{run_id}.err", "wb") as err:
        # sys.executable can be empty on a worker (no /proc): the job ran `env python3`.
        python = sys.executable or shutil.which("python3") or "python3"
        env = {**os.environ, RUN_ID_ENV: run_id}  # the run's notifications carry it
        child = subprocess.Popen([python, WRAPPER], stdout=out, stderr=err, env=env)

        def forward(signum: int, _frame: Any) -> None:
            child.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        return child.wait()


def planned_time() -> float | None:
    """This firing's planned time: ``DeferralTime`` in the job ad HTCondor gives the job.

    A run can start late (no free slot, a busy schedd); comparing the two is how the
    submit side tells a late run from an on-time one, and which firings were skipped.
    """
    path = os.environ.get("_CONDOR_JOB_AD") or ".job.ad"
    try:
        with open(path, encoding="utf-8", errors="replace") as ad:
            for line in ad:
                name, _, value = line.partition("=")
                if name.strip() == "DeferralTime":
                    return float(value.strip())
    except (OSError, ValueError):
        pass
    return None


def main() -> int:
    planned = planned_time()
    started = time.time()
    run_id = utc_stamp(started)
    try:
        code = run_once(run_id)
    except Exception as exc:  # still file the run, so that it is visible with its reason
        with open(f"{run_id}.err", "a", encoding="utf-8") as f:
            f.write(f"condor_nb: could not start the job wrapper: {exc!r}\n")
        code = C.EXIT_CODES["internal_error"]
    finished = time.time()
    index, files = read_archive(ARCHIVE)
    prefix = f"{C.RUNS_DIR}/{run_id}/"
    for worker_name, kept_name in OUTPUTS.items():
        if os.path.isfile(worker_name):
            with open(worker_name, "rb") as f:
                files[prefix + kept_name] = f.read()
            os.unlink(worker_name)
    for suffix, kept_name in ((".out", C.RUN_STDOUT), (".err", C.RUN_STDERR)):
        if os.path.isfile(run_id + suffix):
            with open(run_id + suffix, "rb") as f:
                files[prefix + kept_name] = f.read()
            os.unlink(run_id + suffix)
    entry = {
        "run_id": run_id,
        "planned": planned,
        "started": started,
        "finished": finished,
        "exit_code": code,
        "outcome": OUTCOMES.get(code, "unknown"),
        "host": os.uname().nodename,
    }
    index = [*index, entry][-MAX_INDEX:]
    kept = {e["run_id"] for e in index[-keep_runs_setting() :]}
    files = {n: b for n, b in files.items() if n.split("/")[1] in kept}
    write_archive(ARCHIVE, index, files)
    sys.stdout.write(f"condor_nb: schedule run {run_id} finished: {entry['outcome']} ({code})\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
