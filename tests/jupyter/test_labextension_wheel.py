"""The JupyterLab extension is shipped prebuilt in the wheel: a user installs condor_nb
with pip and gets the form and the panel in JupyterLab, with no Node.js.

Builds the wheel from this tree (``make setup`` has built the extension), installs it
with ``pip install --no-deps --target`` (no Node.js involved), and asks JupyterLab's own
discovery, with only that install on its data path, what it finds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "jupyter_ext" / "condor_nb_jupyter" / "labextension"
NAME = "condor-nb-jupyterlab"


def test_wheel_carries_the_built_labextension_that_jupyterlab_finds(tmp_path: Path) -> None:
    if not (BUILT / "package.json").is_file():
        pytest.fail(f"{BUILT} is not built: run `make setup` (it builds the extension with npm)")
    # From a copy: setuptools builds in the source tree (build/), which must stay clean.
    src = tmp_path / "src"
    skip = shutil.ignore_patterns(".venv", ".git", "node_modules", "build", "tests", "*.egg-info")
    shutil.copytree(REPO, src, ignore=skip)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(src)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("condor_nb-*.whl")
    prefix = f"condor_nb-0.1.0.data/data/share/jupyter/labextensions/{NAME}/"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = json.loads(zf.read(prefix + "package.json"))
    # The entry point the built package.json names is in the wheel, beside it.
    load = meta["jupyterlab"]["_build"]["load"]
    assert prefix + load in names, sorted(n for n in names if NAME in n)
    assert meta["jupyterlab"]["disabledExtensions"] == ["@jupyterlab/scheduler:IAdvancedOptions"]
    # Not twice: the package data must not carry a second copy.
    assert not any(n.startswith("condor_nb_jupyter/labextension/") for n in names)

    # Install it as pip would lay it out (data files under the prefix's share/jupyter)
    # and let JupyterLab's discovery find it there.
    target = tmp_path / "prefix"
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.startswith(prefix):
                zf.extract(name, target)
    data = target / "condor_nb-0.1.0.data" / "data" / "share" / "jupyter"
    env = {**os.environ, "JUPYTER_PATH": str(data), "PATH": "/usr/bin:/bin"}  # no node on PATH
    where = str(data / "labextensions")
    code = (
        "from jupyterlab_server.config import get_federated_extensions; import json;"
        f"print(json.dumps(list(get_federated_extensions([{where!r}]))))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    assert NAME in json.loads(found.stdout), found.stdout
