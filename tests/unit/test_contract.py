"""The worker contract: the names the worker and the submit side share are defined once
(condor_nb/contract/names.py), shipped with each job as condor_nb_contract.py, and the
worker's files take their names from that shipped copy."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from condor_nb import contract
from condor_nb.condor.status import FAILURE_CLASSES, classify
from condor_nb.contract import names
from condor_nb.errors import SpecError
from condor_nb.worker import CRON_PATH, WRAPPER_FILES

SOURCE = WRAPPER_FILES[names.CONTRACT_NAME]
EMPTY_NOTEBOOK = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}


def load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ship(folder: Path, contract_text: str | None = None) -> Path:
    """A scratch directory as HTCondor leaves it: every shipped file under its worker
    name (and the schedule runner); ``contract_text`` replaces the shipped contract."""
    for name, source in WRAPPER_FILES.items():
        shutil.copy(source, folder / name)
    shutil.copy(CRON_PATH, folder / names.CRON_NAME)
    if contract_text is not None:
        (folder / names.CONTRACT_NAME).write_text(contract_text)
    return folder


def changed_contract() -> str:
    """The contract with every name and exit code changed, as a release changing them
    all would ship it."""
    text = SOURCE.read_text()
    text = re.sub(r'"(_?|\.)condor_nb', r'"\1other_nb', text)
    text = text.replace('"CondorNb', '"OtherNb').replace('"runs"', '"firings"')
    text = re.sub(r'": (\d)\b,', lambda m: f'": {int(m.group(1)) + 40},', text)
    return text


def test_every_shipped_file_is_the_contracts_list() -> None:
    assert tuple(WRAPPER_FILES) == names.SHIPPED_FILES
    assert all(path.is_file() for path in WRAPPER_FILES.values())
    assert Path(names.__file__) == SOURCE


def test_the_worker_takes_its_names_from_the_shipped_contract(tmp_path: Path) -> None:
    scratch = ship(tmp_path, changed_contract())
    new = load(scratch / names.CONTRACT_NAME, "changed_contract")
    assert new.OUTPUT_NOTEBOOK != names.OUTPUT_NOTEBOOK  # the test changes something
    assert new.EXIT_CODES["wall_time"] == names.EXIT_CODES["wall_time"] + 40

    run = load(scratch / names.WRAPPER_NAME, "run_under_test")
    for name in (
        "JOB_JSON", "SECRETS_JSON", "SECRETS_GONE", "VALUES_JSON", "OUTPUT_NOTEBOOK",
        "REPORT_HTML", "RESULT_JSON", "MANIFEST_JSON", "OUTPUT_FILES", "EXIT_CODES",
        "FILES_JSON", "KEPT_PREFIX", "SKIPPED_DIR", "SCHEDD_FILES",
    ):  # fmt: skip
        assert getattr(run, name) == getattr(new, name), name
    assert (run.REPORT_MODULE, run.REDACT_MODULE) == (new.REPORT_NAME, new.REDACT_NAME)
    assert (run.EXECUTOR_MODULE, run.RECORDING_MODULE) == (
        new.EXECUTOR_MODULE_NAME,
        new.RECORDING_NAME,
    )

    executor = load(scratch / names.EXECUTOR_MODULE_NAME, "executor_under_test")
    assert (executor.EXECUTOR_ZIP, executor.EXTRACT_TO) == (
        new.EXECUTOR_NAME,
        new.EXECUTOR_EXTRACT_DIR,
    )
    assert (executor.MANIFEST, executor.FALLBACK_DIR, executor.SHARE_DIR) == (
        new.EXECUTOR_MANIFEST,
        new.EXECUTOR_FALLBACK_DIR,
        new.EXECUTOR_SHARE_DIR,
    )

    report = load(scratch / names.REPORT_NAME, "report_under_test")
    assert report.LIVE_ATTR == new.LIVE_ATTR
    assert report.SHIPPED_DIR == new.EXECUTOR_EXTRACT_DIR
    assert report.RECORD_HELPER.startswith(new.RECORD_STUB_DIR + "/")

    cron = load(scratch / names.CRON_NAME, "cron_under_test")
    assert (cron.ARCHIVE, cron.INDEX, cron.WRAPPER, cron.JOB_JSON) == (
        new.RUNS_ARCHIVE,
        new.RUNS_INDEX,
        new.WRAPPER_NAME,
        new.JOB_JSON,
    )
    assert cron.OUTPUTS == new.RUN_FILES
    assert cron.OUTCOMES == new.OUTCOME_BY_EXIT_CODE


def test_no_worker_file_keeps_its_own_copy_of_a_name() -> None:
    """Only the file name the loaders look for (and record.py's variable: it runs in the
    notebook's kernel, alone) may be written in a worker file."""
    shared = {v: k for k, v in vars(names).items() if k.isupper() and isinstance(v, str)}
    allowed = {("run.py", "CONTRACT_NAME"), ("report.py", "CONTRACT_NAME")}
    allowed |= {("cron.py", "CONTRACT_NAME"), ("executor.py", "CONTRACT_NAME")}
    allowed |= {("record.py", "VALUES_ENV")}
    found = set()
    for path in [*WRAPPER_FILES.values(), CRON_PATH]:
        if path == SOURCE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in shared:
                found.add((path.name, shared[node.value]))
    assert found <= allowed
    assert load(WRAPPER_FILES[names.RECORDING_NAME], "record_t").VALUES_ENV == names.VALUES_ENV


def test_a_missing_contract_is_named(tmp_path: Path) -> None:
    scratch = ship(tmp_path)
    (scratch / names.CONTRACT_NAME).unlink()
    proc = subprocess.run(
        [sys.executable, names.WRAPPER_NAME], cwd=scratch, capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert f"No such file or directory: '{scratch / names.CONTRACT_NAME}'" in proc.stderr


def fake_wrapper(code: int) -> str:
    """A job wrapper that stops with ``code`` after writing its result, as run.py does."""
    outcome = names.OUTCOME_BY_EXIT_CODE[code]
    result = {"outcome": outcome, "exit_code": code, "error": {"name": "E", "value": "v"}}
    return (
        "import json, sys\n"
        f"open({names.RESULT_JSON!r}, 'w').write(json.dumps({result!r}))\n"
        f"sys.exit({code})\n"
    )


def test_a_schedule_run_has_the_outcome_the_job_wrapper_reports(tmp_path: Path) -> None:
    """The schedule runner files each run under the wrapper's outcome for its exit code
    (wall_time included), and `condor_nb schedule runs` shows that failure class."""
    from condor_nb.schedules.runs import runs_from_index

    scratch = ship(tmp_path)
    (scratch / names.JOB_JSON).write_text(json.dumps({"notebook": "n.ipynb", "keep_runs": 20}))
    env = {"_CONDOR_JOB_AD": str(scratch / "no.ad"), "PATH": "/usr/bin:/bin"}
    for code, outcome in sorted(names.OUTCOME_BY_EXIT_CODE.items()):
        (scratch / names.WRAPPER_NAME).write_text(fake_wrapper(code))
        cmd = [sys.executable, names.CRON_NAME]
        proc = subprocess.run(cmd, cwd=scratch, env=env, capture_output=True, text=True)
        assert proc.returncode == code, proc.stderr
        with zipfile.ZipFile(scratch / names.RUNS_ARCHIVE) as zf:
            index = json.loads(zf.read(names.RUNS_INDEX))
        assert (index[-1]["exit_code"], index[-1]["outcome"]) == (code, outcome)
        run = runs_from_index("s", index[-1:], tmp_path / "not-unpacked")[0]
        assert run.failure_class == (None if code == 0 else outcome)
        assert (run.reason or "").startswith(FAILURE_CLASSES.get(outcome, ""))


@pytest.mark.parametrize("outcome", [o for o in names.EXIT_CODES if o != "completed"])
def test_a_finished_job_is_classified_by_the_wrappers_exit_code(outcome: str) -> None:
    ad = {"JobStatus": 4, "ExitCode": names.EXIT_CODES[outcome]}
    info = classify(ad)
    assert info.failure_class == outcome
    assert info.reason == FAILURE_CLASSES[outcome]


@pytest.mark.parametrize("name", [*names.SHIPPED_FILES, names.EXECUTOR_NAME, names.JOB_JSON])
def test_an_input_file_may_not_take_a_name_the_job_ships(tmp_path: Path, name: str) -> None:
    from condor_nb.settings import load_settings
    from condor_nb.spec.job import notebook_job

    notebook = tmp_path / "nb.ipynb"
    notebook.write_text(
        json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})
    )
    (tmp_path / name).write_text("mine")
    with pytest.raises(SpecError, match="would replace the job's own"):
        notebook_job(notebook, settings=load_settings(), files=[tmp_path / name])


def test_the_job_spec_does_not_import_the_renderer(tmp_path: Path) -> None:
    """spec -> render -> spec was a cycle (hidden in a function); spec needs the contract only."""
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text(
        json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})
    )
    code = (
        "import sys\n"
        "from condor_nb.settings import load_settings\n"
        "from condor_nb.spec.job import notebook_job\n"
        f"job = notebook_job({str(notebook)!r}, settings=load_settings())\n"
        "print(sorted(m for m in sys.modules if m.startswith('condor_nb.submission.render')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_staging_layout() -> None:
    files = contract.JobFiles(Path("/j"), "nb.ipynb")
    assert files.in_dir == Path("/j") / contract.IN_DIR
    assert files.out_dir == Path("/j") / contract.OUT_DIR
    proc = contract.JobFiles(Path("/j"), "nb.ipynb", index=3)
    assert proc.job_json == Path("/j") / contract.PROCS_DIR / "3" / names.JOB_JSON
    assert proc.out_dir == Path("/j/out/3")
    shipped = [p.name for p in files.wrapper_files]
    assert shipped == [*names.SHIPPED_FILES, names.EXECUTOR_NAME]
