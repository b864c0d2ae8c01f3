"""Every front end on the site, from a notebook host whose user never started a
personal pool: the CLI, the Python API and the Jupyter extension submit, follow,
fetch, sweep and schedule against the access point's schedd, with HTCondor's
default timings.

A negotiation cycle is 60 s here, so everything is submitted at once by the
module's fixture (two single jobs, a three-proc sweep, a schedule firing every
minute, a Jupyter job) and each test then follows its part: the jobs run side by
side while the tests look at the first ones.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deploy import DOMAIN, USER, Site
from helpers_frontends import NOTEBOOK, Jupyter, User, finish, mine, remove_jobs, schedd_ads

pytestmark = pytest.mark.site

EP_HOSTS = {f"ep1.{DOMAIN}", f"ep2.{DOMAIN}"}


@dataclass
class Launched:
    user: User
    jupyter: Jupyter
    cli_job: str
    cli_condor: str
    failing_job: str
    api_job: str
    sweep: str
    sweep_cluster: str
    api_sweep: str
    schedule: str
    schedule_condor: str
    jupyter_job: str
    started: float


def _printed(text: str) -> str:
    """Outputs of an executed notebook, as one string."""
    nb = json.loads(text)
    chunks = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            got = out.get("text", "")
            chunks.append("".join(got) if isinstance(got, list) else got)
    return "".join(chunks)


def _match(pattern: str, text: str) -> re.Match[str]:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in:\n{text}"
    return found


@pytest.fixture(scope="module")
def launched(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    started = time.monotonic()
    user = User.fresh(site, tmp_path_factory.mktemp("frontends"))
    (user.base / "greet.ipynb").write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    jupyter = Jupyter(user)
    (jupyter.root / "greet.ipynb").write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    try:
        # All at once, as separate processes on the notebook host: the CLI submits one
        # job with a parameter, a sweep of three procs and a schedule; the API a job.
        procs = [
            user.start("submit", "greet.ipynb", "-p", "greeting", "from-cli"),
            user.start("submit", "greet.ipynb", "-p", "n", "0", "--name", "failing"),
            user.start("sweep", "greet.ipynb", "--grid", "n=1,2,3", "-p", "greeting", "swept"),
            user.start("schedule", "create", "greet.ipynb", "--cron", "* * * * *",
                       "-p", "greeting", "cron", "--name", "every-minute"),
            user.start_python(
                "import json, condor_nb\n"
                "j = condor_nb.submit('greet.ipynb', parameters={'greeting': 'from-api', 'n': 7})\n"
                "s = condor_nb.sweep('greet.ipynb', [{'n': 4}, {'n': 5}],"
                " parameters={'greeting': 'api-swept'})\n"
                "print(json.dumps({'id': j.id, 'condor': j.condor_id, 'sweep': s.id}))"
            ),
        ]  # fmt: skip
        jupyter.start()
        sub, bad, swp, sch, api_out = (finish(p) for p in procs)
        failing = _match(r"submitted (\w+) ", bad)[1]
        job = _match(r"submitted (\w+) .* as HTCondor job (\d+\.\d+)", sub)
        sweep = _match(r"sweep (\w+): 3 parameter sets; 3 submitted as HTCondor cluster (\d+)",
                       swp)  # fmt: skip
        schedule = _match(r"created schedule (\w+) as HTCondor job (\d+\.\d+)", sch)
        api = json.loads(api_out.strip().splitlines()[-1])
        # Jupyter: a job through jupyter-scheduler's REST API.
        status, envs = jupyter.request("GET", "/scheduler/runtime_environments")
        assert status == 200 and envs, envs
        status, body = jupyter.request("POST", "/scheduler/jobs", {
            "input_uri": "greet.ipynb", "runtime_environment_name": envs[0]["name"],
            "name": "jupyter job", "parameters": {"greeting": "from-jupyter"},
            "output_formats": ["ipynb", "html"],
        })  # fmt: skip
        assert status == 200, body
        launched = Launched(
            user=user, jupyter=jupyter, cli_job=job[1], cli_condor=job[2], failing_job=failing,
            api_job=api["id"],
            sweep=sweep[1], sweep_cluster=sweep[2], api_sweep=api["sweep"], schedule=schedule[1],
            schedule_condor=schedule[2], jupyter_job=str(body["job_id"]), started=started,
        )  # fmt: skip
        print(f"\nall submitted in {time.monotonic() - started:.1f} s")
        yield launched
    finally:
        if jupyter.proc is not None and jupyter.proc.poll() is not None:
            print(jupyter.tail())
        jupyter.stop()
        remove_jobs(site, mine(user))
        left = schedd_ads(site, f"({mine(user)}) && JobStatus != 3 && JobStatus != 4", [])
        assert not [ad for ad in left if ad], f"jobs left on the site's schedd: {left}"
        print(f"\nfront-end tests took {time.monotonic() - started:.1f} s in all")


def test_schedd_stored_the_users_jobs(site: Site, launched: Launched) -> None:
    attrs = ["Owner", "CondorNbId", "CondorNbSweep", "CondorNbSweepIndex", "CondorNbName",
             "CondorNbParams", "CondorNbScheduleId", "CondorNbJobDir"]  # fmt: skip
    ads = schedd_ads(site, mine(launched.user), attrs)
    # The token's identity owns every job: the schedd authenticated the notebook host.
    assert {ad["Owner"] for ad in ads} == {USER}, ads
    by_id = {ad["CondorNbId"]: ad for ad in ads if ad["CondorNbId"]}
    cli = by_id[launched.cli_job]
    assert f"{cli['ClusterId']}.{cli['ProcId']}" == launched.cli_condor
    assert "from-cli" in str(cli["CondorNbParams"])
    assert "from-api" in str(by_id[launched.api_job]["CondorNbParams"])
    # The sweep is one cluster of three procs, each carrying the sweep's id.
    swept = [ad for ad in ads if ad["ClusterId"] == launched.sweep_cluster]
    assert sorted(ad["ProcId"] for ad in swept) == ["0", "1", "2"], swept
    assert {str(ad["CondorNbSweep"]).strip('"') for ad in swept} == {launched.sweep}
    api_swept = [ad for ad in ads if str(ad["CondorNbSweep"]).strip('"') == launched.api_sweep]
    assert len({ad["ClusterId"] for ad in api_swept}) == 1 and len(api_swept) == 2, api_swept
    # The schedule is a job of its own on the schedd.
    (cron,) = [ad for ad in ads if ad["CondorNbScheduleId"]]
    assert f"{cron['ClusterId']}.{cron['ProcId']}" == launched.schedule_condor
    # No personal pool was started or needed for any of it.
    user = launched.user
    assert not (user.home / ".local/share/condor_nb/pool").exists()
    assert not list(user.home.rglob("condor_config*")), list(user.home.rglob("*"))


def test_cli_follows_and_fetches_and_api_follows_the_cli_job(launched: Launched) -> None:
    user = launched.user
    q = user.cli("q")
    assert q.returncode == 0, q.stderr
    for shown in (launched.cli_job, launched.api_job, launched.sweep):
        assert shown in q.stdout, q.stdout
    status = user.cli("status", launched.cli_job)
    assert status.returncode == 0 and launched.cli_condor in status.stdout, status.stdout
    waited = user.cli("wait", launched.cli_job, "-o", "cli-out", timeout=600)
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert f"{launched.cli_job} COMPLETED" in waited.stdout, waited.stdout
    fetched = user.cli("fetch", launched.cli_job, "-o", "cli-fetch")
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    for out in ("cli-out", "cli-fetch"):
        folder = user.base / out
        names = {p.name for p in folder.rglob("*") if p.is_file()}
        executed = next(folder.rglob("greet*.ipynb"))
        printed = _printed(executed.read_text(encoding="utf-8"))
        assert "from-cli x1 from ep" in printed, printed
        assert any(n.endswith(".html") for n in names), names
        assert {"stdout.txt", "stderr.txt"} <= names, names
    # The API, in another process, sees the same job through the registry and the schedd.
    seen = user.python(
        "import json, condor_nb\n"
        f"j = condor_nb.get({launched.cli_job!r})\n"
        "info = j.status()\n"
        "f = j.fetch('api-fetch')\n"
        "print(json.dumps({'state': info.state.value, 'nb': str(f.notebook), "
        "'html': str(f.report)}))"
    )
    assert seen["state"] == "COMPLETED", seen
    assert "from-cli" in _printed(Path(seen["nb"]).read_text(encoding="utf-8"))
    assert Path(seen["html"]).is_file()


def test_a_failing_notebook_is_failed_with_its_reason_and_its_outputs(launched: Launched) -> None:
    user = launched.user
    waited = user.cli("wait", launched.failing_job, "-o", "failed-out", timeout=600)
    assert waited.returncode == 9, waited.stdout + waited.stderr
    assert f"{launched.failing_job} FAILED" in waited.stdout, waited.stdout
    assert "n must not be zero" in waited.stdout + waited.stderr, waited.stdout + waited.stderr
    # The partial notebook comes back, with the cells before the failure run.
    executed = next((user.base / "failed-out").rglob("greet*.ipynb"))
    text = executed.read_text(encoding="utf-8")
    assert "hello x0 from ep" in _printed(text) and "n must not be zero" in text
    seen = user.python(
        "import json, condor_nb\n"
        f"r = condor_nb.get({launched.failing_job!r}).result()\n"
        "print(json.dumps(r))"
    )
    assert seen["outcome"] != "completed" and seen["failed_cell"] is not None, seen


def test_api_submitted_job_is_followed_by_api_and_cli(launched: Launched) -> None:
    user = launched.user
    seen = user.python(
        "import json, condor_nb\n"
        f"j = condor_nb.get({launched.api_job!r})\n"
        "info = j.wait(timeout=540)\n"
        "f = j.fetch('api-out')\n"
        "print(json.dumps({'state': info.state.value, 'reason': info.reason, "
        "'nb': str(f.notebook), 'html': str(f.report), 'logs': j.logs()[-2000:], "
        "'result': j.result()}))",
        timeout=660,
    )
    assert seen["state"] == "COMPLETED", seen
    printed = _printed(Path(seen["nb"]).read_text(encoding="utf-8"))
    host = _match(r"from-api x7 from (\S+)", printed)[1]
    assert host in EP_HOSTS, printed
    assert "<html" in Path(seen["html"]).read_text(encoding="utf-8").lower()
    assert seen["result"], seen
    status = user.cli("status", launched.api_job)
    assert status.returncode == 0 and "COMPLETED" in status.stdout, status.stdout
    logs = user.cli("logs", launched.api_job)
    assert logs.returncode == 0 and logs.stdout.strip(), logs.stdout + logs.stderr


def test_sweep_completes_and_results_and_fetch_work(launched: Launched) -> None:
    user = launched.user
    seen = user.python(
        "import json, condor_nb\n"
        f"s = condor_nb.get_sweep({launched.sweep!r})\n"
        "st = s.wait(timeout=540)\n"
        "rows = s.results(as_dataframe=False)\n"
        "print(json.dumps({'done': st.done, 'str': str(st), "
        "'rows': [{k: str(v) for k, v in r.items()} for r in rows]}))",
        timeout=660,
    )
    assert seen["done"], seen
    rows = seen["rows"]
    assert sorted(r["n"] for r in rows) == ["1", "2", "3"], rows
    assert {r["state"] for r in rows} == {"COMPLETED"}, rows
    # condor_nb.record() works on either execute point (condor_nb is not installed there).
    assert {r["n"]: r["square"] for r in rows} == {"1": "1", "2": "4", "3": "9"}, rows
    table = user.cli("sweep", "results", launched.sweep)
    assert table.returncode == 0, table.stdout + table.stderr
    assert table.stdout.count("COMPLETED") == 3, table.stdout
    fetched = user.cli("fetch", launched.sweep, "-o", "sweep-out")
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    notebooks = sorted((user.base / "sweep-out").rglob("greet*.ipynb"))
    printed = " ".join(_printed(p.read_text(encoding="utf-8")) for p in notebooks)
    for n in (1, 2, 3):
        assert f"swept x{n} from ep" in printed, printed
    # The Jupyter server, sharing the user's condor_nb home, lists the CLI's sweep.
    status, listed = launched.jupyter.request("GET", "/condor_nb/jobs")
    assert status == 200, listed
    procs = [j for j in listed["jobs"] if j["sweep_id"] == launched.sweep]
    assert sorted(j["state"] for j in procs) == ["COMPLETED"] * 3, procs
    # The API's sweep, followed by the CLI: waited for, fetched, tabled.
    waited = user.cli("wait", launched.api_sweep, "-o", "api-sweep-out", timeout=600)
    assert waited.returncode == 0, waited.stdout + waited.stderr
    table = user.cli("sweep", "results", launched.api_sweep)
    assert table.returncode == 0 and table.stdout.count("COMPLETED") == 2, table.stdout
    assert "SQUARE" in table.stdout and "25" in table.stdout, table.stdout
    notebooks = sorted((user.base / "api-sweep-out").rglob("greet*.ipynb"))
    printed = " ".join(_printed(p.read_text(encoding="utf-8")) for p in notebooks)
    assert "api-swept x4 from ep" in printed and "api-swept x5 from ep" in printed, printed


def test_jupyter_job_completes_is_followed_and_downloads(site: Site, launched: Launched) -> None:
    jupyter = launched.jupyter
    job = jupyter.wait_job(launched.jupyter_job, ("COMPLETED", "FAILED", "STOPPED"))
    assert job["status"] == "COMPLETED", (job, jupyter.tail())
    # condor_nb's own REST API knows the job behind it, with HTCondor's side of it.
    status, listed = jupyter.request("GET", "/condor_nb/jobs")
    assert status == 200, listed
    (condor,) = [j for j in listed["jobs"] if f"/{launched.jupyter_job}/" in j["notebook"]]
    status, detail = jupyter.request("GET", f"/condor_nb/jobs/{condor['id']}")
    assert status == 200 and detail["state"] == "COMPLETED", detail
    # The server found the site's configuration by HTCondor's search, and the schedd.
    # Its profiles name the default the runtime environments offer first.
    _, envs = jupyter.request("GET", "/scheduler/runtime_environments")
    status, profiles = jupyter.request("GET", "/condor_nb/profiles")
    assert status == 200 and profiles["default_profile"] == envs[0]["metadata"]["profile"], profiles
    status, server = jupyter.request("GET", "/condor_nb/status")
    assert status == 200 and server["reachable"], server
    assert server["condor_config"] == "/etc/condor/condor_config", server
    assert server["owner"] == USER and server["schedd"] == f"ap.{DOMAIN}", server
    ads = schedd_ads(site, f'CondorNbId == "{condor["id"]}"', ["Owner"])
    assert [ad["Owner"] for ad in ads] == [USER], ads
    # Its outputs download into the server's root, as JupyterLab's "Download" does.
    download = f"/scheduler/jobs/{launched.jupyter_job}/download_files"
    assert jupyter.request("GET", download)[0] == 204
    status, job = jupyter.request("GET", f"/scheduler/jobs/{launched.jupyter_job}")
    files = {f["file_format"]: f["file_path"] for f in job["job_files"]}
    executed = jupyter.root / files["ipynb"]
    assert "from-jupyter x1 from ep" in _printed(executed.read_text(encoding="utf-8"))
    assert "<html" in (jupyter.root / files["html"]).read_text(encoding="utf-8").lower()


def test_jupyter_job_definition_is_a_schedule_on_the_site(site: Site, launched: Launched) -> None:
    jupyter = launched.jupyter
    status, envs = jupyter.request("GET", "/scheduler/runtime_environments")
    status, body = jupyter.request("POST", "/scheduler/job_definitions", {
        "input_uri": "greet.ipynb", "runtime_environment_name": envs[0]["name"],
        "name": "yearly", "parameters": {"greeting": "yearly"},
        "output_formats": ["ipynb", "html"], "schedule": "0 3 1 1 *", "timezone": "UTC",
    })  # fmt: skip
    assert status == 200, body
    definition = body["job_definition_id"]
    try:
        status, listed = jupyter.request("GET", "/condor_nb/schedules")
        assert status == 200, listed
        (mine,) = [s for s in listed["schedules"] if s["name"] == "yearly"]
        ads = schedd_ads(site, f'CondorNbScheduleId == "{mine["id"]}"', ["Owner", "CronMinute"])
        assert [ad["Owner"] for ad in ads] == [USER], ads
    finally:
        status, _ = jupyter.request("DELETE", f"/scheduler/job_definitions/{definition}")
    assert status == 204
    _, listed = jupyter.request("GET", "/condor_nb/schedules")
    assert not [s for s in listed["schedules"] if s["name"] == "yearly"], listed
    live = schedd_ads(site, f'CondorNbScheduleId == "{mine["id"]}" && JobStatus != 3', [])
    assert not live, live


def test_schedule_fires_on_the_site_and_its_run_is_listed(site: Site, launched: Launched) -> None:
    user = launched.user
    found: Any = None
    deadline = time.monotonic() + 330
    while time.monotonic() < deadline:
        found = user.python(
            "import json\nfrom condor_nb import schedules\n"
            f"print(json.dumps([[r.run_id, r.state, str(r.directory)] "
            f"for r in schedules.runs({launched.schedule!r})]))"
        )
        if any(state == "COMPLETED" for _, state, _ in found):
            break
        time.sleep(15)
    done = [r for r in found if r[1] == "COMPLETED"]
    assert done, f"the schedule never completed a run: {found}"
    run_id, _, directory = done[0]
    executed = next(Path(directory).rglob("*.ipynb"))
    assert "cron x1 from ep" in _printed(executed.read_text(encoding="utf-8"))
    runs = user.cli("schedule", "runs", launched.schedule)
    assert runs.returncode == 0, runs.stdout + runs.stderr
    assert f"{run_id}  COMPLETED" in runs.stdout, runs.stdout
    listed = user.cli("schedule", "list")
    assert launched.schedule in listed.stdout, listed.stdout
    current = user.python(
        "import json\nfrom condor_nb import schedules\n"
        f"s = schedules.get({launched.schedule!r})\n"
        "print(json.dumps({'state': s.state, 'cron': s.cron, 'started': s.runs_started}))"
    )
    assert current["cron"] == "* * * * *" and current["started"] >= 1, current
    # The Jupyter server follows the CLI's schedule and its runs through its REST API.
    status, shown = launched.jupyter.request("GET", f"/condor_nb/schedules/{launched.schedule}")
    assert status == 200 and shown["cron"] == "* * * * *", shown
    status, listed = launched.jupyter.request(
        "GET", f"/condor_nb/schedules/{launched.schedule}/runs"
    )
    assert status == 200, listed
    assert run_id in {r["run_id"] for r in listed["runs"] if r["state"] == "COMPLETED"}, listed
    deleted = user.cli("schedule", "delete", launched.schedule)
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    live = schedd_ads(site, f'CondorNbScheduleId == "{launched.schedule}" && JobStatus != 3', [])
    assert not live, live


def test_jupyter_rest_actions_hold_release_remove_a_job_on_the_site(
    site: Site, launched: Launched
) -> None:
    jupyter = launched.jupyter
    _, envs = jupyter.request("GET", "/scheduler/runtime_environments")
    status, body = jupyter.request("POST", "/scheduler/jobs", {
        "input_uri": "greet.ipynb", "runtime_environment_name": envs[0]["name"],
        "name": "to be removed", "parameters": {"greeting": "never"},
        "output_formats": ["ipynb"],
    })  # fmt: skip
    assert status == 200, body
    job_id = str(body["job_id"])
    # The scheduler submits in the background: wait until condor_nb's API lists the job.
    condor: list[Any] = []
    deadline = time.monotonic() + 120
    while not condor and time.monotonic() < deadline:
        _, listed = jupyter.request("GET", "/condor_nb/jobs")
        condor = [j for j in listed["jobs"] if f"/{job_id}/" in j["notebook"]]
        time.sleep(0 if condor else 2)
    assert len(condor) == 1, listed
    cid = condor[0]["id"]
    actions = f"/condor_nb/jobs/{cid}/actions"
    where = f'CondorNbId == "{cid}"'

    def job_status() -> set[str | None]:
        return {ad["JobStatus"] for ad in schedd_ads(site, where, ["JobStatus", "Owner"])}

    status, held = jupyter.request("POST", actions, {"action": "hold"})
    assert status == 200 and held["state"] == "HELD", held
    assert job_status() == {"5"}  # the schedd holds it
    status, released = jupyter.request("POST", actions, {"action": "release"})
    assert status == 200 and released["state"] != "HELD", released
    assert job_status() <= {"1", "2"}, job_status()
    status, removed = jupyter.request("POST", actions, {"action": "remove"})
    assert status == 200 and removed["state"] == "REMOVED", removed
    assert job_status() <= {"3"}, job_status()  # removed (or already out of the queue)
    status, detail = jupyter.request("GET", f"/condor_nb/jobs/{cid}")
    assert status == 200 and detail["state"] == "REMOVED", detail
