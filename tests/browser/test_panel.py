"""The condor_nb panel in a real browser, against a real Jupyter server and the pool.

One JupyterLab server and one Chromium page for the whole module (server starts are
slow); jobs are made with the CLI (the Create Job form is tested elsewhere) in the
server's own condor_nb home, so the panel shows them as a user's CLI jobs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser.conftest import ARGS, CHROMIUM, _jupyter_helpers
from browser.shots import shot

REPO = Path(__file__).resolve().parents[2]
CNB = [sys.executable, "-m", "condor_nb"]


class _Lab:
    """One server for the module; restarts keep its port so an open page can recover."""

    def __init__(self, base: Path, env: dict[str, str]) -> None:
        helpers = _jupyter_helpers()
        self.token = helpers.TOKEN
        outer = self

        class Lab(helpers.Server):  # type: ignore[misc,name-defined]
            def start(self, *extra: str) -> None:
                port = self.port
                if port:
                    helpers.free_port = lambda: port  # the same port after a restart
                try:
                    super().start(
                        "--ServerApp.jpserver_extensions=jupyterlab=True",
                        f"--LabApp.workspaces_dir={base / 'workspaces'}",  # not ~/.jupyter's
                        *extra,
                    )
                finally:
                    helpers.free_port = outer._free_port

        self._free_port = helpers.free_port
        self.srv = Lab(base, env)

    def cnb(self, *args: str) -> str:
        """Run the condor_nb CLI in the server's root, with the server's condor_nb home."""
        proc = subprocess.run(
            [*CNB, *args], cwd=self.srv.root, env=self.srv.env, capture_output=True, text=True,
            timeout=240,
        )  # fmt: skip
        assert proc.returncode == 0, f"condor_nb {' '.join(args)}: {proc.stdout}{proc.stderr}"
        return proc.stdout.strip()


@pytest.fixture(scope="module")
def panel_lab(tmp_path_factory: pytest.TempPathFactory, pool_env: dict[str, str]) -> Iterator[_Lab]:
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed: apt-get install chromium (make system)")
    pytest.importorskip("playwright", reason="needs the playwright Python package ([jupyter-test])")
    pytest.importorskip("jupyterlab", reason="needs the [jupyter] extra")
    from integration.conftest import remove_leftover_jobs

    lab = _Lab(tmp_path_factory.mktemp("panel"), pool_env)
    lab.srv.start()
    try:
        yield lab
    finally:
        lab.srv.stop()
        remove_leftover_jobs(lab.srv.home)


@pytest.fixture(scope="module")
def panel_page(panel_lab: _Lab) -> Iterator[Any]:
    """JupyterLab in headless Chromium with the HTCondor jobs side panel open."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="chromium-profile-"), executable_path=CHROMIUM,
            headless=True, args=ARGS, viewport={"width": 1400, "height": 1000},
        )  # fmt: skip
        try:
            page = browser.new_page()
            page.goto(f"{panel_lab.srv.url}/lab?reset&token={panel_lab.token}")
            tab = page.locator(".jp-SideBar .lm-TabBar-tab[title='HTCondor jobs']")
            tab.wait_for(timeout=120_000)
            page.locator(".jp-DirListing-content").wait_for(state="attached", timeout=120_000)
            for _ in range(5):  # a click on the active tab collapses it: click until shown
                if panel(page).is_visible():
                    break
                tab.click()
                page.wait_for_timeout(1000)
            expect(panel(page)).to_be_visible()
            expect(panel(page).get_by_role("status").first).to_have_attribute(
                "data-connection", "ok", timeout=60_000
            )
            yield page
        finally:
            browser.close()


def panel(page: Any) -> Any:
    return page.locator("#condor-nb-panel")


def job_row(page: Any, job_id: str) -> Any:
    return panel(page).locator(f"li[data-kind='job'][data-id='{job_id}']")


def wait_for(
    check: Any, what: str, timeout: float = 300, step_ms: int = 500, page: Any = None
) -> Any:
    """Poll ``check()`` until it returns something truthy (no timing is asserted)."""
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


