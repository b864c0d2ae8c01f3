"""Submitting one notebook job, and a trivial notebook end to end, against raw bindings.

- submit: ``condor_nb.submit(nb, parameters)`` (spec, render, staging, registry,
  submit, spool) against raw ``htcondor2`` submitting and spooling the same
  description and files; pairs interleaved, jobs removed after each pair.
- end to end: submit -> completed -> outputs retrieved and copied, against raw
  bindings submitting the same papermill command, polling the queue at the same
  interval and retrieving the outputs.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from common import Row, row, write_notebook

POLL = 0.25


def _env(home: Path) -> None:
    import os

    os.environ["CONDOR_NB_HOME"] = str(home)


def _raw_description(job: Any) -> dict[str, str]:
    """The very description condor_nb would submit, for the raw side."""
    return dict(job)


def submit_one(repeats: int = 20, *, shared: bool = False) -> Row:
    """``shared``: a campus pool sharing the filesystem (no spooling on either side)."""
    import os

    from common import raw_schedd

    import condor_nb
    from condor_nb.api import prepare
    from condor_nb.settings import load_settings
    from condor_nb.spec.job import notebook_job

    work = Path(tempfile.mkdtemp(prefix="cnb-bench-"))
    _env(work / "home")
    os.environ["CONDOR_NB_SHARED_FILESYSTEM"] = "1" if shared else "0"
    nb = write_notebook(work / "bench.ipynb", ["x = alpha * 2"], params="alpha = 1")
    htcondor2, schedd = raw_schedd()
    settings = load_settings()
    # The raw side submits the same description with the same (already staged) files.
    spec = notebook_job(nb, {"alpha": 3}, settings=settings)
    files, description = prepare(spec, settings, "00000000")
    from condor_nb.submission.staging import stage_job

    stage_job(spec, files, "00000000")
    condor_nb.submit(nb, parameters={"alpha": 3}).remove()  # warm both paths
    ours, raw = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        job = condor_nb.submit(nb, parameters={"alpha": 3})
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = schedd.submit(htcondor2.Submit(description), spool=not shared)
        if not shared:
            schedd.spool(result)
        raw.append(time.perf_counter() - start)
        job.remove()
        schedd.act(htcondor2.JobAction.Remove, f"ClusterId == {result.cluster()}", ("bench", 0))
    shutil.rmtree(work, ignore_errors=True)
    del os.environ["CONDOR_NB_SHARED_FILESYSTEM"]
    name = (
        "submit one notebook job, shared filesystem (no spooling)"
        if shared
        else "submit one notebook job (spec to spooled job)"
    )
    # No issue names a target for the unspooled path: its raw side has no upload, so
    # the same fixed client-side work (~3 ms) weighs about twice as much.
    return row(name, statistics.median(ours), statistics.median(raw), "-" if shared else "<= 1.3")


def end_to_end(repeats: int = 3) -> Row:
    from common import raw_schedd

    import condor_nb
    from condor_nb.api import prepare
    from condor_nb.settings import load_settings
    from condor_nb.spec.job import notebook_job
    from condor_nb.submission.staging import stage_job

    work = Path(tempfile.mkdtemp(prefix="cnb-e2e-"))
    _env(work / "home")
    nb = write_notebook(work / "trivial.ipynb", ["print(alpha)"], params="alpha = 1")
    htcondor2, schedd = raw_schedd()
    settings = load_settings()
    ours, raw = [], []
    for i in range(repeats):
        start = time.perf_counter()
        job = condor_nb.submit(nb, parameters={"alpha": i})
        job.wait(poll=POLL)
        job.fetch(work / f"ours-{i}")
        ours.append(time.perf_counter() - start)

        spec = notebook_job(nb, {"alpha": i}, settings=settings)
        files, description = prepare(spec, settings, f"raw{i:05d}")
        stage_job(spec, files, f"raw{i:05d}")
        start = time.perf_counter()
        result = schedd.submit(htcondor2.Submit(description), spool=True)
        schedd.spool(result)
        constraint = f"ClusterId == {result.cluster()}"
        while True:
            ads = schedd.query(constraint, ["JobStatus"])
            if ads and ads[0]["JobStatus"] == 4:
                break
            time.sleep(POLL)
        schedd.retrieve(constraint)
        raw.append(time.perf_counter() - start)
    shutil.rmtree(work, ignore_errors=True)
    return row("trivial notebook end to end (submit to fetched)", statistics.median(ours),
               statistics.median(raw), "<= 1.15")  # fmt: skip
