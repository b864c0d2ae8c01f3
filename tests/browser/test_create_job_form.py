"""The Create Job form's HTCondor options in a real browser, down to the job ad.

A notebook declaring ``n: int = 3`` and ``label = "x"``: the form pre-fills both in
jupyter-scheduler's Parameters picker, shows n's type, asks for an image in the ospool
environment, refuses cpus "lots" and n "abc"
inline with Create disabled, takes cpus 2, memory 3GB and n 5; the job on the schedd
asks for 2 CPUs and 3072 MB, the notebook gets n == 5 as an int and completes, and its
Job Detail shows the condor_nb id and the HTCondor job id. The condor_nb panel shows
the same job, its "cell N of M" advancing while it runs, then Completed, and opens its
executed notebook in JupyterLab. A held job's detail shows
HELD with its reason and a Release button that releases it; a job definition's detail
shows its options read-only.
"""

from __future__ import annotations

import json
from typing import Any

from browser.conftest import notebook_jobs_until_done, open_panel, watch_cells
from browser.shots import shot

PARAMS = 'n: int = 3  # how many rounds\nlabel = "x"\n'
# Fails (so the job is Failed, not Completed) unless n arrived as the int 5.
CHECK = "assert type(n) is int and n == 5, (type(n), n)\nprint('GOT', type(n).__name__, n, label)"
# Long enough for the live attribute (at most one update per 10 s) to show two cells.
SLOW = ["import time\ntime.sleep(12)", "time.sleep(12)", "time.sleep(12)"]


def _type(box: Any, text: str) -> None:
    """Replace a field's text as a user would: select it, then type key by key."""
    box.click()
    box.press("Control+a")
    box.press("Backspace")
    box.press_sequentially(text)


def _ad(condor_nb_id: str) -> Any:
    from lookalikes import raw_schedd

    _, schedd = raw_schedd()
    constraint = f'CondorNbId == "{condor_nb_id}"'
    attrs = ["RequestCpus", "RequestMemory", "ClusterId", "ProcId"]
    found = schedd.query(constraint, attrs) or list(schedd.history(constraint, attrs, match=1))
    assert found, condor_nb_id
    return found[0]