def schedd_ad(lab: _Lab, job_id: str) -> dict[str, Any]:
    """The job ad the schedd really holds (queue, then history)."""
    from condor_nb.condor import schedd
    from condor_nb.settings import load_settings

    settings = load_settings(
        home=lab.srv.home, condor_config=os.environ.get("CONDOR_NB_TEST_CONDOR_CONFIG")
    )
    constraint = f'CondorNbId == "{job_id}"'
    client = schedd.client_for(settings)
    ads = client.query(constraint, []) or client.history(constraint, [], match=1)
    assert ads, f"job {job_id} not on the schedd"
    return dict(ads[0])


def test_running_job_shows_its_cells_then_opens_its_output(
    panel_lab: _Lab, panel_page: Any
) -> None:
    page = panel_page
    cells = [f"import time\ntime.sleep(4)\nstep = {i}" for i in range(6)]
    panel_lab.srv.notebook("progress.ipynb", cells, params="who = 'x'")
    job_id = panel_lab.cnb("submit", "progress.ipynb", "--name", "progress", "--no-cache", "-q")
    row = job_row(page, job_id)
    row.wait_for(timeout=120_000)
    seen: set[str] = set()

    def progressed() -> bool:
        state = row.get_attribute("data-state")
        bar = row.get_by_role("progressbar")
        if state == "RUNNING" and bar.count():
            text = bar.get_attribute("aria-valuetext") or ""
            if text.startswith("cell ") and text not in seen:
                seen.add(text)
                shot(page, f"panel_progress_{len(seen)}")
        return len(seen) >= 2 or state in ("COMPLETED", "FAILED")

    wait_for(progressed, "the job's cell to advance in the panel", timeout=600, page=page)
    assert len(seen) >= 2, f"the progress bar did not advance while running: {seen}"
    assert all(re.fullmatch(r"cell \d+ of \d+", s) for s in seen), seen
    wait_for(
        lambda: row.get_attribute("data-state") == "COMPLETED", "Completed", timeout=600, page=page
    )
    shot(page, "panel_completed")
    assert "runtime" in row.locator(".cnb-usage").inner_text()

    row.get_by_role("button", name="Open output progress").click()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab[title*='condor_nb_outputs/']")
    tab.first.wait_for(timeout=120_000)
    title = tab.first.get_attribute("title") or ""
    assert job_id in title and ".ipynb" in title, title
    path = re.search(r"Path: (\S+\.ipynb)", title)
    assert path, title
    nb = json.loads((panel_lab.srv.root / path.group(1)).read_text())
    assert all(c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code"), path
    page.wait_for_timeout(1000)
    shot(page, "panel_open_output")


def test_no_match_job_says_why_and_is_removed_from_the_panel(
    panel_lab: _Lab, panel_page: Any
) -> None:
    page = panel_page
    panel_lab.srv.notebook("huge.ipynb", ["print('never')"])
    job_id = panel_lab.cnb(
        "submit",
        "huge.ipynb",
        "--name",
        "huge",
        "--cpus",
        "512",
        "--allow-no-match",
        "--no-cache",
        "-q",
    )
    row = job_row(page, job_id)
    row.wait_for(timeout=120_000)
    note = row.locator(".cnb-note[data-note='reason']")
    note.wait_for(timeout=120_000)
    shot(page, "panel_no_match")
    assert row.get_attribute("data-state") == "QUEUED"
    assert re.search(r"cpu", note.inner_text(), re.I), note.inner_text()

    row.get_by_role("button", name="Remove huge").click()
    wait_for(
        lambda: row.count() == 0 or row.get_attribute("data-state") == "REMOVED",
        "removal",
        page=page,
    )
    ad = schedd_ad(panel_lab, job_id)
    assert ad["JobStatus"] in (3, 4), ad["JobStatus"]  # removed (never ran)


def test_held_job_is_released_from_the_panel(panel_lab: _Lab, panel_page: Any) -> None:
    page = panel_page
    panel_lab.srv.notebook("held.ipynb", ["print('released')"])
    job_id = panel_lab.cnb("submit", "held.ipynb", "--name", "heldjob", "--no-cache", "-q")
    panel_lab.cnb("hold", job_id)
    row = job_row(page, job_id)
    wait_for(
        lambda: row.count() and row.get_attribute("data-state") == "HELD",
        "HELD in the panel",
        page=page,
    )
    assert row.locator(".cnb-note").inner_text().strip(), "a held job says why"
    shot(page, "panel_held")
    row.get_by_role("button", name="Release heldjob").click()
    wait_for(
        lambda: schedd_ad(panel_lab, job_id)["JobStatus"] != 5, "the schedd to release the job"
    )
    wait_for(
        lambda: row.get_attribute("data-state") != "HELD",
        "the panel to show it released",
        page=page,
    )
    shot(page, "panel_released")

    # Completed, outputs not fetched: Remove asks first; "Keep it" keeps it, the other
    # button removes it with force.
    wait_for(lambda: row.get_attribute("data-state") == "COMPLETED", "Completed", page=page)
    row.get_by_role("button", name="Remove heldjob").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=30_000)
    assert "Unfetched outputs will be lost" in dialog.inner_text()
    shot(page, "panel_remove_confirm")
    dialog.get_by_role("button", name="Keep it").click()
    assert row.get_attribute("data-state") == "COMPLETED"
    row.get_by_role("button", name="Remove heldjob").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Remove and lose outputs").click()
    message = panel(page).locator(".cnb-message")
    wait_for(lambda: "Removed heldjob" in (message.first.inner_text() if message.count() else ""),
             "the forced remove to be accepted", 120, page=page)  # fmt: skip


