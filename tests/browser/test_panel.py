"""The condor_nb panel in a real browser, against a real Jupyter server and the pool.

One JupyterLab server and one Chromium page for the whole module (server starts are
slow); jobs are made with the CLI (the Create Job form is tested elsewhere) in the
server's own condor_nb home, so the panel shows them as a user's CLI jobs.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser.conftest import (
    chromium,
    lab_server,
    needs_browser,
    open_panel,
    wait_for,
    watch_cells,
)
from browser.shots import shot


@pytest.fixture(scope="module")
def panel_lab(tmp_path_factory: pytest.TempPathFactory, pool_env: dict[str, str]) -> Iterator[Any]:
    """One JupyterLab server for the module (browser.conftest.lab_class)."""
    needs_browser()
    with lab_server(tmp_path_factory.mktemp("panel"), pool_env) as lab:
        yield lab


@pytest.fixture(scope="module")
def panel_page(panel_lab: Any) -> Iterator[Any]:
    """JupyterLab in headless Chromium with the HTCondor jobs side panel open."""
    with chromium(height=1000) as browser:
        page = browser.new_page()
        open_panel(page, f"{panel_lab.url}/lab?reset&token={panel_lab.token}")
        yield page


def panel(page: Any) -> Any:
    return page.locator("#condor-nb-panel")


def job_row(page: Any, job_id: str) -> Any:
    return panel(page).locator(f"li[data-kind='job'][data-id='{job_id}']")


def settings_of(lab: Any) -> Any:
    from condor_nb.settings import load_settings

    return load_settings(
        home=lab.home, condor_config=os.environ.get("CONDOR_NB_TEST_CONDOR_CONFIG")
    )


def schedd_ad(lab: Any, job_id: str) -> dict[str, Any]:
    """The job ad the schedd really holds (queue, then history)."""
    from condor_nb.condor import schedd

    constraint = f'CondorNbId == "{job_id}"'
    client = schedd.client_for(settings_of(lab))
    ads = client.query(constraint, []) or client.history(constraint, [], match=1)
    assert ads, f"job {job_id} not on the schedd"
    return dict(ads[0])


def opened_tab(page: Any, job_id: str, suffix: str) -> tuple[Any, str]:
    """The main-area tab JupyterLab opened on a file of ``job_id``'s outputs (under
    condor_nb_outputs/<job id>/) ending in ``suffix``, and that file's path (from the
    tab's title)."""
    folder = f"condor_nb_outputs/{job_id}/"
    tab = page.locator(f".lm-DockPanel-tabBar .lm-TabBar-tab[title*='{folder}'][title*='{suffix}']")
    tab.first.wait_for(timeout=120_000)
    title = tab.first.get_attribute("title") or ""
    path = re.search(rf"Path: (\S+{re.escape(suffix)})", title)
    assert path, title
    return tab.first, path.group(1)


def report_text(page: Any) -> str:
    """The text of the HTML report open in the current main-area tab (JupyterLab's HTML
    viewer shows it in an iframe)."""
    frame = page.locator(".jp-MainAreaWidget:visible .jp-HTMLViewer iframe").first
    frame.wait_for(timeout=60_000)
    body = frame.content_frame.locator("body")
    return str(wait_for(lambda: body.inner_text(), "the report's text", 60, page=page))


