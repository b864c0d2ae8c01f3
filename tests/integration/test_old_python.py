"""A worker with Python 3.9 and ipykernel, no papermill: the shipped executor runs it.

This host's papermill & co. need Python >= 3.10 or 3.11; the zip also carries pinned
releases for 3.9 (condor_nb/submission/executor_py39.py) and the wrapper picks them. The worker is a
real Debian 11 root (tests/integration/old_python.py: its Python 3.9.2 and
python3-ipykernel 5.4.3), and the job files are staged by the submit side's own code
and run by the real wrapper, as HTCondor runs it: ``python3 condor_nb_run.py`` in the
scratch folder, as an unprivileged user; and as a real job of the personal pool, whose
worker_python is that Debian 11 Python copied into the pool's root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from condor_nb import worker as remote
from condor_nb.contract import names as contract
from condor_nb.contract.names import (
    MANIFEST_JSON,
    OUTPUT_NOTEBOOK,
    REPORT_HTML,
    RESULT_JSON,
    VALUES_JSON,
)
from condor_nb.submission import executor, executor_py39

from . import old_python
from .conftest import cell_outputs, write_notebook

REPO = Path(__file__).resolve().parents[2]
#: Every file that runs on the worker, by its name there.
WORKER_FILES = {
    **remote.WRAPPER_FILES,
    "cron.py": REPO / "condor_nb/worker/cron.py",
}


@pytest.fixture(scope="module")
def root() -> Path:
    reason = old_python.unavailable()
    if reason:
        pytest.skip(reason)
    try:
        built = old_python.ensure()
    except old_python.RootUnavailable as exc:
        pytest.skip(f"cannot build the Debian 11 root: {exc}")
    code = "import sys, importlib.util as u; print(sys.version_info[:2], "
    code += "[m for m in ('ipykernel', 'papermill', 'nbclient', 'nbformat') if u.find_spec(m)])"
    probe = old_python.run_in_root(built, "/tmp", "python3", "-c", code)
    assert probe.stdout.strip() == "(3, 9) ['ipykernel']", probe.stdout + probe.stderr
    return built


@pytest.fixture
def scratch(root: Path) -> Iterator[Path]:
    """Job scratch folders inside the root, removed afterwards."""
    base = root / "tmp" / f"cnb-{uuid.uuid4().hex[:8]}"
    base.mkdir()
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _stage(folder: Path, cells: list[str], params: str, job: dict[str, object]) -> Path:
    """A job's in/ folder as the submit side fills it: the wrapper's files, the executor
    zip (condor_nb.submission.executor.stage), the job file and the notebook."""
    folder.mkdir()
    for name, source in remote.WRAPPER_FILES.items():
        shutil.copyfile(source, folder / name)
    executor.stage(folder)
    write_notebook(folder / "analysis.ipynb", cells, params=params)
    (folder / contract.JOB_JSON).write_text(json.dumps({"notebook": "analysis.ipynb", **job}))
    return folder


def test_python39_worker_runs_the_shipped_executor(root: Path, scratch: Path) -> None:
    # The worker's files are Python 3.9 code (the interpreter says so, not a linter).
    code_dir = scratch / "code"
    code_dir.mkdir()
    for name, source in WORKER_FILES.items():
        shutil.copyfile(source, code_dir / f"{name.removesuffix('.py')}.py")
    inside = "/" + str(code_dir.relative_to(root))
    check = "import sys\nfor f in sys.argv[1:]:\n    compile(open(f).read(), f, 'exec')"
    names = [f"{inside}/{name.removesuffix('.py')}.py" for name in WORKER_FILES]
    compiled = old_python.run_in_root(root, "/tmp", "python3", "-c", check, *names)
    assert compiled.returncode == 0, compiled.stderr

    cells = [
        "import sys, time\nimport condor_nb\nprint('worker', sys.version_info[:2], x)",
        "time.sleep(1.5)  # a periodic save happens meanwhile\ncondor_nb.record('answer', x * 2)",
    ]
    job = _stage(scratch / "ok", cells, "x = 1", {"parameters": {"x": 21}, "autosave_seconds": 1})
    proc = old_python.run_wrapper(root, job)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "could not" not in log and "WARNING" not in log, log  # periodic saves included
    result = json.loads((job / RESULT_JSON).read_text())
    assert result["outcome"] == "completed" and result["python"].startswith("3.9."), result
    outputs = "".join(cell_outputs(job / OUTPUT_NOTEBOOK))
    assert "worker (3, 9) 21" in outputs
    executed = json.loads((job / OUTPUT_NOTEBOOK).read_text())
    assert any("injected-parameters" in c["metadata"].get("tags", []) for c in executed["cells"])
    report = (job / REPORT_HTML).read_text(encoding="utf-8")
    assert "jp-Notebook" in report and "worker (3, 9) 21" in report  # nbconvert's, not the stub
    assert json.loads((job / VALUES_JSON).read_text())["answer"] == 42
    manifest = json.loads((job / MANIFEST_JSON).read_text())
    assert manifest["executor"]["source"] == "shipped", manifest["executor"]
    assert manifest["executor"]["tree"] == executor_py39.VARIANT_DIR
    papermill_pin = next(p for p in executor_py39.PINS if p.startswith("papermill=="))
    assert manifest["packages"]["papermill"] == papermill_pin.split("==")[1]
    assert manifest["packages"]["ipykernel"] == "5.4.3"  # the worker's own

    # The zip records the decision: which tree serves which Pythons.
    with zipfile.ZipFile(job / contract.EXECUTOR_NAME) as zf:
        info = json.loads(zf.read(executor.MANIFEST))
        tree = json.loads(zf.read(f"{executor_py39.VARIANT_DIR}/{executor.MANIFEST}"))
    # jinja2 (nbconvert's HTML above) is held once, in the main tree, for both trees.
    assert "jinja2" in tree["from_main"] and tree["shipped"]["jinja2"] == info["shipped"]["jinja2"]
    least = info["min_python"][0]
    assert info["variants"] == [
        {
            "dir": executor_py39.VARIANT_DIR,
            "min_python": "3.9",
            "below": least,
            "key": executor_py39.key(),
            "papermill": papermill_pin.split("==")[1],
        }
    ]

    # A failing cell on the 3.9 worker: the partial notebook, the error, exit code 3.
    bad = _stage(scratch / "bad", ["print('before')", "raise ValueError('boom 3.9')"], "x = 1", {})
    failed = old_python.run_wrapper(root, bad)
    assert failed.returncode == contract.EXIT_CODES["cell_error"], failed.stdout + failed.stderr
    result = json.loads((bad / RESULT_JSON).read_text())
    assert result["outcome"] == "cell_error" and "boom 3.9" in result["error"]["value"]
    assert "before" in "".join(cell_outputs(bad / OUTPUT_NOTEBOOK))
    assert "boom 3.9" in (bad / REPORT_HTML).read_text(encoding="utf-8")


def test_python39_worker_with_a_recent_ipykernel_stack(root: Path, scratch: Path) -> None:
    """The same tree serves a 3.9 worker at the other end: ipykernel 6, jupyter_client 8."""
    try:
        python = old_python.ensure_modern(root)
    except old_python.RootUnavailable as exc:
        pytest.skip(f"cannot build the ipykernel 6 venv: {exc}")
    cells = ["import sys\nprint('worker', sys.version_info[:2], x)"]
    job = _stage(scratch / "ok", cells, "x = 1", {"parameters": {"x": 7}})
    proc = old_python.run_wrapper(root, job, python)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "WARNING" not in log, log
    assert "worker (3, 9) 7" in "".join(cell_outputs(job / OUTPUT_NOTEBOOK))
    assert "worker (3, 9) 7" in (job / REPORT_HTML).read_text(encoding="utf-8")
    manifest = json.loads((job / MANIFEST_JSON).read_text())
    assert manifest["executor"]["tree"] == executor_py39.VARIANT_DIR, manifest["executor"]
    assert manifest["packages"]["ipykernel"] == old_python.MODERN_PIN.split("==")[1]
    assert manifest["packages"]["jupyter_client"].startswith("8."), manifest["packages"]
    assert manifest["python"]["executable"] == python


@pytest.mark.pool
def test_python39_worker_as_a_pool_job(cnb: Any, pool_env: dict[str, str], root: Path) -> None:
    """The same, as a real job of the personal pool: Debian 11's Python 3.9 copied into
    the pool's root (old_python.install_in_pool_root), picked with worker_python."""
    if pool_env:
        pytest.skip("installs Debian 11's Python into the personal pool's root")
    from condor_nb import pool

    python = old_python.install_in_pool_root(pool.pool_paths().root)
    cnb.env["CONDOR_NB_WORKER_PYTHON"] = python
    cells = [
        "import sys\nimport condor_nb\nprint('worker', sys.version_info[:2], x)",
        "condor_nb.record('answer', x * 2)",
    ]
    nb = cnb.notebook("py39.ipynb", cells, params="x = 1")
    job_id = cnb.run("submit", str(nb), "--no-cache", "-p", "x", "21", check=True).stdout.split()[1]
    done = cnb.run("wait", job_id, "-o", str(cnb.workdir / "out"))
    assert done.returncode == 0, done.stdout + done.stderr
    executed = next((cnb.workdir / "out").glob("*.ipynb"))
    assert "worker (3, 9) 21" in "".join(cell_outputs(executed))
    report = next((cnb.workdir / "out").glob("*.html")).read_text(encoding="utf-8")
    assert "jp-Notebook" in report and "worker (3, 9) 21" in report
    out = cnb.settings().jobs_dir / job_id / "out"
    manifest = json.loads((out / MANIFEST_JSON).read_text())
    assert manifest["executor"]["tree"] == executor_py39.VARIANT_DIR, manifest["executor"]
    assert manifest["python"]["version"].startswith("3.9."), manifest["python"]
    assert manifest["packages"]["ipykernel"] == "5.4.3"
    assert json.loads((out / VALUES_JSON).read_text())["answer"] == 42