def test_sweep_is_one_row_with_its_procs_and_results(panel_lab: _Lab, panel_page: Any) -> None:
    page = panel_page
    panel_lab.srv.notebook(
        "grid.ipynb", ["total = a * len(b)\nprint(total)"], params="a = 1\nb = 'x'"
    )
    sweep_id = panel_lab.cnb(
        "sweep",
        "run",
        "grid.ipynb",
        "--grid",
        "a=1,2,3",
        "--grid",
        "b=x,yy",
        "--name",
        "gridsweep",
        "-q",
    )
    row = panel(page).locator(f"li[data-kind='sweep'][data-id='{sweep_id}']")
    row.wait_for(timeout=120_000)
    assert panel(page).locator("li[data-kind='sweep']", has_text="gridsweep").count() == 1
    assert "6 procs" in row.inner_text()
    row.get_by_role("button", name="Expand sweep gridsweep").click()
    procs = row.locator("li[data-kind='proc']")
    wait_for(lambda: procs.count() == 6, "the sweep's 6 procs", page=page)
    wait_for(
        lambda: row.locator("li[data-kind='proc'][data-state='COMPLETED']").count() == 6,
        "every proc Completed", timeout=900, page=page,
    )  # fmt: skip
    table = row.get_by_role("table", name="Results of sweep gridsweep")
    wait_for(
        lambda: table.count() and table.locator("tbody tr").count() == 6, "6 result rows", page=page
    )
    header = table.locator("thead").inner_text()
    assert "a" in header.split() and "b" in header.split(), header
    shot(page, "panel_sweep")
    segs = row.locator(".cnb-segment[data-state='COMPLETED']")
    assert segs.count() == 1
    # the sweep's procs are not listed again as jobs
    assert panel(page).locator("li[data-kind='job']", has_text="grid.ipynb").count() == 0


def test_schedule_shows_its_next_run(panel_lab: _Lab, panel_page: Any) -> None:
    page = panel_page
    panel_lab.srv.notebook("nightly.ipynb", ["print('night')"])
    panel_lab.cnb("schedule", "create", "nightly.ipynb", "--cron", "0 3 * * *", "--name", "nightly")
    row = panel(page).locator("li[data-kind='schedule']", has_text="nightly")
    row.wait_for(timeout=120_000)
    nxt = row.locator(".cnb-next")
    wait_for(lambda: (nxt.get_attribute("data-next-run") or "") != "", "a next run", page=page)
    assert float(nxt.get_attribute("data-next-run") or 0) > time.time()
    assert "Next run in" in nxt.inner_text(), nxt.inner_text()
    shot(page, "panel_schedule")
    panel_lab.cnb("schedule", "delete", row.get_attribute("data-id") or "?")


