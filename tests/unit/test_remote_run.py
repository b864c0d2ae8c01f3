"""The worker wrapper, run for real: a subprocess in a scratch directory, real papermill,
the venv's python3 kernel. Each test checks what a user would notice: the exit code
HTCondor reports, the result file, the returned notebook, the report and the logs."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

import condor_nb.contract as contract
import condor_nb.worker as remote

NEEDS_KERNEL = pytest.mark.skipif(
    importlib.util.find_spec("ipykernel") is None, reason="needs ipykernel for a python3 kernel"
)


def make_notebook(*sources: str, parameters: str | None = None, kernel: str = "python3") -> Any:
    cells = []
    if parameters is not None:
        cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    cells += [nbformat.v4.new_code_cell(src) for src in sources]
    spec = {"name": kernel, "display_name": kernel, "language": "python"}
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": spec})


def stage(tmp_path: Path, nb: Any = None, raw: str | None = None, **job: Any) -> Path:
    """A scratch directory as HTCondor leaves it: wrapper files, job file, notebook."""
    for name, source in remote.WRAPPER_FILES.items():
        shutil.copy(source, tmp_path / name)
    (tmp_path / "analysis.ipynb").write_text(raw if raw is not None else nbformat.writes(nb))
    (tmp_path / contract.JOB_JSON).write_text(json.dumps({"notebook": "analysis.ipynb", **job}))
    return tmp_path


def start(scratch: Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, contract.WRAPPER_NAME]
    env = {k: v for k, v in os.environ.items() if k != "_CONDOR_CHIRP_CONFIG"}
    return subprocess.Popen(
        cmd, cwd=scratch, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def run_job(scratch: Path, timeout: float = 120) -> tuple[int, str, str]:
    proc = start(scratch)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def result_of(scratch: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((scratch / contract.RESULT_JSON).read_text())
    return data


def output_nb(scratch: Path) -> Any:
    return nbformat.read(scratch / contract.OUTPUT_NOTEBOOK, as_version=4)


def texts(nb: Any) -> str:
    """All the text a user sees in the cells' outputs."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text") or out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def assert_all_outputs(scratch: Path) -> None:
    for name in contract.OUTPUT_FILES:
        assert (scratch / name).is_file(), f"{name} missing: {sorted(os.listdir(scratch))}"
    assert not list(scratch.glob(".*.tmp")), "temporary files left behind"


# ---------------------------------------------------------------------------- contract, fast
def load_module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_wrapper_imports_only_stdlib_and_the_jupyter_stack() -> None:
    allowed = {"papermill", "nbclient", "nbformat", "nbconvert", "jupyter_client", "jupyter_core"}
    allowed |= set(sys.stdlib_module_names)
    for path in remote.WRAPPER_FILES.values():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"relative import in {path.name}"
                imported.add(str(node.module).split(".")[0])
        assert imported <= allowed, f"{path.name} imports {sorted(imported - allowed)}"


def test_chirp_is_skipped_cleanly_outside_htcondor(monkeypatch: pytest.MonkeyPatch) -> None:
    report = load_module(remote.REPORT_PATH, "condor_nb_report_chirp")
    monkeypatch.delenv("_CONDOR_CHIRP_CONFIG", raising=False)
    chirp = report.Chirp()
    assert chirp.exe is None
    chirp.finish("completed")  # no error, no process
    assert chirp.proc is None


