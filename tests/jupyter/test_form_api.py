"""The Create Job form's server side, on a real Jupyter server and the personal pool.

GET /condor_nb/form describes the form and the notebook's parameters; POST
/condor_nb/form/check validates typed text with the CLI's own code and wording,
submitting and staging nothing; a job created through jupyter-scheduler's POST
/scheduler/jobs with the form's options gets the job ad `condor_nb render` gives.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Server
from lookalikes import raw_schedd

pytestmark = pytest.mark.pool

PARAMS = """\
n: int = 3  # how many rounds
alpha = 0.5  # learning rate
label = "x#y"  # a label, with a '#' in it
flag = True
items = [1, 2]
plain = 7
"""
SHOW = "print('TYPES', type(n).__name__, n, alpha, label, flag, items, sep='|')"


def _form_check(server: Server, **body: Any) -> dict[str, Any]:
    status, answer = server.request("POST", "/condor_nb/form/check", body)
    assert status == 200, answer
    return dict(answer)


def _condor_nb(*args: str, cwd: Path, env: dict[str, str]) -> str:
    cli = Path(sys.executable).parent / "condor_nb"
    done = subprocess.run(
        [str(cli), *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def _description(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


def _ad(job_id: str) -> Any:
    _, schedd = raw_schedd()
    attrs = ["RequestCpus", "RequestMemory", "RequestDisk", "AllowedExecuteDuration",
             "JobMaxRetries", "TransferInput", "CondorNbProfile"]  # fmt: skip
    constraint = f'CondorNbId == "{job_id}"'
    found = schedd.query(constraint, attrs) or list(schedd.history(constraint, attrs, match=1))
    assert found, job_id
    return found[0]


def _condor_job(server: Server, job_id: str) -> dict[str, Any]:
    _, jobs = server.request("GET", "/condor_nb/jobs?refresh=0")
    mine = [j for j in jobs["jobs"] if f"/{job_id}/" in j["notebook"]]
    assert len(mine) == 1, jobs
    return dict(mine[0])


def test_form_describes_and_checks_as_the_cli(server: Server) -> None:
    server.notebook("analysis.ipynb", [SHOW], params=PARAMS)
    (server.root / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (server.root / "broken.ipynb").write_text("{not json", encoding="utf-8")

    # -- GET /condor_nb/form ---------------------------------------------------------
    status, form = server.request("GET", "/condor_nb/form?notebook=analysis.ipynb")
    assert status == 200, form
    params = {p["name"]: p for p in form["parameters"]}
    assert list(params) == ["n", "alpha", "label", "flag", "items", "plain"]
    assert [params[k]["type"] for k in params] == ["int", "float", "str", "bool", "list", "int"]
    assert params["n"]["default"] == 3 and params["n"]["help"] == "how many rounds"
    assert params["alpha"]["default"] == 0.5 and params["alpha"]["default_text"] == "0.5"
    assert params["alpha"]["help"] == "learning rate"
    assert params["label"]["default"] == "x#y"
    assert params["label"]["help"] == "a label, with a '#' in it"
    assert params["items"]["default"] == [1, 2] and params["plain"]["help"] == ""
    assert form["parameters_error"] is None
    keys = [o["key"] for o in form["options"]]
    assert keys == ["cpus", "memory", "disk", "gpus", "image", "files", "wall_time",
                    "retries", "cell_timeout", "secrets"]  # fmt: skip
    assert all(o["help"] and o["kind"] for o in form["options"])
    envs = {e["name"]: e for e in form["environments"]}
    status, offered = server.request("GET", "/scheduler/runtime_environments")
    assert status == 200
    assert sorted(envs) == sorted(e["name"] for e in offered)
    assert "dask-worker" not in envs and "personal" in envs
    assert envs["ospool"]["needs_image"] is True and envs["personal"]["needs_image"] is False
    status, bad = server.request("GET", "/condor_nb/form?notebook=broken.ipynb")
    assert status == 200 and bad["parameters"] == []
    assert "broken.ipynb" in bad["parameters_error"] and str(server.root) not in str(bad)
    status, none = server.request("GET", "/condor_nb/form")
    assert status == 200 and none["parameters"] == [] and none["parameters_error"] is None

    # -- POST /condor_nb/form/check -----------------------------------------------------
    jobs_dir = server.home / "jobs"
    before = sorted(jobs_dir.iterdir()) if jobs_dir.exists() else []
    answer = _form_check(
        server,
        notebook="analysis.ipynb",
        environment="personal",
        options={"cpus": "lots", "memory": "4 parsecs", "disk": "", "wall_time": "2h"},
        parameters={"n": "abc", "alpha": "0.7", "nope": "1", "label": ""},
    )
    errors = answer["errors"]
    assert set(errors) == {"cpus", "memory", "param:n", "param:nope"}, errors
    assert errors["cpus"].startswith("cpus: expected a whole number >= 1, such as 2; got 'lots'")
    assert "(give cpus as a whole number" in errors["cpus"]  # the hint
    assert errors["memory"].startswith("memory: expected") and "4 parsecs" in errors["memory"]
    assert errors["param:n"].startswith("parameter 'n' is declared as int")
    assert "got 'abc'" in errors["param:n"]
    assert "(pass a whole number, e.g. -p n 3)" in errors["param:n"]
    assert errors["param:nope"].startswith("unknown parameter 'nope' for analysis.ipynb;")
    assert "--allow-unknown-params" in errors["param:nope"]
    assert str(server.root) not in json.dumps(errors)
    assert answer["parameters"] == {"alpha": 0.7}

    ospool = _form_check(server, notebook="analysis.ipynb", environment="ospool",
                         options={"image": ""}, parameters={})  # fmt: skip
    assert "runs jobs in a container: expected an image, got none" in ospool["errors"]["image"]
    good = _form_check(
        server,
        notebook="analysis.ipynb",
        environment="personal",
        options={"cpus": "2", "memory": "3GB", "wall_time": "10m", "retries": "2",
                 "files": "data.csv", "cell_timeout": "600"},
        parameters={"n": "5", "flag": "no", "items": "[3, 4]"},
    )  # fmt: skip
    assert good == {"errors": {}, "parameters": {"n": 5, "flag": False, "items": [3, 4]}}
    outside = _form_check(server, notebook="analysis.ipynb", environment="personal",
                          options={"files": "../../etc/passwd"}, parameters={})  # fmt: skip
    assert "inside the server's root directory" in outside["errors"]["files"]
    # -- for Run on a schedule (kind "schedule"): retries refused on its field, at once ---
    schedule = _form_check(server, notebook="analysis.ipynb", environment="personal",
                           options={"retries": "2", "cpus": "2"}, parameters={},
                           kind="schedule")  # fmt: skip
    assert set(schedule["errors"]) == {"retries"}, schedule
    assert "is not an option of a schedule" in schedule["errors"]["retries"]
    assert "next firing" in schedule["errors"]["retries"]  # the reason, as at Create
    as_job = _form_check(server, notebook="analysis.ipynb", environment="personal",
                         options={"retries": "2"}, parameters={}, kind="job")  # fmt: skip
    assert as_job["errors"] == {}, as_job
    status, bad_kind = server.request("POST", "/condor_nb/form/check",
                                      {"notebook": "analysis.ipynb", "kind": "weekly"})  # fmt: skip
    assert status == 400 and "kind: expected one of job, schedule" in bad_kind["message"]
    after = sorted(jobs_dir.iterdir()) if jobs_dir.exists() else []
    assert after == before  # nothing staged
    _, listed = server.request("GET", "/condor_nb/jobs?refresh=0")
    assert listed["jobs"] == []  # nothing submitted


def test_scheduler_jobs_take_the_form_options_as_the_cli(server: Server) -> None:
    server.notebook("analysis.ipynb", [SHOW], params=PARAMS)
    (server.root / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")

    # -- an unknown parameter through POST /scheduler/jobs names the user's notebook ----
    status, err = server.request(
        "POST",
        "/scheduler/jobs",
        {"input_uri": "analysis.ipynb", "runtime_environment_name": "personal",
         "name": "typo", "parameters": {"nn": "5"}, "output_formats": ["ipynb"]},
    )  # fmt: skip
    assert status == 400, err
    assert err["message"].startswith("unknown parameter 'nn' for analysis.ipynb;"), err
    assert "scheduler_staging_area" not in json.dumps(err)
    assert err["hint"] and "did you mean 'n'?" in err["hint"] and err["hint"] in err["message"]

    # -- a job with the form's options gets the ad the CLI gives -------------------------
    options = {"cpus": "2", "memory": "3GB", "wall_time": "10m", "retries": "2",
               "files": "data.csv"}  # fmt: skip
    status, body = server.request(
        "POST",
        "/scheduler/jobs",
        {"input_uri": "analysis.ipynb", "runtime_environment_name": "personal",
         "name": "form job", "parameters": {"n": "5", "alpha": ""}, "output_formats": ["ipynb"],
         "runtime_environment_parameters": options},
    )  # fmt: skip
    assert status == 200, body
    job_id = body["job_id"]
    rendered = _description(
        _condor_nb(
            "render", "analysis.ipynb", "--cpus", "2", "--memory", "3GB", "--wall-time",
            "10m", "--retries", "2", "--file", "data.csv", "-p", "n", "5",
            cwd=server.root, env=server.env,
        )
    )  # fmt: skip
    ad = _ad(_condor_job(server, job_id)["id"])
    assert ad["RequestCpus"] == int(rendered["request_cpus"]) == 2
    assert ad["RequestMemory"] == int(rendered["request_memory"]) == 3072
    assert ad["RequestDisk"] == int(rendered["request_disk"])
    assert ad["AllowedExecuteDuration"] == int(rendered["allowed_execute_duration"])
    assert ad["JobMaxRetries"] == int(rendered["max_retries"]) == 2
    assert "data.csv" in [Path(p.strip()).name for p in str(ad["TransferInput"]).split(",")]
    job = server.wait_job(job_id, ("COMPLETED", "FAILED"), timeout=300)
    assert job["status"] == "COMPLETED", job
    status, _ = server.request("GET", f"/scheduler/jobs/{job_id}/download_files")
    assert status == 204
    job = server.wait_job(job_id, ("COMPLETED",))
    files = {f["file_format"]: f["file_path"] for f in job["job_files"]}
    executed = json.loads((server.root / files["ipynb"]).read_text(encoding="utf-8"))
    text = json.dumps(executed)
    # n typed as `-p n 5` types it (not the text "5"); alpha left empty: its default
    assert "TYPES|int|5|0.5|x#y|True|[1, 2]" in text

    # -- a job definition (a schedule) takes the same options, but not retries -----------
    definition = {"input_uri": "analysis.ipynb", "runtime_environment_name": "personal",
                  "name": "nightly", "schedule": "0 3 * * *", "timezone": "UTC",
                  "parameters": {"n": "5"}, "output_formats": ["ipynb"],
                  "runtime_environment_parameters": {**options, "retries": "2"}}  # fmt: skip
    status, err = server.request("POST", "/scheduler/job_definitions", definition)
    assert status == 400, err
    assert "is not an option of a schedule" in err["message"], err
    del definition["runtime_environment_parameters"]["retries"]
    status, made = server.request("POST", "/scheduler/job_definitions", definition)
    assert status == 200, made
    try:
        _, schedules = server.request("GET", "/condor_nb/schedules")
        (schedule,) = schedules["schedules"]
        _, raw = raw_schedd()
        constraint = f'CondorNbScheduleId == "{schedule["id"]}" && JobStatus =!= 3'
        (sad,) = raw.query(constraint, ["RequestCpus", "RequestMemory", "AllowedExecuteDuration"])
        assert sad["RequestCpus"] == 2 and sad["RequestMemory"] == 3072
        assert sad["AllowedExecuteDuration"] == ad["AllowedExecuteDuration"]
    finally:
        status, _ = server.request(
            "DELETE", f"/scheduler/job_definitions/{made['job_definition_id']}"
        )
        assert status == 204