def test_running_job_shows_its_cells_then_opens_its_output_and_report(
    panel_lab: Any, panel_page: Any
) -> None:
    page = panel_page
    cells = [f"import time\ntime.sleep(4)\nstep = {i}" for i in range(6)]
    cells.append("print('progress report for', who)")
    panel_lab.notebook("progress.ipynb", cells, params="who = 'x'")
    job_id = panel_lab.cnb("submit", "progress.ipynb", "--name", "progress", "--no-cache", "-q")
    row = job_row(page, job_id)
    row.wait_for(timeout=120_000)
    seen = watch_cells(page, row, "panel_progress")
    assert len(seen) >= 2, f"the progress bar did not advance while running: {seen}"
    assert all(re.fullmatch(r"cell \d+ of \d+", s) for s in seen), seen
    wait_for(lambda: row.get_attribute("data-state") == "COMPLETED", "Completed", page=page)
    shot(page, "panel_completed")
    assert "runtime" in row.locator(".cnb-usage").inner_text()

    row.get_by_role("button", name="Open output progress").click()
    _, path = opened_tab(page, job_id, ".ipynb")
    nb = json.loads((panel_lab.root / path).read_text())
    assert all(c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code"), path
    page.wait_for_timeout(1000)
    shot(page, "panel_open_output")

    # The HTML report: a new main-area tab showing the notebook's output.
    row.get_by_role("button", name="Open report progress").click()
    _, path = opened_tab(page, job_id, ".html")
    assert "progress report for x" in report_text(page)
    shot(page, "panel_open_report")


def test_no_match_job_says_why_and_is_removed_from_the_panel(
    panel_lab: Any, panel_page: Any
) -> None:
    page = panel_page
    panel_lab.notebook("huge.ipynb", ["print('never')"])
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


def test_held_job_is_released_from_the_panel(panel_lab: Any, panel_page: Any) -> None:
    page = panel_page
    panel_lab.notebook("held.ipynb", ["print('released')"])
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


def test_sweep_row_its_procs_results_retry_and_a_procs_report(
    panel_lab: Any, panel_page: Any
) -> None:
    """A 6-proc sweep whose proc a=3, b=yy raises: one row whose counts and stacked bar
    reach 5 completed and 1 failed; expanded, its procs with their parameters and its
    results table; "Retry failed" resubmits the failed proc (a new job on the schedd for
    the same parameters); a completed proc's "Open report" opens its HTML report."""
    from condor_nb.sweeps import api as sweeps

    page = panel_page
    panel_lab.notebook(
        "grid.ipynb",
        ["assert not (a == 3 and b == 'yy'), 'a=3 b=yy is refused'\n"
         "total = a * len(b)\nprint('grid total', total)"],
        params="a = 1\nb = 'x'",
    )  # fmt: skip
    sweep_id = panel_lab.cnb("sweep", "run", "grid.ipynb", "--grid", "a=1,2,3", "--grid",
                             "b=x,yy", "--name", "gridsweep", "-q")  # fmt: skip
    row = panel(page).locator(f"li[data-kind='sweep'][data-id='{sweep_id}']")
    row.wait_for(timeout=120_000)
    assert panel(page).locator("li[data-kind='sweep']", has_text="gridsweep").count() == 1
    assert "6 procs" in row.inner_text()
    row.get_by_role("button", name="Expand sweep gridsweep").click()
    procs = row.locator("li[data-kind='proc']")
    wait_for(lambda: procs.count() == 6, "the sweep's 6 procs", page=page)
    ended = "li[data-kind='proc'][data-state='{}']"
    wait_for(
        lambda: row.locator(ended.format("COMPLETED")).count() == 5
        and row.locator(ended.format("FAILED")).count() == 1,
        "5 procs Completed and 1 Failed", timeout=900, page=page,
    )  # fmt: skip
    # The row's counts and stacked bar: the final states only.
    wait_for(lambda: row.locator(".cnb-counts").inner_text() == "1 failed, 5 completed",
             "the sweep's counts", page=page)  # fmt: skip
    bar = row.get_by_role("img", name="Procs of sweep gridsweep: 1 failed, 5 completed")
    assert bar.count() == 1
    segments = {
        seg.get_attribute("data-state"): seg.get_attribute("style")
        for seg in bar.locator(".cnb-segment").all()
    }
    assert set(segments) == {"COMPLETED", "FAILED"}, segments
    # Each proc with its parameters; the failed one says why.
    params = [procs.nth(i).locator(".cnb-params").inner_text() for i in range(6)]
    assert params == [f'a={a} b="{b}"' for a in (1, 2, 3) for b in ("x", "yy")], params
    failed = row.locator(ended.format("FAILED"))
    assert failed.locator(".cnb-params").inner_text() == 'a=3 b="yy"'
    assert "a=3 b=yy is refused" in failed.locator(".cnb-note").inner_text()
    table = row.get_by_role("table", name="Results of sweep gridsweep")
    wait_for(lambda: table.count() and table.locator("tbody tr").count() >= 5, "the results",
             page=page)  # fmt: skip
    header = table.locator("thead").inner_text().split()
    assert "a" in header and "b" in header, header
    shot(page, "panel_sweep")
    # the sweep's procs are not listed again as jobs
    assert panel(page).locator("li[data-kind='job']", has_text="grid.ipynb").count() == 0

    # Retry failed: the failed proc is resubmitted, as a new job on the schedd.
    old_id = failed.get_attribute("data-id") or ""
    row.get_by_role("button", name="Retry failed sweep gridsweep").click()
    sweep = sweeps.get_sweep(sweep_id, settings=settings_of(panel_lab))
    index = next(i for i, job in sweep.members() if job.id == old_id)
    new_id = wait_for(
        lambda: next((j.id for i, j in sweep.members() if i == index and j.id != old_id), None),
        "the retried proc in the registry", 120, page=page,
    )  # fmt: skip
    ad = schedd_ad(panel_lab, new_id)
    assert ad["ClusterId"] != schedd_ad(panel_lab, old_id)["ClusterId"], "a new cluster"
    retried = row.locator(f"li[data-kind='proc'][data-id='{new_id}']")
    retried.wait_for(timeout=120_000)
    assert retried.locator(".cnb-params").inner_text() == 'a=3 b="yy"'
    assert row.locator(f"li[data-kind='proc'][data-id='{old_id}']").count() == 0
    wait_for(lambda: retried.get_attribute("data-state") == "FAILED",  # it raises again
             "the retried proc to end", timeout=600, page=page)  # fmt: skip
    shot(page, "panel_sweep_retried")

    # A completed proc's report opens in JupyterLab.
    first = procs.nth(0)
    first.get_by_role("button", name="Open report gridsweep[0]").click()
    opened_tab(page, first.get_attribute("data-id") or "?", ".html")
    assert "grid total 1" in report_text(page)
    shot(page, "panel_sweep_report")


def test_schedule_shows_its_next_run(panel_lab: Any, panel_page: Any) -> None:
    page = panel_page
    panel_lab.notebook("nightly.ipynb", ["print('night')"])
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
    panel_lab: Any, panel_page: Any
) -> None:
    from playwright.sync_api import expect

    page = panel_page
    status = panel(page).locator(".cnb-connection")
    panel_lab.stop()
    wait_for(
        lambda: status.get_attribute("data-connection") == "lost", "the panel to notice", page=page
    )
    assert "Server unreachable, retrying" in status.inner_text()
    shot(page, "panel_server_down")
    panel_lab.start()
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