def test_panel_survives_a_server_restart_and_opens_in_the_main_area(
    panel_lab: _Lab, panel_page: Any
) -> None:
    from playwright.sync_api import expect

    page = panel_page
    status = panel(page).locator(".cnb-connection")
    panel_lab.srv.stop()
    wait_for(
        lambda: status.get_attribute("data-connection") == "lost", "the panel to notice", page=page
    )
    assert "Server unreachable, retrying" in status.inner_text()
    shot(page, "panel_server_down")
    panel_lab.srv.start()
    wait_for(
        lambda: status.get_attribute("data-connection") == "ok",
        "recovery without a reload",
        timeout=120,
        page=page,
    )
    shot(page, "panel_server_back")

    for _ in range(5):  # JupyterLab's own "Server Connection Error" dialog, if it showed
        dismiss = page.locator(".jp-Dialog .jp-Dialog-footer button")  # Close / Dismiss
        if not dismiss.count():
            break
        dismiss.last.click()
        page.wait_for_timeout(500)
    page.get_by_role("button", name="New Launcher").first.click()
    card = page.locator(".jp-LauncherCard:visible", has_text="HTCondor jobs")
    card.first.click(timeout=60_000)  # the launcher item opens the panel in the main area
    main = page.locator(".jp-MainAreaWidget .cnb-panel[data-where='main']")
    main.wait_for(timeout=60_000)
    rows = "li[data-kind='job'], li[data-kind='sweep'], li[data-kind='schedule']"
    # One model per tab: the new view shows at once the rows the side panel shows.
    expect(main.get_by_role("status").first).to_have_attribute("data-connection", "ok")
    side_rows = panel(page).locator(rows).count()
    wait_for(lambda: main.locator(rows).count() == side_rows, "the same rows", 60, page=page)
    shot(page, "panel_main_area")


def test_many_tabs_share_one_schedd_look_per_interval(panel_lab: _Lab, panel_page: Any) -> None:
    """Four browser tabs with the panel open poll the server; the server still looks at the
    schedd once per refresh interval (counted by the server, GET /condor_nb/panel/stats)."""
    page = panel_page
    tabs = []
    for _ in range(3):
        tab = page.context.new_page()
        tab.goto(f"{panel_lab.srv.url}/lab?token={panel_lab.token}")
        side = tab.locator(".jp-SideBar .lm-TabBar-tab[title='HTCondor jobs']")
        side.wait_for(timeout=120_000)
        for _ in range(5):
            if panel(tab).is_visible():
                break
            side.click()
            tab.wait_for_timeout(1000)
        wait_for(lambda t=tab: panel(t).is_visible(), "the panel in a new tab", 60, page=tab)
        tabs.append(tab)
    status, before = panel_lab.srv.request("GET", "/condor_nb/panel/stats")
    assert status == 200, before
    page.wait_for_timeout(30_000)
    status, after = panel_lab.srv.request("GET", "/condor_nb/panel/stats")
    assert status == 200, after
    requests = after["requests"] - before["requests"]
    looks = after["schedd_queries"] - before["schedd_queries"]
    interval = after["refresh_s"]
    shot(tabs[-1], "panel_fourth_tab")
    print(f"4 tabs, 30 s: {requests} requests, {looks} schedd looks (refresh {interval} s)")
    for tab in tabs:
        tab.close()
    # 4 tabs polling every interval for 30 s: about 4 x 6 requests, at most 7 looks.
    assert requests >= 3 * 30 / interval, (requests, looks, after)
    assert looks <= 30 / interval + 1, (requests, looks, after)
