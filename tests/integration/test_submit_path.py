"""The core submit path against the real pool: submit, run papermill, come back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import condor_nb
import condor_nb.store.registry
from condor_nb.condor.status import JobState
from condor_nb.contract import CONTRACT_NAME, WRAPPER_NAME

from .conftest import Cnb, cell_outputs

pytestmark = pytest.mark.pool

PARAMS = 'n = 1\nx = 0.5\ns = "default"\nitems = [1]\nopts = {"a": 1}\n'
SHOW = (
    "import json\n"
    "print(json.dumps({'n': [n, type(n).__name__], 'x': [x, type(x).__name__],"
    " 's': [s, type(s).__name__], 'items': items, 'opts': opts}))\n"
    "open('made_by_notebook.txt', 'w').write(s)"
)


def test_parameterised_notebook_completes_with_typed_values(
    cnb: Cnb, schedd_ads: Callable[[str], dict[str, Any]]
) -> None:
    nb = cnb.notebook("typed.ipynb", [SHOW], params=PARAMS)
    hostile = 'quote " back \\ dollar $(Cluster) newline\n+Attr = 1'
    job = condor_nb.submit(
        nb,
        parameters={"n": 7, "x": 2, "s": hostile, "items": [1, "two", 3.0], "opts": {"k": [1]}},
        memory="512MB",
    )
    info = job.wait(timeout=240)
    assert info.state is JobState.COMPLETED, info
    fetched = job.fetch(cnb.workdir / "out")
    printed = json.loads(cell_outputs(fetched.notebook)[-1].splitlines()[0])
    assert printed == {
        "n": [7, "int"],
        "x": [2.0, "float"],
        "s": [hostile, "str"],
        "items": [1, "two", 3.0],
        "opts": {"k": [1]},
    }
    assert fetched.report is not None and fetched.report.read_text().startswith("<!DOCTYPE html")
    assert (fetched.directory / "made_by_notebook.txt").read_text() == hostile
    assert json.loads(fetched.result.read_text())["outcome"] == "completed"  # type: ignore[union-attr]
    assert "python" in json.loads((fetched.directory / "manifest.json").read_text())
    assert (fetched.directory / "stdout.txt").exists()
    # The job ran with the contract shipped beside its wrapper.
    inputs = [Path(p.strip()).name for p in str(schedd_ads(job.id)["TransferInput"]).split(",")]
    assert CONTRACT_NAME in inputs and WRAPPER_NAME in inputs, inputs


def test_failing_notebook_is_failed_with_partial_outputs(cnb: Cnb) -> None:
    nb = cnb.notebook(
        "fails.ipynb",
        ["print('before the failure')", "raise ValueError('bad value 42')", "print('never')"],
    )
    job = condor_nb.submit(nb)
    info = job.wait(timeout=240)
    assert info.state is JobState.FAILED
    assert info.failure_class == "cell_error"
    assert "ValueError" in (info.reason or "") and "bad value 42" in (info.reason or "")
    fetched = job.fetch()
    outputs = cell_outputs(fetched.notebook)  # type: ignore[arg-type]
    assert any("before the failure" in text for text in outputs)
    assert not any("never" in text for text in outputs)
    result = json.loads(fetched.result.read_text())  # type: ignore[union-attr]
    assert result["error"]["name"] == "ValueError"
    failing = json.loads(fetched.notebook.read_text())["cells"][result["failed_cell"]]  # type: ignore[union-attr]
    assert "raise ValueError" in "".join(failing["source"])
    assert fetched.report is not None and "bad value 42" in fetched.report.read_text()
    # The CLI tells the same story with a non-zero exit.
    proc = cnb.run("status", job.id)
    assert "FAILED" in proc.stdout and "cell_error" in proc.stdout


def test_kernel_death_is_classified(cnb: Cnb) -> None:
    nb = cnb.notebook("dies.ipynb", ["print('alive')", "import os\nos._exit(1)"])
    job = condor_nb.submit(nb)
    info = job.wait(timeout=240)
    assert info.state is JobState.FAILED
    assert info.failure_class == "kernel_died"
    assert "memory" in (info.reason or "")
    fetched = job.fetch()
    assert fetched.notebook is not None and "alive" in "".join(cell_outputs(fetched.notebook))


def test_hold_release_and_remove(cnb: Cnb) -> None:
    nb = cnb.notebook("slow.ipynb", ["import time\ntime.sleep(seconds)"], params="seconds = 1")
    job = condor_nb.submit(nb, parameters={"seconds": 600})
    job.hold()
    assert job.status().state is JobState.HELD
    assert "held by the user" in (job.status().reason or "")
    job.release()
    assert job.status().state in (JobState.QUEUED, JobState.RUNNING)
    proc = cnb.run("rm", job.id, check=True)
    assert "REMOVED" in proc.stdout
    assert job.status().state is JobState.REMOVED


def test_job_outlives_its_submitter(cnb: Cnb) -> None:
    nb = cnb.notebook("later.ipynb", ["print('hello', who)"], params="who = 'x'")
    # A notebook kernel submits, then dies.
    proc = cnb.python(
        "import condor_nb\n"
        f"job = condor_nb.submit({str(nb)!r}, parameters={{'who': 'from the past'}})\n"
        "print(job.id)\n"
    )
    assert proc.returncode == 0, proc.stderr
    job_id = proc.stdout.strip()
    # A new process (a new Jupyter session, a terminal) follows and fetches it.
    waited = cnb.run("wait", job_id, "-o", "fetched", timeout=300)
    assert waited.returncode == 0, waited.stderr
    assert "COMPLETED" in waited.stdout
    executed = cnb.workdir / "fetched" / "later.ipynb"
    assert "hello from the past" in "".join(cell_outputs(executed))
    assert (cnb.workdir / "fetched" / "later.html").exists()
    listing = cnb.run("q", check=True).stdout
    assert job_id in listing and "COMPLETED" in listing


def test_registry_is_rebuilt_from_the_schedd(cnb: Cnb) -> None:
    nb = cnb.notebook("rebuild.ipynb", ["print(v)"], params="v = 1")
    job = condor_nb.submit(nb, parameters={"v": 5}, name="rebuild me")
    job.wait(timeout=240)
    settings = cnb.settings()
    registry_file = Path(settings.registry_path)
    condor_nb.api.registry_for(settings).close()
    condor_nb.store.registry._registries.clear()
    for suffix in ("", "-wal", "-shm"):
        Path(str(registry_file) + suffix).unlink(missing_ok=True)
    assert condor_nb.api.registry_for(settings).get(job.id) is None
    proc = cnb.run("registry", "rebuild", check=True)
    assert "added" in proc.stdout
    again = condor_nb.get(job.id)
    assert again.name == "rebuild me"
    assert again.notebook == str(nb)
    assert json.loads(again.record.params_json or "{}") == {"v": 5}
    assert again.status().state is JobState.COMPLETED
    fetched = again.fetch(cnb.workdir / "again")
    assert "5" in "".join(cell_outputs(fetched.notebook))  # type: ignore[arg-type]
