"""JupyterLab in a real headless Chromium (Debian's package): Create Job -> HTCondor -> Completed.

Needs ``chromium`` (``apt-get install chromium``; never ``playwright install``) and the
Python ``playwright`` package. A screenshot is saved under tests/browser/artifacts/.
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

if not Path(CHROMIUM).is_file():
    pytest.skip("chromium is not installed: apt-get install chromium (make system)",
                allow_module_level=True)  # fmt: skip
pytest.importorskip("playwright", reason="needs the playwright Python package ([jupyter-test])")
pytest.importorskip("jupyterlab", reason="needs the [jupyter] extra")
pytestmark = pytest.mark.pool


@pytest.fixture
def lab(tmp_path: Path, pool_env: dict[str, str]) -> Iterator[object]:
    helpers = _jupyter_helpers()
    TOKEN, Server = helpers.TOKEN, helpers.Server

    class Lab(Server):
        def start(self, *extra: str) -> None:
            super().start("--ServerApp.jpserver_extensions=jupyterlab=True", *extra)

        @property
        def lab_url(self) -> str:
            return f"{self.url}/lab?token={TOKEN}"

    srv = Lab(tmp_path, pool_env)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_create_notebook_job_in_the_ui_reaches_completed(lab: object) -> None:
    from playwright.sync_api import expect, sync_playwright

    lab.notebook("hello_ui.ipynb", ["print('hello', who)"], params='who = "nobody"')  # type: ignore[attr-defined]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="chromium-profile-"), executable_path=CHROMIUM,
            headless=True, args=ARGS, viewport={"width": 1400, "height": 900},
        )  # fmt: skip
        try:
            page = browser.new_page()
            page.goto(lab.lab_url)  # type: ignore[attr-defined]
            page.get_by_text("hello_ui.ipynb", exact=True).click(button="right", timeout=90_000)
            page.locator(".lm-Menu-itemLabel", has_text="Create Job").click()
            expect(page.get_by_text("Create Job", exact=True).first).to_be_visible()
            expect(page.get_by_label("Environment")).to_contain_text("personal")
            page.get_by_title("Add new parameter").click()
            for field, text in (("name", "who"), ("value", "HTCondor")):
                box = page.locator(f"input[name='parameter-0-{field}']")
                box.click()
                box.press_sequentially(text)  # typed, so the form validates as for a user
                box.press("Tab")
            page.screenshot(path=str(ARTIFACTS / "create_job_form.png"))
            page.get_by_role("button", name="Create", exact=True).click()
            row = page.locator("tr", has_text="hello_ui")
            expect(row.first).to_be_visible(timeout=60_000)
            for _ in range(60):
                if "Completed" in row.first.inner_text():
                    break
                page.wait_for_timeout(3000)
                reload = page.get_by_role("button", name="Reload")
                if reload.count():
                    reload.first.click()
            page.screenshot(path=str(ARTIFACTS / "create_job_completed.png"))
            assert "Completed" in row.first.inner_text(), row.first.inner_text()
        finally:
            browser.close()
