"""Environment parity on the personal pool: the same Python mounted CVMFS-style, and not."""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.pool

VENV = Path(sys.prefix)
BASE = Path(sys.base_prefix)


@pytest.fixture
def mounted(pool_env: dict[str, str]) -> str:
    """The submitting side's virtualenv and base interpreter, read-only in the pool."""
    if pool_env:
        pytest.skip("mounts folders into the personal pool")
    from condor_nb import pool

    pool.start(mounts=[VENV, BASE])
    return str(VENV / "bin" / "python")


def _submit_and_wait(cnb: Any, *args: str) -> str:
    nb = cnb.notebook("env.ipynb", ["import json, papermill\nprint(papermill.__version__)"])
    proc = cnb.run("submit", str(nb), "--wait", "--no-cache", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.split()[1]


def test_same_environment_mounted_cvmfs_style_has_no_differences(cnb: Any, mounted: str) -> None:
    cnb.env["CONDOR_NB_WORKER_PYTHON"] = mounted
    job_id = _submit_and_wait(cnb)
    proc = cnb.run("parity", job_id)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"job {job_id}: no differences (Python {platform.python_version()}" in proc.stdout
    detail = cnb.run("status", job_id, check=True).stdout
    assert "no differences" in detail


def test_pool_python_differs_and_check_env_warns(cnb: Any) -> None:
    job_id = _submit_and_wait(cnb)  # the root's own python3 (3.13)
    proc = cnb.run("parity", job_id)
    assert proc.returncode == 1
    assert f"python version: here {platform.python_version()}, on the worker 3.13" in proc.stdout
    assert "package papermill: here" in proc.stdout
    assert "difference(s)" in cnb.run("status", job_id, check=True).stdout
    nb = cnb.notebook("env.ipynb", ["import json, papermill\nprint(papermill.__version__)"])
    checked = cnb.run("render", str(nb))  # render never preflights
    assert checked.returncode == 0
    again = cnb.run("submit", str(nb), "--check-env", "--no-cache")
    assert again.returncode == 0, again.stderr
    assert "check-env: " in again.stderr and f"with the worker of job {job_id}" in again.stderr
    assert "python version: here" in again.stderr
