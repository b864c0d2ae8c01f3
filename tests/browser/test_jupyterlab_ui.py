"""JupyterLab's stock Create Job flow in a real browser: Create Job -> HTCondor -> Completed."""

from __future__ import annotations

from typing import Any

from browser.conftest import notebook_jobs_until_done
from browser.shots import shot


def test_create_notebook_job_in_the_ui_reaches_completed(lab: Any, page: Any) -> None:
    from playwright.sync_api import expect

    lab.notebook("hello_ui.ipynb", ["print('hello', who)"], params='who = "nobody"')
    page.goto(lab.lab_url)
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
    shot(page, "create_job_form")
    page.get_by_role("button", name="Create", exact=True).click()
    row = page.locator("tr", has_text="hello_ui")
    expect(row.first).to_be_visible(timeout=60_000)
    text = notebook_jobs_until_done(page, row.first)
    shot(page, "create_job_completed")
    assert "Completed" in text, text
