"""Faults on the user's side and the pool's: nothing is lost, every job is accounted for."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import condor_nb
import condor_nb.api
from condor_nb import pool
from condor_nb.condor import schedd
from condor_nb.condor.status import JobState
from condor_nb.errors import FetchError

from .conftest import Cnb, cell_outputs

pytestmark = pytest.mark.pool


def _wait_running(job: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while job.status().state is not JobState.RUNNING:
        assert time.monotonic() < deadline, f"job {job.id} never started"
        time.sleep(0.5)


def test_evicted_worker_reruns_and_final_outputs_are_complete(cnb: Cnb, schedd_ads: Any) -> None:
    nb = cnb.notebook(
        "evicted.ipynb",
        ["print('part one', flush=True)", "import time\ntime.sleep(6)", "print('part two')"],
    )
    job = condor_nb.submit(nb)
    _wait_running(job)
    time.sleep(2)
    cluster = job.record.cluster
    pool.run_in_root(["condor_vacate_job", "-fast", f"{cluster}.0"])
    info = job.wait(timeout=300)
    assert info.state is JobState.COMPLETED, info
    assert schedd_ads(job.id)["NumJobStarts"] >= 2  # it really was evicted and rerun
    printed = "".join(cell_outputs(job.fetch().notebook))  # type: ignore[arg-type]
    assert "part one" in printed and "part two" in printed


def test_unwritable_destination_keeps_outputs_retrievable(cnb: Cnb, tmp_path: Path) -> None:
    nb = cnb.notebook("big.ipynb", ["open('data.bin', 'wb').write(b'x' * 200_000)"])
    job = condor_nb.submit(nb)
    job.wait(timeout=240)
    full = tmp_path / "full"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full)], check=True)
    try:
        with pytest.raises(FetchError) as info:
            job.fetch(full / "dest")
        assert "could not write the outputs" in str(info.value)
        assert "fetched again" in str(info.value)
        proc = cnb.run("fetch", job.id, "-o", str(full / "dest2"))
        assert proc.returncode == 11 and "Traceback" not in proc.stderr
    finally:
        subprocess.run(["umount", str(full)], check=True)
    fetched = job.fetch(tmp_path / "elsewhere")  # nothing was lost: fetch again works
    assert (fetched.directory / "data.bin").stat().st_size == 200_000


def test_outputs_cannot_escape_the_destination(cnb: Cnb, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n")
    nb = cnb.notebook(
        "escape.ipynb",
        [
            "import os\n"
            f"os.symlink({str(victim)!r}, 'link_to_victim.txt')\n"
            "os.symlink('/etc', 'link_to_etc')\n"
            "open('..x', 'w').write('dots')\n"
            "open('/tmp/condor_nb_absolute.txt', 'w').write('absolute')\n"
            "try:\n    open('../up.txt', 'w').write('up')\nexcept OSError:\n    pass"
        ],
    )
    job = condor_nb.submit(nb)
    assert job.wait(timeout=240).state is JobState.COMPLETED
    dest = tmp_path / "dest"
    dest.mkdir()
    # A pre-existing link named like an output is kept unless overwrite=True, and then
    # replaced, never written through.
    (dest / "stdout.txt").symlink_to(victim)
    with pytest.raises(FetchError, match=r"stdout\.txt"):
        job.fetch(dest)
    fetched = job.fetch(dest, overwrite=True)
    assert victim.read_text() == "untouched\n"
    for path in dest.iterdir():
        assert not path.is_symlink() and path.is_file(), path
        assert path.resolve().parent == dest.resolve()
    assert not (tmp_path / "up.txt").exists()
    assert fetched.notebook is not None


def test_schedd_restart_mid_run(cnb: Cnb) -> None:
    nb = cnb.notebook("through.ipynb", ["import time\ntime.sleep(8)\nprint('survived')"])
    job = condor_nb.submit(nb)
    _wait_running(job)
    before = {r.id for r in condor_nb.api.registry_for(cnb.settings()).all()}
    restart = subprocess.Popen(
        [sys.executable, "-c", "from condor_nb import pool; pool.restart_daemons('schedd')"]
    )
    time.sleep(0.5)
    # Client calls during the restart retry with backoff, then succeed or say why.
    proc = cnb.run("q", timeout=120)
    assert proc.returncode in (0, 5), proc.stderr
    if proc.returncode == 5:
        assert "schedd" in proc.stderr and "Traceback" not in proc.stderr
    assert restart.wait(timeout=120) == 0
    # This process's client still has the old schedd's address and session: an edit
    # (as hold, release and remove) reaches the restarted schedd all the same.
    client = schedd.client_for(cnb.settings())
    assert client.edit(f'CondorNbId == "{job.id}"', "CondorNbTestMark", "1") == 1
    info = job.wait(timeout=300)
    assert info.state is JobState.COMPLETED, info
    assert "survived" in "".join(cell_outputs(job.fetch().notebook))  # type: ignore[arg-type]
    after = condor_nb.api.registry_for(cnb.settings()).all()
    assert before <= {r.id for r in after}
    assert len(after) == len({r.id for r in after})  # nothing lost, nothing duplicated


CONCURRENT = """
import json, sys, threading, condor_nb
nb, n_threads, per_thread = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ids, errors = [], []
def work():
    for _ in range(per_thread):
        try:
            ids.append(condor_nb.submit(nb, cache=False).id)
        except Exception as exc:
            errors.append(repr(exc))
threads = [threading.Thread(target=work) for _ in range(n_threads)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"ids": ids, "errors": errors}))
"""


def test_concurrent_submits_from_threads_and_processes(cnb: Cnb) -> None:
    nb = cnb.notebook("many.ipynb", ["print(1)"])
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT, str(nb), "5", "2"],
            cwd=cnb.workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**__import__("os").environ, **cnb.env},
        )
        for _ in range(5)
    ]
    ids: list[str] = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        report = json.loads(out.strip().splitlines()[-1])
        assert report["errors"] == [], report["errors"]
        assert "database is locked" not in err
        ids.extend(report["ids"])
    assert len(ids) == 50 and len(set(ids)) == 50
    registry = condor_nb.api.registry_for(cnb.settings())
    rows = [r for r in registry.all() if r.id in set(ids)]
    assert len(rows) == 50 and all(r.cluster is not None for r in rows)
    assert len({r.cluster for r in rows}) == 50
    for job_id in ids:
        condor_nb.get(job_id).remove(force=True)  # cleanup: some may have finished
