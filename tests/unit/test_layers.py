"""The layer check of `make lint` (import-linter, configured in pyproject.toml) fails on
an upward import or an import cycle: planted in a copy of the package, never in the real one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=package_parent, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    shutil.copytree(
        REPO / "condor_nb", tmp_path / "condor_nb", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def plant(root: Path, module: str, line: str) -> None:
    path = root / "condor_nb" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n\ndef _planted() -> None:\n    {line}\n")


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed")
def test_the_copy_passes_as_the_package_does(package_copy: Path) -> None:
    result = lint_imports(package_copy)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed")
def test_an_upward_import_inside_a_function_fails_the_check(package_copy: Path) -> None:
    plant(package_copy, "spec/units.py", "from condor_nb.cli import main  # noqa")
    result = lint_imports(package_copy)
    assert result.returncode != 0
    assert "condor_nb.spec is not allowed to import condor_nb.cli" in result.stdout
    assert "condor_nb.spec.units -> condor_nb.cli.main" in result.stdout


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed")
def test_a_cycle_between_modules_of_one_package_fails_the_check(package_copy: Path) -> None:
    # spec.params imports spec.units; the planted import closes the loop.
    plant(package_copy, "spec/units.py", "from condor_nb.spec import params  # noqa")
    result = lint_imports(package_copy)
    assert result.returncode != 0
    assert "No cycles are allowed in condor_nb.spec" in result.stdout