def test_create_job_form_options_and_typed_parameters(lab: Any, page: Any) -> None:
    from playwright.sync_api import expect

    lab.notebook("typed_form.ipynb", [CHECK, *SLOW], params=PARAMS)
    page.goto(lab.lab_url)
    page.get_by_text("typed_form.ipynb", exact=True).click(button="right", timeout=90_000)
    page.locator(".lm-Menu-itemLabel", has_text="Create Job").click()
    expect(page.get_by_text("Create Job", exact=True).first).to_be_visible()
    news = page.get_by_role("button", name="No", exact=True)  # JupyterLab's news prompt
    if news.count():
        news.first.click()

    # -- the notebook's parameters, pre-filled in jupyter-scheduler's picker, typed --------
    n_name, n_value = page.locator("input[name='parameter-0-name']"), None
    expect(n_name).to_have_value("n", timeout=30_000)
    n_value = page.locator("input[name='parameter-0-value']")
    expect(n_value).to_have_value("3")
    expect(page.locator("input[name='parameter-1-name']")).to_have_value("label")
    expect(page.locator("input[name='parameter-1-value']")).to_have_value("x")
    n_note = page.locator(".cnb-param[data-name='n']")
    expect(n_note.locator(".cnb-param-type")).to_have_text("int")
    expect(n_note).to_contain_text("how many rounds")
    expect(page.locator(".cnb-param[data-name='label'] .cnb-param-type")).to_have_text("str")
    shot(page, "create_job_form_prefilled")

    # -- the HTCondor options, under "Additional options" ---------------------------------
    page.get_by_text("Additional options", exact=True).click()
    cpus = page.get_by_label("CPUs")
    expect(cpus).to_be_visible()
    for label in ("Memory", "Disk", "GPUs", "Image", "Input files", "Wall time", "Retries",
                  "Cell timeout", "Secrets"):  # fmt: skip
        expect(page.get_by_label(label).first).to_be_visible()
    create = page.get_by_role("button", name="Create", exact=True)
    expect(create).to_be_enabled()

    # -- an environment that cannot run without an image asks for one --------------------
    environment = page.locator("#jp-create-job-environment")  # jupyter-scheduler's menu
    environment.click()
    page.get_by_role("option", name="ospool", exact=True).click()
    image_error = page.locator("#cnb-option-image-error")
    expect(image_error).to_contain_text("needs an image", timeout=15_000)
    expect(page.locator("label[for='cnb-option-image']")).to_contain_text("required")
    expect(create).to_be_disabled()
    image_error.evaluate("e => e.scrollIntoView({block: 'center'})")
    shot(page, "create_job_form_needs_image")
    environment.click()
    page.get_by_role("option", name="personal", exact=True).click()
    expect(image_error).to_have_count(0, timeout=15_000)
    expect(create).to_be_enabled()

    # -- wrong values: inline errors in the CLI's words, Create disabled -----------------
    _type(cpus, "lots")
    _type(n_value, "abc")
    cpus_error = page.locator("#cnb-option-cpus-error")
    expect(cpus_error).to_contain_text("expected a whole number", timeout=15_000)
    expect(cpus_error).to_contain_text("lots")
    expect(n_note.locator(".cnb-error")).to_contain_text("declared as int", timeout=15_000)
    expect(n_note.locator(".cnb-error")).to_contain_text("abc")
    expect(create).to_be_disabled()
    shot(page, "create_job_form_errors")
    cpus_error.evaluate("e => e.scrollIntoView({block: 'center'})")
    shot(page, "create_job_form_errors_options")

    # -- fixed: errors gone, Create enabled --------------------------------------------
    _type(cpus, "2")
    _type(page.get_by_label("Memory"), "3GB")
    _type(n_value, "5")
    expect(cpus_error).to_have_count(0, timeout=15_000)
    expect(n_note.locator(".cnb-error")).to_have_count(0)
    expect(create).to_be_enabled()
    shot(page, "create_job_form_fixed")
    create.click()

    # -- the job on the schedd asks for what the form said -------------------------------
    row = page.locator("tr", has_text="typed_form")
    expect(row.first).to_be_visible(timeout=60_000)
    status, listed = lab.request("GET", "/scheduler/jobs")
    assert status == 200, listed
    mine = [j for j in listed["jobs"] if j["input_filename"] == "typed_form.ipynb"]
    assert len(mine) == 1, listed
    job_id = mine[0]["job_id"]
    sent = mine[0]["runtime_environment_parameters"]
    assert str(sent["cpus"]) == "2" and sent["memory"] == "3GB", mine[0]
    assert {k: str(v) for k, v in mine[0]["parameters"].items()} == {"n": "5", "label": "x"}
    status, condor = lab.request("GET", f"/condor_nb/scheduler-jobs/{job_id}")
    assert status == 200, condor
    ad = _ad(condor["id"])
    assert ad["RequestCpus"] == 2 and ad["RequestMemory"] == 3072, ad

    # -- the condor_nb panel shows it: the running cell advancing, then Completed ----------
    panel = open_panel(page)
    in_panel = panel.locator(f"li[data-kind='job'][data-id='{condor['id']}']")
    expect(in_panel).to_be_visible(timeout=120_000)
    seen = watch_cells(page, in_panel, "create_job_form_panel")
    assert len(seen) >= 2, f"the panel's progress bar did not advance: {seen}"
    expect(in_panel).to_have_attribute("data-state", "COMPLETED", timeout=300_000)
    shot(page, "create_job_form_panel_completed")

    # -- it completes (the notebook asserts n is the int 5) -------------------------------
    text = notebook_jobs_until_done(page, row.first, tries=100)
    shot(page, "create_job_form_completed")
    assert "Completed" in text, text
    status, _ = lab.request("GET", f"/scheduler/jobs/{job_id}/download_files")
    assert status == 204
    status, job = lab.request("GET", f"/scheduler/jobs/{job_id}")
    files = {f["file_format"]: f["file_path"] for f in job["job_files"] if f.get("file_path")}
    executed = json.loads((lab.root / files["ipynb"]).read_text(encoding="utf-8"))
    outputs = [out for cell in executed["cells"] for out in cell.get("outputs", [])]
    printed = "".join("".join(out.get("text", "")) for out in outputs)
    assert "GOT int 5 x" in printed, printed

    # -- its Job Detail shows condor_nb's id and the HTCondor job --------------------------
    row.first.get_by_text("typed_form", exact=True).click()
    detail = page.locator("dl.cnb-readonly[aria-label='HTCondor job']")
    expect(detail.locator("[data-field='id'] dd")).to_have_text(condor["id"], timeout=30_000)
    cluster = f"{ad['ClusterId']}.{ad['ProcId']}"
    expect(detail.locator("[data-field='cluster'] dd")).to_have_text(cluster)
    expect(detail.locator("[data-field='state'] dd")).to_have_text("COMPLETED")
    options = page.locator("dl.cnb-readonly[aria-label='HTCondor options']")
    expect(options.locator("[data-field='cpus'] dd")).to_have_text("2")
    expect(options.locator("[data-field='memory'] dd")).to_have_text("3GB")
    detail.evaluate("e => e.scrollIntoView({block: 'center'})")
    shot(page, "create_job_form_detail")

    # -- a held job's detail: HELD with its reason, released by its Release button -------
    lab.notebook("held_form.ipynb", ["import time\ntime.sleep(20)"])
    held_id = lab.create_job("held_form.ipynb", name="held_form")
    status, held = lab.request("GET", f"/condor_nb/scheduler-jobs/{held_id}")
    assert status == 200, held
    try:
        status, body = lab.request("POST", f"/condor_nb/jobs/{held['id']}/actions",
                                   {"action": "hold"})  # fmt: skip
        assert status == 200, body
        page.locator(".MuiBreadcrumbs-root").get_by_text("Jobs", exact=True).click()
        page.get_by_role("button", name="Reload").first.click()
        page.locator("tr", has_text="held_form").first.get_by_text("held_form", exact=True).click()
        card = page.locator("dl.cnb-readonly[aria-label='HTCondor job']")
        expect(card.locator("[data-field='state'] dd")).to_have_text("HELD", timeout=30_000)
        expect(card.locator("[data-field='reason'] dd")).not_to_be_empty()
        release = page.get_by_role("button", name="Release", exact=True)
        card.evaluate("e => e.scrollIntoView({block: 'center'})")
        shot(page, "create_job_form_held_detail")
        release.click()
        expect(card.locator("[data-field='state'] dd")).not_to_have_text("HELD", timeout=30_000)
        expect(release).to_have_count(0)
        expect(page.get_by_role("status").filter(has_text="Released")).to_be_visible()
        shot(page, "create_job_form_released_detail")
        status, after = lab.request("GET", f"/condor_nb/scheduler-jobs/{held_id}")
        assert status == 200 and after["state"] != "HELD", after
    finally:
        lab.request("POST", f"/condor_nb/jobs/{held['id']}/actions", {"action": "remove"})

    # -- a job definition's detail shows its options, read-only, with the form's labels --
    status, body = lab.request(
        "POST",
        "/scheduler/job_definitions",
        {"input_uri": "typed_form.ipynb", "runtime_environment_name": "personal",
         "name": "yearly_form", "parameters": {"n": "5"}, "output_formats": ["ipynb"],
         "schedule": "0 3 1 1 *", "timezone": "UTC",
         "runtime_environment_parameters": {"cpus": "2", "memory": "2GB"}},
    )  # fmt: skip
    assert status == 200, body
    try:
        page.locator(".MuiBreadcrumbs-root").get_by_text("Jobs", exact=True).click()
        page.get_by_text("Job Definitions", exact=True).click()
        # (the open condor_nb panel lists the schedule too: the link of the list)
        page.get_by_title('Open detail view for "yearly_form"').click()
        kept = page.locator("dl.cnb-readonly[aria-label='HTCondor options']")
        expect(kept.locator("[data-field='cpus'] dt")).to_have_text("CPUs", timeout=30_000)
        expect(kept.locator("[data-field='cpus'] dd")).to_have_text("2")
        expect(kept.locator("[data-field='memory'] dd")).to_have_text("2GB")
        expect(kept.locator("input")).to_have_count(0)
        kept.evaluate("e => e.scrollIntoView({block: 'center'})")
        shot(page, "create_job_form_definition_detail")
    finally:
        lab.request("DELETE", f"/scheduler/job_definitions/{body['job_definition_id']}")

    # -- the panel opens the form job's executed notebook in JupyterLab ------------------
    in_panel.get_by_role("button", name="Open output typed_form").click()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab[title*='condor_nb_outputs/']")
    expect(tab.first).to_be_visible(timeout=120_000)
    title = tab.first.get_attribute("title") or ""
    assert condor["id"] in title and ".ipynb" in title, title
    shot(page, "create_job_form_panel_open_output")