def test_many_tabs_share_one_schedd_look_per_interval(panel_lab: Any, panel_page: Any) -> None:
    """Four browser tabs with the panel open poll the server; the server still looks at the
    schedd once per refresh interval (counted by the server, GET /condor_nb/panel/stats)."""
    page = panel_page
    tabs = []
    for _ in range(3):
        tab = page.context.new_page()
        open_panel(tab, panel_lab.lab_url)
        tabs.append(tab)
    status, before = panel_lab.request("GET", "/condor_nb/panel/stats")
    assert status == 200, before
    page.wait_for_timeout(30_000)
    status, after = panel_lab.request("GET", "/condor_nb/panel/stats")
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


def test_pool_unreachable_the_panel_says_so_and_keeps_the_jobs(
    panel_page: Any, tmp_path: Path, pool_env: dict[str, str]
) -> None:
    """A server whose collector (``--CondorNbJupyter.collector``, as a user configures
    it) refuses connections, while its condor_nb home's registry holds a job submitted
    with the CLI (which reaches the pool): the panel lists the job as last seen (QUEUED),
    under an alert saying what failed and what to do; once the collector answers again
    (the port forwards to the pool's), the alert goes and the job's row follows the
    schedd to Completed, with no reload. Nothing else syncs that home meanwhile."""
    from browser.conftest import _jupyter_helpers

    helpers = _jupyter_helpers()
    gate = helpers.Forwarder(helpers.collector_address(pool_env))
    extra = (f"--CondorNbJupyter.collector={gate.address}", "--CondorNbJupyter.panel_refresh_s=2")
    with lab_server(tmp_path, pool_env, *extra) as other:
        other.notebook("outage.ipynb", ["print('after the outage')"])
        job_id = other.cnb("submit", "outage.ipynb", "--name", "outage", "--no-cache", "-q")
        page = panel_page.context.new_page()
        try:
            status, body = other.request("GET", "/condor_nb/panel", timeout=180)  # no hang
            assert status == 200 and body["error"] and gate.address in body["error"], body
            assert [(j["id"], j["state"]) for j in body["jobs"]] == [(job_id, "QUEUED")], body

            side = open_panel(page, other.lab_url)
            alert = side.locator("[role=alert][data-error='schedd']")
            alert.wait_for(timeout=60_000)
            text = alert.inner_text()
            assert "cannot reach the schedd" in text.lower() and gate.address in text, text
            assert "What to do: check that the central manager" in text, text
            assert "as condor_nb last saw them" in text, text
            status_line = side.locator(".cnb-connection")
            assert status_line.get_attribute("data-schedd") == "unreachable"
            assert "HTCondor not reached" in status_line.inner_text()
            mine = side.locator(f"li[data-kind='job'][data-id='{job_id}']")
            mine.wait_for(timeout=30_000)  # still listed, as last seen
            assert mine.get_attribute("data-state") == "QUEUED"
            assert "outage.ipynb" in mine.inner_text()
            shot(page, "panel_pool_unreachable")

            gate.open()  # the collector answers again
            wait_for(lambda: alert.count() == 0, "the alert gone", 120, page=page)
            assert status_line.get_attribute("data-schedd") == "ok"
            wait_for(lambda: mine.get_attribute("data-state") == "COMPLETED",
                     "the job Completed, from the schedd", 600, page=page)  # fmt: skip
            shot(page, "panel_pool_back")
        finally:
            page.close()
            gate.close()