def test_no_index_warns_and_ships_the_main_tree_and_off_ships_it_quietly(tmp_path: Path) -> None:
    """With no index reachable (real pip against a refused address) the submission still
    gets an executor: the main tree only, with a warning saying why and what to do, and
    the reason in the zip; CONDOR_NB_EXECUTOR_OLD_PYTHONS=off builds it without asking."""
    env = {
        "CONDOR_NB_EXECUTOR_CACHE": str(tmp_path / "cache"),
        "PIP_CONFIG_FILE": "/dev/null",  # this machine's pip.conf may add local indexes
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",  # discard port: refused
        "PIP_NO_CACHE_DIR": "1",
    }
    code = "from condor_nb.submission import executor; print(executor.archive())"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}
    )
    assert proc.returncode == 0, proc.stderr
    assert "ExecutorWarning" in proc.stderr and "no tree for worker Pythons 3.9" in proc.stderr
    assert "cannot download" in proc.stderr and "CONDOR_NB_EXECUTOR_OLD_PYTHONS=off" in proc.stderr
    with zipfile.ZipFile(proc.stdout.strip()) as zf:
        info = json.loads(zf.read(executor.MANIFEST))
        assert info["variants"] == [] and "pip exited" in info["variants_unavailable"]["why"]
        assert not any(n.startswith(executor_py39.VARIANT_DIR) for n in zf.namelist())
    assert not list((tmp_path / "cache").rglob(".building-*")), "a zip was left half-built"

    env[executor_py39.ENV] = "off"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}
    )
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(proc.stdout.strip()) as zf:
        info = json.loads(zf.read(executor.MANIFEST))
        assert info["variants"] == []
        assert not any(n.startswith(executor_py39.VARIANT_DIR) for n in zf.namelist())