def test_chirp_without_the_executable_is_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    report = load_module(remote.REPORT_PATH, "condor_nb_report_chirp2")
    monkeypatch.setenv("_CONDOR_CHIRP_CONFIG", str(tmp_path / ".chirp.config"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(report, "CHIRP_LIBEXEC", str(tmp_path / "nowhere"))
    chirp = report.Chirp()
    assert chirp.exe is None
    chirp.finish("completed")
    assert chirp.proc is None


def test_imports_are_found_without_importing_them() -> None:
    report = load_module(remote.REPORT_PATH, "condor_nb_report_imports")
    nb = make_notebook(
        "import os, json\nfrom nbformat import v4\nimport xml.dom as d",
        "%matplotlib inline\nimport definitely_not_installed_pkg",
        "!pip list\nfrom . import local_thing",
        "%%bash\nimport nothing_here",
    )
    modules = report.imported_modules(nb)
    assert modules == ["definitely_not_installed_pkg", "json", "nbformat", "os", "xml"]
    versions = report.module_versions(modules)
    assert versions["os"] == {"stdlib": True}
    assert versions["nbformat"]["version"] == nbformat.__version__
    assert versions["definitely_not_installed_pkg"]["version"] is None


# ----------------------------------------------------------------------------- real runs
@NEEDS_KERNEL
def test_completed_with_typed_parameters(tmp_path: Path) -> None:
    nb = make_notebook(
        "print(type(n).__name__, n + 1)",
        "print(type(x).__name__, x * 2)",
        "print(repr(s))",
        "print(type(items).__name__, sum(items))",
        "print(type(cfg).__name__, cfg['depth'], cfg['name'])",
        "import nbformat",
        parameters="n = 0\nx = 0.0\ns = ''\nitems = []\ncfg = {}",
    )
    text = "say \"hi\"\nand 'bye' \\ done"
    params = {"n": 41, "x": 1.25, "s": text, "items": [1, 2, 3], "cfg": {"depth": 3, "name": "a"}}
    scratch = stage(tmp_path, nb, parameters=params, job_id="job-7")

    code, out, err = run_job(scratch)

    assert code == contract.EXIT_CODES["completed"], err
    assert_all_outputs(scratch)
    shown = texts(output_nb(scratch))
    assert "int 42" in shown and "float 2.5" in shown
    assert repr(text) in shown
    assert "list 6" in shown and "dict 3 a" in shown
    result = result_of(scratch)
    assert result["outcome"] == "completed" and result["exit_code"] == 0
    assert result["error"] is None and result["failed_cell"] is None
    assert result["cells_executed"] == result["cells_total"] == 8  # + injected parameters
    assert result["job_id"] == "job-7" and result["duration_s"] > 0
    # The user's numbering (the injected parameters cell not counted); output streamed.
    assert "executing cell 2 of 7: `print(type(n).__name__, n + 1)`" in out and "list 6" in out
    assert "executing the injected parameters cell" in out and "7/7 code cells run" in out
    manifest = json.loads((scratch / contract.MANIFEST_JSON).read_text())
    assert manifest["complete"] is True
    assert manifest["imports"]["nbformat"]["version"] == nbformat.__version__
    assert manifest["packages"]["papermill"] == result["papermill_version"]
    assert manifest["kernel"]["name"] == "python3" and manifest["kernel"]["fallback"] is False
    assert manifest["kernel"]["language_version"]
    assert "int 42" in (scratch / contract.REPORT_HTML).read_text()  # the nbconvert report


@NEEDS_KERNEL
def test_cell_error_returns_the_partial_notebook(tmp_path: Path) -> None:
    nb = make_notebook("print('step one done')", "raise ValueError('bad input 17')", "print('no')")
    scratch = stage(tmp_path, nb)

    code, _, err = run_job(scratch)

    assert code == contract.EXIT_CODES["cell_error"] == 3
    assert_all_outputs(scratch)
    result = result_of(scratch)
    assert result["outcome"] == "cell_error"
    assert result["error"]["name"] == "ValueError" and result["error"]["value"] == "bad input 17"
    assert any("bad input 17" in line for line in result["error"]["traceback"])
    returned = output_nb(scratch)
    failed = returned.cells[result["failed_cell"]]
    assert "raise ValueError" in failed.source == result["failed_cell_source"]
    assert "step one done" in texts(returned) and "no\n" not in texts(returned)
    assert "An Exception was encountered" in returned.cells[0].source  # papermill's banner
    assert result["cells_executed"] == 2 and result["cells_total"] == 3
    assert "bad input 17" in (scratch / contract.REPORT_HTML).read_text()
    assert "ValueError: bad input 17" in err


@NEEDS_KERNEL
def test_kernel_death_is_reported_as_such(tmp_path: Path) -> None:
    nb = make_notebook("print('before')", "import os\nos._exit(1)", "print('after')")
    scratch = stage(tmp_path, nb, report=False)

    code, _, _ = run_job(scratch)

    assert code == contract.EXIT_CODES["kernel_died"] == 4
    assert_all_outputs(scratch)
    result = result_of(scratch)
    assert result["outcome"] == "kernel_died"
    assert "memory" in result["error"]["value"]
    assert "os._exit" in result["failed_cell_source"]
    assert "before" in texts(output_nb(scratch))


@NEEDS_KERNEL
def test_cell_timeout(tmp_path: Path) -> None:
    nb = make_notebook("print('quick')", "import time\ntime.sleep(60)", "print('after')")
    scratch = stage(tmp_path, nb, cell_timeout=2, report=False)

    started = time.monotonic()
    code, _, _ = run_job(scratch)

    assert code == contract.EXIT_CODES["cell_timeout"] == 5
    assert time.monotonic() - started < 30
    assert_all_outputs(scratch)
    result = result_of(scratch)
    assert result["outcome"] == "cell_timeout" and "cell_timeout=2" in result["error"]["value"]
    assert "time.sleep(60)" in result["failed_cell_source"]
    assert "quick" in texts(output_nb(scratch))


@pytest.mark.parametrize(
    "raw",
    ["this is not json {", '{"some": "json"}', '{"nbformat": 4, "cells": "nope", "metadata": {}}'],
    ids=["not-json", "json-not-notebook", "broken-cells"],
)
def test_bad_notebook_is_an_input_error_with_all_files(tmp_path: Path, raw: str) -> None:
    scratch = stage(tmp_path, raw=raw)

    code, _, err = run_job(scratch)

    assert code == contract.EXIT_CODES["input_error"] == 6
    assert_all_outputs(scratch)
    result = result_of(scratch)
    assert result["outcome"] == "input_error" and "analysis.ipynb" in result["error"]["value"]
    assert "notebook" in result["error"]["value"]
    assert result["error"]["value"] in output_nb(scratch).cells[0].source  # readable in Jupyter
    assert "input_error" in (scratch / contract.REPORT_HTML).read_text()
    assert "analysis.ipynb" in err


def test_missing_job_file_is_an_input_error(tmp_path: Path) -> None:
    for name, source in remote.WRAPPER_FILES.items():
        shutil.copy(source, tmp_path / name)

    code, _, _ = run_job(tmp_path)

    assert code == 6
    assert_all_outputs(tmp_path)
    assert contract.JOB_JSON in result_of(tmp_path)["error"]["value"]


def test_wrong_job_value_type_says_what_was_expected(tmp_path: Path) -> None:
    scratch = stage(tmp_path, make_notebook("1"), cell_timeout="10")

    code, _, _ = run_job(scratch)

    assert code == 6
    assert "'cell_timeout' must be int or float or null" in result_of(scratch)["error"]["value"]


@NEEDS_KERNEL
def test_sigterm_keeps_the_cells_run_so_far(tmp_path: Path) -> None:
    cells = [f"print('cell {i} ran')" for i in range(3)]
    nb = make_notebook(*cells, "import time\nprint('sleeping', flush=True)\ntime.sleep(120)")
    scratch = stage(tmp_path, nb)
    proc = start(scratch)
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until the long cell is running
        if line.startswith("sleeping"):
            break

    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=30)

    assert code == contract.EXIT_CODES["interrupted"] == 8
    assert_all_outputs(scratch)
    result = result_of(scratch)
    assert result["outcome"] == "interrupted" and result["error"]["value"] == "received SIGTERM"
    assert result["cells_executed"] == 3 and "time.sleep(120)" in result["failed_cell_source"]
    shown = texts(output_nb(scratch))
    assert all(f"cell {i} ran" in shown for i in range(3)) and "sleeping" in shown
    html = (scratch / contract.REPORT_HTML).read_text()
    assert "cell 2 ran" in html


@NEEDS_KERNEL
def test_sys_exit_zero_is_not_a_failure(tmp_path: Path) -> None:
    nb = make_notebook("print('kept')", "import sys\nsys.exit(0)", "print('skipped')")
    scratch = stage(tmp_path, nb, report=False)

    code, _, _ = run_job(scratch)

    assert code == 0
    result = result_of(scratch)
    assert result["outcome"] == "completed" and result["error"] is None
    assert result["cells_executed"] == 2 and result["cells_total"] == 3


@NEEDS_KERNEL
def test_unknown_kernel_falls_back_to_python3(tmp_path: Path) -> None:
    scratch = stage(tmp_path, make_notebook("print('ran')", kernel="no-such-kernel"), report=False)

    code, _, err = run_job(scratch)

    assert code == 0
    manifest = json.loads((scratch / contract.MANIFEST_JSON).read_text())
    assert manifest["kernel"]["requested"] == "no-such-kernel"
    assert manifest["kernel"]["name"] == "python3" and manifest["kernel"]["fallback"] is True
    assert "no-such-kernel" in err and "ran" in texts(output_nb(scratch))


@NEEDS_KERNEL
def test_runs_without_the_report_module(tmp_path: Path) -> None:
    scratch = stage(tmp_path, make_notebook("print('ran')"))
    (scratch / contract.REPORT_NAME).unlink()

    code, _, err = run_job(scratch)

    assert code == 0
    assert_all_outputs(scratch)
    assert result_of(scratch)["outcome"] == "completed"
    assert contract.REPORT_NAME in err


@NEEDS_KERNEL
def test_wall_time_limit_stops_the_notebook_and_keeps_its_outputs(tmp_path: Path) -> None:
    nb = make_notebook("print('early work')", "import time\ntime.sleep(300)", "print('late')")
    # 20 s: ample for the kernel's start and the first cell even on a loaded machine.
    scratch = stage(tmp_path, nb, wall_time=20, report=False)

    started = time.monotonic()
    code, _, _ = run_job(scratch)

    assert code == contract.EXIT_CODES["wall_time"] == 9
    assert time.monotonic() - started < 200  # stopped, not left to sleep its 300 s
    assert_all_outputs(scratch)
    result = result_of(scratch)
    assert result["outcome"] == "wall_time" and "20 s" in result["error"]["value"]
    assert "time.sleep(300)" in result["failed_cell_source"]
    assert "early work" in texts(output_nb(scratch))


@NEEDS_KERNEL
def test_partial_notebook_is_saved_while_running(tmp_path: Path) -> None:
    nb = make_notebook(
        "print('first')", "import time\ntime.sleep(2)", "print('second')", "time.sleep(120)"
    )
    scratch = stage(tmp_path, nb, autosave_seconds=1)
    proc = start(scratch)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "executing cell 4 of 4" in line:
            break

    time.sleep(3)  # autosave_seconds=1, checked every second even during a silent cell
    on_disk = texts(output_nb(scratch))  # read while the last cell is still running

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 8
    assert "first" in on_disk and "second" in on_disk
