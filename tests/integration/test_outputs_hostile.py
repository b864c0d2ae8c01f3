"""A notebook's files against condor_nb's own: nothing forged, nothing lost, nothing stuck.

One real job forges every name condor_nb uses (on the worker, in the staging folder and
in the fetch destination), writes files of its own, and leaves a FIFO, a unix socket and
a symbolic link to /dev/zero behind. A second job is removed unfetched.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import condor_nb
from condor_nb.condor.status import JobState

from .conftest import Cnb

pytestmark = pytest.mark.pool

FORGED = [
    # what fetch names condor_nb's files in the destination
    "stdout.txt", "stderr.txt", "result.json", "manifest.json", "job.log",
    "forge.ipynb", "forge.html", "notebook_files",
    # the job's stdout, stderr and event log as HTCondor names them
    "condor_nb.out", "condor_nb.err", "condor_nb.log",
    # the wrapper's own files on the worker
    "_condor_nb_output.ipynb", "_condor_nb_report.html", "_condor_nb_result.json",
    "_condor_nb_manifest.json", "_condor_nb_files.json", "_condor_nb_kept.0.condor_nb.out",
]  # fmt: skip

FORGE_CELL = f"""
for name in {FORGED!r}:
    with open(name, "w") as f:
        f.write("FORGED " + name)
with open("mine.csv", "w") as f:
    f.write("a,b\\n1,2\\n")
print("REAL OUTPUT MARKER")
"""

SPECIAL_CELL = """
import os, socket
os.mkfifo("pipe")
sock = socket.socket(socket.AF_UNIX)
sock.bind("sock")
os.symlink("/dev/zero", "zero")
"""


def _finished_without_retrieving(job_id: str) -> JobState:
    """Poll the schedd (no retrieval) until the job finishes; a stuck job fails the test."""
    job = condor_nb.get(job_id)
    for _ in range(400):
        state = job.status().state
        if state.is_terminal:
            return state
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} never finished: {job.status()}")


def _submit(cnb: Cnb, nb: Path) -> str:
    proc = cnb.run("submit", str(nb), "--no-cache", check=True)
    return proc.stdout.split()[1]


def _all_files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text(errors="replace")
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_notebook_files_never_replace_condor_nbs_and_nothing_is_lost(cnb: Cnb) -> None:
    forge = cnb.notebook("forge.ipynb", [FORGE_CELL, SPECIAL_CELL])
    plain = cnb.notebook("plain.ipynb", ["print('plain')"])
    job_id, plain_id = _submit(cnb, forge), _submit(cnb, plain)
    # The FIFO, the socket and the link do not keep the job in TransferringOutput.
    assert _finished_without_retrieving(job_id) is JobState.COMPLETED
    assert _finished_without_retrieving(plain_id) is JobState.COMPLETED

    # rm of a finished job whose outputs were never fetched keeps them.
    proc = cnb.run("rm", job_id)
    assert proc.returncode == 8, proc.stdout + proc.stderr
    assert "never fetched" in proc.stderr and "--force" in proc.stderr
    assert f"condor_nb fetch {job_id}" in proc.stderr
    # --force removes; the outputs are gone with the job.
    assert cnb.run("rm", "--force", plain_id).returncode == 0
    assert condor_nb.get(plain_id).status().state is JobState.REMOVED

    # Empty destinations are errors, not "this folder".
    for args in (("fetch", job_id, "-o", ""), ("submit", str(plain), "--files", "")):
        proc = cnb.run(*args)
        assert proc.returncode == 2 and "empty" in proc.stderr, proc.stderr
    assert not (cnb.workdir / "stdout.txt").exists()

    proc = cnb.run("fetch", job_id, "-o", "res")
    assert proc.returncode == 0, proc.stderr
    for name, kind in (("pipe", "FIFO"), ("sock", "socket"), ("zero", "symbolic link")):
        assert f"{name!r} (a {kind})" in proc.stderr, proc.stderr
    res = cnb.workdir / "res"
    files = _all_files(res)

    # condor_nb's own files are the real ones.
    assert "REAL OUTPUT MARKER" in files["stdout.txt"]
    assert "Job terminated" in files["job.log"]
    assert json.loads(files["result.json"])["outcome"] == "completed"
    assert json.loads(files["manifest.json"])["complete"] is True
    assert "REAL OUTPUT MARKER" in files["forge.ipynb"]
    assert "REAL OUTPUT MARKER" in files["forge.html"]
    assert "a name condor_nb uses" in files["stderr.txt"]  # the wrapper said so
    # ...and every file the notebook wrote came back too, each exactly once.
    assert files["mine.csv"] == "a,b\n1,2\n"
    for name in FORGED:
        holders = [path for path, text in files.items() if text == f"FORGED {name}"]
        assert len(holders) == 1, (name, holders, sorted(files))
    assert files["notebook_files/stdout.txt"] == "FORGED stdout.txt"
    assert files["notebook_files/condor_nb.log"] == "FORGED condor_nb.log"
    assert not any((res / name).exists() for name in ("pipe", "sock", "zero"))

    # Fetching again over identical files is fine; a changed file is never replaced.
    assert cnb.run("fetch", job_id, "-o", "res").returncode == 0
    (res / "stdout.txt").write_text("my notes")
    (res / "result.json").unlink()
    proc = cnb.run("fetch", job_id, "-o", "res")
    assert proc.returncode == 11 and "stdout.txt" in proc.stderr and "--overwrite" in proc.stderr
    assert (res / "stdout.txt").read_text() == "my notes"
    assert not (res / "result.json").exists()  # a refusal writes nothing
    assert cnb.run("fetch", job_id, "-o", "res", "--overwrite").returncode == 0
    assert "REAL OUTPUT MARKER" in (res / "stdout.txt").read_text()
    assert (res / "result.json").is_file()

    # Beside the source notebook: the source is never replaced.
    source = forge.read_text()
    proc = cnb.run("fetch", job_id, "-o", ".")
    assert proc.returncode == 11 and "forge.ipynb" in proc.stderr, proc.stderr
    assert forge.read_text() == source
    assert not (cnb.workdir / "stdout.txt").exists()
