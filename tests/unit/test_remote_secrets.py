"""The worker wrapper with --secret values, run for real (a subprocess, real papermill, the
venv's python3 kernel): the notebook uses its secrets, and no file the job leaves behind
holds them in any form (a PEM key, a value with a quote and a non-ASCII letter, one with
& and <), while the outputs still show "[secret]" where they were."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from secret_leaks import CELLS, SECRETS, scan

import condor_nb.contract as contract
import condor_nb.worker as remote

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ipykernel") is None, reason="needs ipykernel for a python3 kernel"
)


def stage(scratch: Path, job_ad: str | None = None) -> Path:
    scratch.mkdir(exist_ok=True)
    for name, source in remote.WRAPPER_FILES.items():
        shutil.copy(source, scratch / name)
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c) for c in CELLS],
        metadata={"kernelspec": {"name": "python3", "display_name": "py", "language": "python"}},
    )
    (scratch / "analysis.ipynb").write_text(nbformat.writes(nb))
    (scratch / contract.JOB_JSON).write_text(json.dumps({"notebook": "analysis.ipynb"}))
    (scratch / contract.SECRETS_JSON).write_text(json.dumps(SECRETS), encoding="utf-8")
    if job_ad is not None:
        (scratch / ".job.ad").write_text(job_ad)
    return scratch


def run(scratch: Path) -> int:
    """The wrapper with its stdout and stderr in files, as HTCondor runs it."""
    env = {k: v for k, v in os.environ.items() if k not in ("_CONDOR_CHIRP_CONFIG",)}
    env["_CONDOR_JOB_AD"] = str(scratch / ".job.ad")
    with (
        open(scratch / "_condor_stdout", "wb") as out,
        open(scratch / "_condor_stderr", "wb") as err,
    ):
        proc = subprocess.run(
            [sys.executable, contract.WRAPPER_NAME], cwd=scratch, env=env, stdout=out, stderr=err,
            timeout=180,
        )  # fmt: skip
    return proc.returncode


def test_no_file_the_job_leaves_holds_a_secret_and_the_outputs_stay_useful(tmp_path: Path) -> None:
    scratch = stage(tmp_path)
    inputs = {*remote.WRAPPER_FILES, contract.JOB_JSON, "analysis.ipynb"}
    assert run(scratch) == contract.EXIT_CODES["cell_error"]
    written = [p for p in scratch.rglob("*") if p.is_file() and p.name not in inputs]
    names = {p.name for p in written}
    assert {*contract.OUTPUT_FILES, contract.VALUES_JSON, "_condor_stdout"} <= names, names
    assert scan(list(SECRETS.values()), written) == {}
    # The notebook had its secrets, and the outputs say where they were.
    nb = nbformat.read(scratch / contract.OUTPUT_NOTEBOOK, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]  # papermill adds error banners
    first = "".join(o.get("text", "") for o in cells[0].outputs)
    assert f"lengths {sorted(len(v) for v in SECRETS.values())}" in first
    printed = "".join(o.get("text", "") for o in cells[1].outputs)
    assert printed.count("printed: [secret]") == 3
    assert "".join(o.get("text", "") for o in cells[2].outputs) == "[secret]\n"
    error = json.loads((scratch / contract.RESULT_JSON).read_text())["error"]
    assert error["name"] == "ValueError" and "[secret] [secret]" in error["value"]
    assert json.loads((scratch / contract.VALUES_JSON).read_text()) == {"token": "[secret]", "n": 1}
    assert "printed: [secret]" in (scratch / "_condor_stdout").read_text()
    assert "[secret]" in (scratch / contract.REPORT_HTML).read_text()
    # Final run (no retries left): a placeholder replaces the secrets file, so that
    # HTCondor transfers it back over the spooled copy on the access point.
    placeholder = json.loads((scratch / contract.SECRETS_JSON).read_text())
    assert list(placeholder) == ["_condor_nb"]


def test_a_run_that_will_be_retried_keeps_the_spooled_secrets(tmp_path: Path) -> None:
    """Exit 3 with a retry left: no secrets file is left (HTCondor transfers nothing over
    the spooled copy, which the retry needs); the last retry leaves the placeholder."""
    scratch = stage(tmp_path, job_ad="JobMaxRetries = 1\nNumJobCompletions = 0\n")
    assert run(scratch) == contract.EXIT_CODES["cell_error"]
    assert not (scratch / contract.SECRETS_JSON).exists()
    # The retry (the spooled copy comes in again); now no retry is left.
    stage(scratch, job_ad="JobMaxRetries = 1\nNumJobCompletions = 1\n")
    assert run(scratch) == contract.EXIT_CODES["cell_error"]
    assert "_condor_nb" in json.loads((scratch / contract.SECRETS_JSON).read_text())
    # A run that finds the placeholder says what happened instead of running without them.
    assert run(scratch) == contract.EXIT_CODES["input_error"]
    value = json.loads((scratch / contract.RESULT_JSON).read_text())["error"]["value"]
    assert "removed from the access point after the job's final run" in value


def test_secrets_never_read_are_still_replaced_and_a_notebook_file_of_that_name_is_kept(
    tmp_path: Path,
) -> None:
    # Bad input before the secrets are read (an unreadable job file): the final exit
    # still leaves the placeholder over them, since HTCondor delivered them (TransferInput).
    scratch = stage(tmp_path / "bad", job_ad='TransferInput = "a,condor_nb_secrets.json"\n')
    (scratch / contract.JOB_JSON).write_text("{not json")
    assert run(scratch) == contract.EXIT_CODES["input_error"]
    assert "_condor_nb" in json.loads((scratch / contract.SECRETS_JSON).read_text())
    # A job without secrets whose notebook writes a file of that name: it is the
    # notebook's, left as written, and fetch would copy it (not a placeholder).
    from condor_nb.store.outputs import is_secrets_placeholder

    scratch = stage(tmp_path / "mine", job_ad='TransferInput = "a,b"\n')
    (scratch / contract.SECRETS_JSON).unlink()
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("open('condor_nb_secrets.json', 'w').write('{\"a\": 1}')")
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "py", "language": "python"}},
    )
    (scratch / "analysis.ipynb").write_text(nbformat.writes(nb))
    assert run(scratch) == contract.EXIT_CODES["completed"]
    assert (scratch / contract.SECRETS_JSON).read_text() == '{"a": 1}'
    assert not is_secrets_placeholder(scratch / contract.SECRETS_JSON)