# -- Create waits for the check; empty and half-typed values; retries on a schedule ------

#: The server's test-only hold on /condor_nb/form/check (condor_nb_jupyter.form_handlers):
#: while the file exists a check waits; if it says "fail" the check answers 503.
GATE_VARIABLE = "CONDOR_NB_TEST_FORM_CHECK_GATE"


def test_create_waits_for_the_check_and_refuses_retries_on_a_schedule(lab: Any, page: Any) -> None:
    """Create is disabled from the first keystroke until the server's check answers
    (held by the gate as long as the test needs: a slow check), then shows the error of
    a half-typed int; a check that fails says so and gives Create back; an emptied value
    is refused at once with the way to keep the default; and picking "Run on a schedule"
    with Retries set refuses retries on its field before Create is clicked."""
    from playwright.sync_api import expect

    gate = lab.root.parent / "check-gate"
    lab.env[GATE_VARIABLE] = str(gate)
    lab.restart()
    lab.notebook("gated_form.ipynb", ["print(n)"], params="n: int = 3  # rounds\n")
    page.goto(lab.lab_url)
    page.get_by_text("gated_form.ipynb", exact=True).click(button="right", timeout=90_000)
    page.locator(".lm-Menu-itemLabel", has_text="Create Job").click()
    news = page.get_by_role("button", name="No", exact=True)  # JupyterLab's news prompt
    if news.count():
        news.first.click()
    n_value = page.locator("input[name='parameter-0-value']")
    expect(n_value).to_have_value("3", timeout=30_000)
    create = page.get_by_role("button", name="Create", exact=True)
    status = page.locator(".cnb-check-status")
    n_error = page.locator(".cnb-param[data-name='n'] .cnb-error")
    expect(status).to_have_attribute("data-check", "done", timeout=30_000)
    expect(create).to_be_enabled()

    # -- a slow check: Create disabled from the first keystroke until the answer --------
    gate.write_text("", encoding="utf-8")
    _type(n_value, "1e")  # half-typed (an int is coming)
    expect(create).to_be_disabled()
    expect(status).to_have_attribute("data-check", "pending")
    expect(status).to_contain_text("Checking")
    shot(page, "create_job_form_check_pending")
    expect(n_error).to_have_count(0)  # no answer yet: held by the gate
    gate.unlink()
    expect(n_error).to_contain_text("declared as int", timeout=30_000)
    expect(n_error).to_contain_text("1e")
    expect(status).to_have_attribute("data-check", "done")
    expect(create).to_be_disabled()  # the half-typed value's own error now
    shot(page, "create_job_form_check_half_typed")

    gate.write_text("", encoding="utf-8")
    _type(n_value, "15")
    expect(create).to_be_disabled()
    expect(status).to_have_attribute("data-check", "pending")
    gate.unlink()
    expect(status).to_have_attribute("data-check", "done", timeout=30_000)
    expect(n_error).to_have_count(0)
    expect(create).to_be_enabled()

    # -- a check that fails: said inline, and Create is not left disabled ---------------
    gate.write_text("fail", encoding="utf-8")
    _type(n_value, "7")
    expect(status).to_have_attribute("data-check", "failed", timeout=30_000)
    expect(status).to_contain_text("could not be checked")
    expect(create).to_be_enabled()
    shot(page, "create_job_form_check_failed")
    gate.unlink()

    # -- an emptied value: refused at once, saying how to keep the default --------------
    _type(n_value, "")
    expect(n_error).to_contain_text("no value", timeout=15_000)
    expect(n_error).to_contain_text("keep the notebook's default 3")
    expect(create).to_be_disabled()
    n_value.press_sequentially("4")
    expect(n_error).to_have_count(0, timeout=30_000)
    expect(create).to_be_enabled(timeout=30_000)

    # -- retries, then "Run on a schedule": refused on the Retries field at once ---------
    page.get_by_text("Additional options", exact=True).click()
    retries = page.get_by_label("Retries")
    _type(retries, "2")
    expect(status).to_have_attribute("data-check", "done", timeout=30_000)
    expect(create).to_be_enabled()
    page.get_by_role("radio", name="Run on a schedule").check()
    retries_error = page.locator("#cnb-option-retries-error")
    expect(retries_error).to_contain_text("is not an option of a schedule", timeout=30_000)
    expect(retries_error).to_contain_text("next firing")
    expect(create).to_be_disabled()
    retries_error.evaluate("e => e.scrollIntoView({block: 'center'})")
    shot(page, "create_job_form_schedule_retries")
    # with "Additional options" closed, its fields' errors are listed above it
    page.get_by_text("Additional options", exact=True).click()
    expect(retries).to_be_hidden()
    summary = page.locator(".cnb-option-summary [data-option='retries']")
    expect(summary).to_contain_text("Retries (under Additional options)", timeout=15_000)
    expect(summary).to_contain_text("is not an option of a schedule")
    summary.evaluate("e => e.scrollIntoView({block: 'center'})")
    shot(page, "create_job_form_schedule_retries_closed")
    page.get_by_text("Additional options", exact=True).click()
    expect(summary).to_have_count(0)
    _type(retries, "")
    expect(retries_error).to_have_count(0, timeout=30_000)
    expect(create).to_be_enabled()
    _type(retries, "2")
    expect(retries_error).to_be_visible(timeout=30_000)
    page.get_by_role("radio", name="Run now").check()
    expect(retries_error).to_have_count(0, timeout=30_000)
    expect(create).to_be_enabled()
