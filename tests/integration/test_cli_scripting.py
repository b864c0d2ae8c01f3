"""The CLI for scripts, through real `condor_nb` processes on the real pool: `--json`,
`-q`, `--wide`, `--state` checking, and HTCondor ids (`13`, `13.0`) as job ids."""

from __future__ import annotations

import json
from typing import Any

import pytest

import condor_nb
from condor_nb.condor import schedd
from condor_nb.store import tracking
from condor_nb.store.registry import registry_for

from .conftest import Cnb

pytestmark = pytest.mark.pool

SLEEP = "import time\ntime.sleep(seconds)"
# A hold reason of more than 200 characters, its end marked.
LONG_REASON = (
    "waiting for the calibration files of run 2026-12 to be copied to the shared "
    "filesystem by the data team; they said the copy takes until tonight, so this job "
    "is parked here on purpose until then "
) + "END-OF-THE-LONG-REASON"


def _json(cnb: Cnb, *args: str) -> dict[str, Any]:
    proc = cnb.run(*args, check=True)
    data: dict[str, Any] = json.loads(proc.stdout)
    assert data["schema"] == 1, data
    return data


def _schedd_ads(cnb: Cnb) -> dict[str, dict[str, Any]]:
    settings = cnb.settings()
    ads = schedd.client_for(settings).query(
        tracking.base_constraint(settings), ["CondorNbId", "ClusterId", "ProcId", "JobStatus"]
    )
    return {str(ad["CondorNbId"]): dict(ad) for ad in ads}


