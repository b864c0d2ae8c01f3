"""Workers without papermill: condor_nb brings its own executor (real pool, real jobs).

The worker Pythons live in the personal pool's root (tests/integration/bare_python.py):
one with ipykernel and nothing else of the Jupyter stack, one with no ipykernel at all.
Jobs pick them with ``worker_python``, as a user would for an image's own Python.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import pytest

from condor_nb.contract import MANIFEST_JSON, RESULT_JSON, VALUES_JSON

from . import bare_python
from .conftest import cell_outputs

pytestmark = pytest.mark.pool


@pytest.fixture(scope="module")
def worker_pythons(pool_env: dict[str, str]) -> tuple[str, str]:
    if pool_env:
        pytest.skip("builds worker Pythons inside the personal pool's root")
    from condor_nb import pool

    root = pool.pool_paths().root
    bare, no_ipykernel = bare_python.ensure(root)
    assert bare_python.importable(root, bare, "ipykernel")
    for module in bare_python.HIDDEN:
        assert not bare_python.importable(root, bare, module), f"{bare} has {module}"
    assert not bare_python.importable(root, no_ipykernel, "ipykernel")
    return bare, no_ipykernel


def _submit(cnb: Any, nb: Path, python: str, *args: str) -> str:
    cnb.env["CONDOR_NB_WORKER_PYTHON"] = python
    proc = cnb.run("submit", str(nb), "--no-cache", *args, check=True)
    return proc.stdout.split()[1]


def test_bare_worker_runs_the_shipped_executor_and_no_ipykernel_fails(
    cnb: Any, worker_pythons: tuple[str, str]
) -> None:
    bare, no_ipykernel = worker_pythons
    cells = [
        "import sys, json\nimport condor_nb\nprint('worker', sys.version_info[:2], x)",
        "condor_nb.record('answer', x * 2)",
        "try:\n    import yaml  # in the shipped zip, not in the kernel\nexcept ImportError:\n"
        "    yaml = None\nprint('yaml', yaml)",
    ]
    nb = cnb.notebook("bare.ipynb", cells, params="x = 1")
    ok_id = _submit(cnb, nb, bare, "-p", "x", "21")
    failing = cnb.notebook("noipk.ipynb", ["print('never runs')"])
    bad_id = _submit(cnb, failing, no_ipykernel)

    done = cnb.run("wait", ok_id, "-o", str(cnb.workdir / "ok"))
    assert done.returncode == 0, done.stdout + done.stderr
    out = cnb.workdir / "ok"
    executed = next(out.glob("*.ipynb"))
    assert "worker (3, 13) 21" in "".join(cell_outputs(executed))
    assert "yaml None" in "".join(cell_outputs(executed))  # the kernel never sees the zip
    report = next(out.glob("*.html")).read_text(encoding="utf-8")
    assert "jp-Notebook" in report and "worker (3, 13) 21" in report  # nbconvert's, not the stub
    job_dir = cnb.settings().jobs_dir / ok_id
    manifest = json.loads((job_dir / "out" / MANIFEST_JSON).read_text())
    assert manifest["executor"]["source"] == "shipped"
    assert "the worker has no papermill" in manifest["executor"]["reason"]
    from importlib import metadata

    assert manifest["packages"]["papermill"] == metadata.version("papermill")
    assert manifest["python"]["executable"] == bare
    values = json.loads((job_dir / "out" / VALUES_JSON).read_text())
    assert values["answer"] == 42

    # Parity: the real differences, and nothing else.
    parity = cnb.run("parity", ok_id)
    assert parity.returncode == 1, parity.stdout + parity.stderr
    text = parity.stdout
    assert f"python version: here {platform.python_version()}, on the worker 3.13" in text
    assert "papermill: here installed" in text and "shipped by condor_nb" in text
    assert "package ipykernel: here " in text  # the image's own, older ipykernel
    from importlib import metadata as md

    assert f"import yaml: here {md.version('pyyaml')}, on the worker not installed" in text
    assert "not recorded" not in text and text.count("not installed") == 1
    assert "import sys" not in text and "import json" not in text  # standard library
    assert "import condor_nb" not in text  # the shipped record helper worked

    failed = cnb.run("wait", bad_id, "-o", str(cnb.workdir / "bad"))
    assert failed.returncode == 9, failed.stdout + failed.stderr
    message = failed.stdout + failed.stderr
    assert f"{bad_id} FAILED" in message
    assert f"this worker's Python 3.13.5 ({no_ipykernel}) has no ipykernel" in message
    assert "use an image with ipykernel" in message
    bad_out = cnb.settings().jobs_dir / bad_id / "out"
    result = json.loads((bad_out / RESULT_JSON).read_text())
    assert result["outcome"] == "input_error" and "no ipykernel" in result["error"]["value"]
