"""Real-browser tests: JupyterLab in Debian's headless Chromium, driven by Playwright.

Needs ``chromium`` (``apt-get install chromium``, ``make system``; never ``playwright
install``) and the Python ``playwright`` package ([jupyter-test]). Fixtures:

- ``lab``: a real Jupyter server with JupyterLab and condor_nb's extensions, on the
  personal pool (tests/jupyter/conftest.py's ``Server``); ``lab.notebook(...)`` writes a
  notebook into its root, ``lab.lab_url`` opens JupyterLab.
- ``page``: a Playwright page in a fresh Chromium profile; ``browser.shots.shot(page, name)``
  saves a screenshot under tests/browser/artifacts/.

Helpers for modules that share one server and page (tests/browser/test_panel.py):
``lab_server`` / ``lab_class`` (the server), ``chromium`` (a browser), ``open_panel``
(the HTCondor jobs side panel), ``wait_for`` (bounded polling), ``watch_cells`` (a job
row's "cell N of M" while it runs), ``notebook_jobs_until_done`` (jupyter-scheduler's
list, reloaded until the job ended).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from browser.shots import shot  # noqa: E402
from integration.conftest import pool_env  # noqa: E402


@functools.cache
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


__all__ = ["pool_env", "shot"]
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


def lab_class(base: Path) -> Any:
    """A JupyterLab server class (tests/jupyter/conftest.py's ``Server``, JupyterLab on)
    keeping its workspaces and settings under ``base``: ~/.jupyter/lab's are shared by
    every server on the machine, and a layout saved by another (the Jobs tab open, the
    file browser closed) would be restored here. A restart keeps its port, so an open
    page recovers by itself."""
    helpers = _jupyter_helpers()

    class Lab(helpers.Server):  # type: ignore[misc,name-defined]
        token = helpers.TOKEN

        def start(self, *extra: str) -> None:
            port, fresh = self.port, helpers.free_port
            if port:
                helpers.free_port = lambda: port  # the same port after a restart
            try:
                super().start(
                    "--ServerApp.jpserver_extensions=jupyterlab=True",
                    f"--LabApp.workspaces_dir={base / 'lab' / 'workspaces'}",
                    f"--LabApp.user_settings_dir={base / 'lab' / 'user-settings'}",
                    *extra,
                )
            finally:
                helpers.free_port = fresh

        @property
        def lab_url(self) -> str:
            return f"{self.url}/lab?token={self.token}"

        def cnb(self, *args: str) -> str:
            """Run the condor_nb CLI in the server's root, with its condor_nb home."""
            proc = subprocess.run(
                [sys.executable, "-m", "condor_nb", *args], cwd=self.root, env=self.env,
                capture_output=True, text=True, timeout=240,
            )  # fmt: skip
            assert proc.returncode == 0, f"condor_nb {' '.join(args)}: {proc.stdout}{proc.stderr}"
            return proc.stdout.strip()

    return Lab


def needs_browser() -> None:
    """Skip unless Chromium, playwright and JupyterLab are there."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed: apt-get install chromium (make system)")
    pytest.importorskip("playwright", reason="needs the playwright Python package ([jupyter-test])")
    pytest.importorskip("jupyterlab", reason="needs the [jupyter] extra")


@contextmanager
def lab_server(base: Path, env: dict[str, str], *extra: str) -> Iterator[Any]:
    """A started JupyterLab server; on exit stopped, and its home's leftover jobs removed."""
    from integration.conftest import remove_leftover_jobs

    srv = lab_class(base)(base, env)
    srv.start(*extra)
    try:
        yield srv
    finally:
        srv.stop()
        remove_leftover_jobs(srv.home)


@contextmanager
def chromium(height: int = 900) -> Iterator[Any]:
    """A headless Chromium with a fresh profile (a Playwright browser context)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="chromium-profile-"), executable_path=CHROMIUM,
            headless=True, args=ARGS, viewport={"width": 1400, "height": height},
        )  # fmt: skip
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def lab(tmp_path: Path, pool_env: dict[str, str]) -> Iterator[Any]:
    needs_browser()
    with lab_server(tmp_path, pool_env) as srv:
        yield srv


@pytest.fixture
def page(lab: Any) -> Iterator[Any]:
    """A page in a fresh headless Chromium (its own profile), closed after the test."""
    with chromium() as browser:
        yield browser.new_page()


def wait_for(
    check: Any, what: str, timeout: float = 300, step_ms: int = 500, page: Any = None
) -> Any:
    """Poll ``check()`` until it returns something truthy (a bound on waiting, no timing
    asserted); ``page`` waits between polls with Playwright (events keep flowing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if page is not None:
            page.wait_for_timeout(step_ms)
        else:
            time.sleep(step_ms / 1000)
    raise AssertionError(f"timed out waiting for {what}")


def open_panel(page: Any, url: str | None = None) -> Any:
    """The HTCondor jobs side panel (``#condor-nb-panel``), opened once JupyterLab is up
    (at ``url`` if given). A click on the active side tab collapses it: click until shown."""
    from playwright.sync_api import expect

    if url is not None:
        page.goto(url)
    panel = page.locator("#condor-nb-panel")
    tab = page.locator(".jp-SideBar .lm-TabBar-tab[title='HTCondor jobs']")
    tab.wait_for(timeout=120_000)
    page.locator(".jp-DirListing-content").wait_for(state="attached", timeout=120_000)
    wait_for(lambda: panel.is_visible() or tab.click() or False, "the panel shown", 60,
             step_ms=1000, page=page)  # fmt: skip
    expect(panel.get_by_role("status").first).to_have_attribute(
        "data-connection", "ok", timeout=60_000
    )
    return panel


def watch_cells(page: Any, row: Any, shots: str, timeout: float = 600) -> set[str]:
    """The "cell N of M" texts a job row's bar showed while it ran, until it ended (a
    screenshot ``<shots>_<n>`` of each)."""
    seen: set[str] = set()

    def ended() -> bool:
        state = row.get_attribute("data-state")
        bar = row.get_by_role("progressbar")
        if state == "RUNNING" and bar.count():
            text = bar.get_attribute("aria-valuetext") or ""
            if text.startswith("cell ") and text not in seen:
                seen.add(text)
                shot(page, f"{shots}_{len(seen)}")
        return state in ("COMPLETED", "FAILED")

    wait_for(ended, "the job to end", timeout, page=page)
    return seen


def notebook_jobs_until_done(page: Any, row: Any, tries: int = 60) -> str:
    """jupyter-scheduler's Notebook Jobs list, reloaded until ``row`` says Completed or
    Failed; its text."""
    for _ in range(tries):
        text = str(row.inner_text())
        if "Completed" in text or "Failed" in text:
            return text
        page.wait_for_timeout(3000)
        reload = page.get_by_role("button", name="Reload")
        if reload.count():
            reload.first.click()
    return str(row.inner_text())