def test_json_ids_wide_and_condor_ids_through_the_cli(cnb: Cnb) -> None:
    nb = cnb.notebook("sleep.ipynb", [SLEEP], params="seconds = 0")

    # submit --json: the job's id, cluster and state; submit -q: the id alone.
    first = _json(cnb, "submit", str(nb), "--json")
    assert first["kind"] == "job" and first["from_cache"] is False
    assert isinstance(first["cluster"], int) and first["proc"] == 0
    assert first["condor_id"] == f"{first['cluster']}.0"
    assert first["state"] in ("QUEUED", "RUNNING", "COMPLETED")
    assert first["submitted_at"].endswith("Z") and first["parameters"] == {}
    quiet = cnb.run("submit", str(nb), "-p", "seconds", "600", "-q", check=True)
    held_id = quiet.stdout.strip()
    assert quiet.stdout == held_id + "\n" and len(held_id) == 8, quiet.stdout

    # A held job with a hold reason over 200 characters (held the way a site would).
    settings = cnb.settings()
    condor_nb.get(held_id)._wait_for_upload()  # not while its inputs still upload
    constraint = tracking.mine(tracking.id_constraint([held_id]), settings)
    assert schedd.client_for(settings).act("hold", constraint, LONG_REASON) == 1

    sweep = _json(cnb, "sweep", str(nb), "--grid", "seconds=0,1", "--json")
    assert sweep["kind"] == "sweep" and sweep["size"] == 2 and len(sweep["clusters"]) == 1
    sweep_id, sweep_cluster = sweep["id"], sweep["clusters"][0]
    sweep_jobs = [j["id"] for j in sweep["jobs"]]
    assert [j["condor_id"] for j in sweep["jobs"]] == [f"{sweep_cluster}.0", f"{sweep_cluster}.1"]

    # q --json: every job, with the state the registry holds (refreshed from the schedd).
    queue = _json(cnb, "q", "--json")
    shown = {j["id"]: j for j in queue["jobs"]}
    assert set(shown) == {first["id"], held_id, *sweep_jobs}
    registry = {r.id: r for r in registry_for(settings).all()}
    assert {i: j["state"] for i, j in shown.items()} == {i: registry[i].state for i in shown}
    ads = _schedd_ads(cnb)
    assert shown[held_id]["state"] == "HELD" and ads[held_id]["JobStatus"] == 5
    assert shown[held_id]["cluster"] == ads[held_id]["ClusterId"]
    assert LONG_REASON in shown[held_id]["reason"]  # JSON cuts nothing
    assert [s["id"] for s in queue["sweeps"]] == [sweep_id]
    assert sorted(queue["sweeps"][0]["job_ids"]) == sorted(sweep_jobs)

    # q -q: exactly the ids (a sweep is one id), one a line; -e: every job's.
    assert cnb.run("q", "-q", check=True).stdout.split("\n") == [
        first["id"], held_id, sweep_id, ""
    ]  # fmt: skip
    expanded = cnb.run("q", "-q", "-e", check=True).stdout.split()
    assert sorted(expanded) == sorted([first["id"], held_id, *sweep_jobs])
    assert cnb.run("q", "-q", "--state", "held", check=True).stdout == held_id + "\n"

    # --state refuses what is no state, naming the valid ones.
    bogus = cnb.run("q", "--state", "BOGUS")
    assert bogus.returncode == 2 and bogus.stdout == "", bogus
    assert "'BOGUS'" in bogus.stderr
    assert "QUEUED, RUNNING, COMPLETED, FAILED, HELD, REMOVED" in bogus.stderr
    as_json = cnb.run("q", "--state", "BOGUS", "--json")
    error = json.loads(as_json.stdout)["error"]
    assert as_json.returncode == 2 and error["exit_code"] == 2 and "HELD" in error["message"]

    # --wide shows the 200-character reason whole; the table without it cuts it.
    assert len(LONG_REASON) > 200
    assert LONG_REASON in cnb.run("q", "--wide", check=True).stdout
    assert "END-OF-THE-LONG-REASON" not in cnb.run("q", check=True).stdout

    # status: by id, by HTCondor cluster and cluster.proc (as the schedd numbered them).
    cluster = ads[first["id"]]["ClusterId"]
    by_id = _json(cnb, "status", first["id"], "--json")
    assert by_id["kind"] == "job" and by_id["id"] == first["id"]
    assert by_id["state"] == registry_for(settings).all([first["id"]])[0].state
    for name in (str(cluster), f"{cluster}.0"):
        assert _json(cnb, "status", name, "--json")["id"] == first["id"]
        assert f"id: {first['id']}" in cnb.run("status", name, check=True).stdout
    assert cnb.run("status", f"{cluster}.0", "-q", check=True).stdout == first["id"] + "\n"
    proc1 = _json(cnb, "status", f"{sweep_cluster}.1", "--json")
    assert proc1["id"] == sweep_jobs[1] and proc1["sweep_id"] == sweep_id
    assert proc1["parameters"] == {"seconds": 1}

    # A sweep's cluster names the sweep; sweep status and results as JSON.
    for name in (sweep_id, str(sweep_cluster)):
        status = _json(cnb, "sweep", "status", name, "--json")
        assert status["kind"] == "sweep" and status["id"] == sweep_id
        assert sum(status["counts"].values()) == 2
        assert [j["id"] for j in status["jobs"]] == sweep_jobs
    assert _json(cnb, "status", str(sweep_cluster), "--json")["id"] == sweep_id
    results = _json(cnb, "sweep", "results", sweep_id, "--json")
    assert results["kind"] == "sweep_results" and results["sweep_id"] == sweep_id
    assert results["columns"][:5] == ["index", "job_id", "state", "reason", "runtime_s"]
    assert [(r["index"], r["job_id"], r["seconds"]) for r in results["rows"]] == [
        (0, sweep_jobs[0], 0), (1, sweep_jobs[1], 1)
    ]  # fmt: skip

    # why --json, by HTCondor id too; an unknown id as a JSON error with its exit code.
    why = _json(cnb, "why", f"{ads[held_id]['ClusterId']}.0", "--json")
    assert why["kind"] == "why" and why["job"] == held_id and why["state"] == "HELD"
    missing = cnb.run("status", "99999999.7", "--json")
    assert missing.returncode == 7
    assert json.loads(missing.stdout)["error"]["type"] == "JobNotFoundError"
