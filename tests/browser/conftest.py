"""Real-browser tests: JupyterLab in Debian's headless Chromium, driven by Playwright.

Needs ``chromium`` (``apt-get install chromium``, ``make system``; never ``playwright
install``) and the Python ``playwright`` package ([jupyter-test]). Fixtures:

- ``lab``: a real Jupyter server with JupyterLab and condor_nb's extensions, on the
  personal pool (tests/jupyter/conftest.py's ``Server``); ``lab.notebook(...)`` writes a
  notebook into its root, ``lab.lab_url`` opens JupyterLab.
- ``page``: a Playwright page in a fresh Chromium profile; ``browser.shots.shot(page, name)``
  saves a screenshot under tests/browser/artifacts/.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from integration.conftest import pool_env  # noqa: E402


def _jupyter_helpers() -> Any:
    """tests/jupyter/conftest.py, loaded by path: with tests/unit/conftest.py also in the
    run, the bare name ``conftest`` is ambiguous."""
    import importlib.util

    path = REPO / "tests" / "jupyter" / "conftest.py"
    spec = importlib.util.spec_from_file_location("condor_nb_jupyter_test_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


__all__ = ["pool_env"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).with_name("artifacts")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every browser test needs the pool, Chromium, playwright and JupyterLab."""
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.pool)


@pytest.fixture
def lab(tmp_path: Path, pool_env: dict[str, str]) -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed: apt-get install chromium (make system)")
    pytest.importorskip("playwright", reason="needs the playwright Python package ([jupyter-test])")
    pytest.importorskip("jupyterlab", reason="needs the [jupyter] extra")
    helpers = _jupyter_helpers()
    TOKEN, Server = helpers.TOKEN, helpers.Server

    class Lab(Server):  # type: ignore[misc,valid-type]
        def start(self, *extra: str) -> None:
            # Its own workspaces and settings: ~/.jupyter/lab's are shared by every server
            # on the machine, and a layout saved by another (the Jobs tab open, the file
            # browser closed) would be restored here.
            lab_dir = tmp_path / "lab"
            super().start(
                "--ServerApp.jpserver_extensions=jupyterlab=True",
                f"--LabApp.workspaces_dir={lab_dir / 'workspaces'}",
                f"--LabApp.user_settings_dir={lab_dir / 'user-settings'}",
                *extra,
            )

        @property
        def lab_url(self) -> str:
            return f"{self.url}/lab?token={TOKEN}"

    srv = Lab(tmp_path, pool_env)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def page(lab: Any) -> Iterator[Any]:
    """A page in a fresh headless Chromium (its own profile), closed after the test."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="chromium-profile-"), executable_path=CHROMIUM,
            headless=True, args=ARGS, viewport={"width": 1400, "height": 900},
        )  # fmt: skip
        try:
            yield browser.new_page()
        finally:
            browser.close()
