"""Two users on one schedd: each sees and touches only their own jobs.

The second user is a real account of the personal pool (``condor_nb pool
add-user``) with a token of its own, as on a shared campus access point. On
JupyterHub both users often have the very same condor_nb home path, so that is
what the second user gets here: only the schedd's ``Owner`` keeps them apart.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest

import condor_nb

from .conftest import Cnb

pytestmark = pytest.mark.pool

OTHER = "alice"


@pytest.fixture(scope="module")
def other_user_env(pool_env: dict[str, str]) -> dict[str, str]:
    if pool_env:
        pytest.skip("needs the personal pool (it creates the second account)")
    from condor_nb.pool.users import add_user

    return add_user(OTHER).env


def _as_other(cnb: Cnb, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "condor_nb", *args],
        cwd=cnb.workdir,
        env={**os.environ, **cnb.env, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


_RAW_REMOVE = """
import sys
from condor_nb.condor import schedd
from condor_nb.settings import load_settings
client = schedd.client_for(load_settings())
for action in ("remove", "hold"):
    try:
        done = client.act(action, "ClusterId == " + sys.argv[1], "not mine")
    except Exception as exc:
        done = f"refused: {exc}"
    print(action, done)
try:
    print("edit", client.edit("ClusterId == " + sys.argv[1], "JobPrio", "10"))
except Exception as exc:
    print("edit refused:", exc)
"""


def test_same_home_path_other_owner_sees_and_touches_nothing(
    cnb: Cnb, other_user_env: dict[str, str]
) -> None:
    nb = cnb.notebook("mine.ipynb", ["import time; time.sleep(s)"], params="s = 0")
    mine = condor_nb.submit(nb, parameters={"s": 600})
    deadline = time.monotonic() + 120
    while mine.status().state.value != "RUNNING" and time.monotonic() < deadline:
        time.sleep(1)
    cluster = mine.record.cluster
    home = cnb.env["CONDOR_NB_HOME"]
    # The other user has the same home path (a JupyterHub default), with nothing in it yet.
    os.rename(home, home + ".first-user")
    try:
        for args in (["q"], ["registry", "rebuild"], ["q", "--no-refresh"]):
            proc = _as_other(cnb, other_user_env, *args)
            assert proc.returncode == 0, proc.stderr
            assert mine.id not in proc.stdout, (args, proc.stdout)
        assert _as_other(cnb, other_user_env, "status", mine.id).returncode != 0
        # Even the bindings, given the cluster id, cannot touch the job.
        raw = subprocess.run(
            [sys.executable, "-c", _RAW_REMOVE, str(cluster)],
            env={**os.environ, **cnb.env, **other_user_env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        said = dict(line.split(" ", 1) for line in raw.stdout.splitlines())
        assert said["remove"] in ("0", "refused") or said["remove"].startswith("refused"), said
        assert said["hold"] == "0" or said["hold"].startswith("refused"), said
        assert said["edit"].startswith("refused"), said
    finally:
        os.rename(home, home + ".second-user")
        os.rename(home + ".first-user", home)
    assert mine.status().state.value == "RUNNING"
    ads = _ads(cluster)
    assert ads and ads[0].get("JobPrio", 0) != 10 and ads[0]["Owner"] == "nbuser"
    mine.remove()


def _ads(cluster: Any) -> list[Any]:
    from condor_nb.condor import schedd
    from condor_nb.settings import load_settings

    client = schedd.client_for(load_settings())
    return list(client.query(f"ClusterId == {cluster}", ["Owner", "JobPrio", "JobStatus"]))


def test_pool_add_user_prints_a_shell_that_acts_as_the_user(
    cnb: Cnb, other_user_env: dict[str, str]
) -> None:
    proc = cnb.run("pool", "add-user", OTHER, check=True)  # idempotent: the fixture made it
    exports = dict(line.removeprefix("export ").split("=", 1) for line in proc.stdout.splitlines())
    assert exports["CONDOR_NB_CONDOR_CONFIG"] == other_user_env["CONDOR_NB_CONDOR_CONFIG"]
    assert exports["CONDOR_NB_HOME"].endswith(f"/users/{OTHER}/condor_nb-home")
    auth = _as_other(cnb, {"CONDOR_NB_CONDOR_CONFIG": exports["CONDOR_NB_CONDOR_CONFIG"]},
                     "auth", "status")  # fmt: skip
    assert f"{OTHER}@" in auth.stdout, auth.stdout
    bad = cnb.run("pool", "add-user", "root")
    assert bad.returncode == 10 and "not a name for a new pool user" in bad.stderr


_PLANT = """
import json, sys
from condor_nb.condor import schedd
from condor_nb.settings import load_settings
sweep_id, job_dir = sys.argv[1], sys.argv[2]
client = schedd.client_for(load_settings())
sub = {"executable": "/bin/sleep", "arguments": "600", "transfer_executable": "false",
       "requirements": "false", "+CondorNbSweep": json.dumps(sweep_id),
       "+CondorNbId": '"feedf00d"', "+CondorNbJobDir": json.dumps(job_dir)}
print(client.submit(sub, spool=False)[0])
"""


def test_a_sweep_acts_only_on_its_owners_jobs_from_its_home(
    cnb: Cnb, other_user_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """Jobs carrying our sweep's id but submitted by another user (same home path, as on
    JupyterHub) or by us from another condor_nb home are never held nor removed with it.
    Before: the sweep acted on `CondorNbSweep == id` alone; the schedd refused the other
    Owner's job (permission denied) and held our other home's job."""
    import logging

    nb = cnb.notebook("sweep.ipynb", ["import time; time.sleep(s)"], params="s = 0")
    sweep = condor_nb.sweep(nb, grid={"s": [300, 301]})
    home = cnb.env["CONDOR_NB_HOME"]
    job_dir = f"{home}/jobs/{sweep.id}/"
    env = {**os.environ, **cnb.env}
    theirs = subprocess.run(
        [sys.executable, "-c", _PLANT, sweep.id, job_dir], env={**env, **other_user_env},
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout.split()[-1]  # fmt: skip
    elsewhere = subprocess.run(
        [sys.executable, "-c", _PLANT, sweep.id, f"{home}-elsewhere/jobs/{sweep.id}/"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    ).stdout.split()[-1]  # fmt: skip
    planted = {theirs: "alice", elsewhere: "nbuser"}
    try:
        caplog.set_level(logging.DEBUG, logger="condor_nb")
        sweep.hold()
        sweep.remove(force=True)
        for cluster, owner in planted.items():
            ads = _ads(cluster)
            assert ads, f"{owner}'s job {cluster} (not of this sweep) was removed with it"
            assert ads[0]["Owner"] == owner, ads
            assert ads[0]["JobStatus"] == 1, (owner, ads)  # idle, as planted: untouched
        acted = [r.getMessage() for r in caplog.records if " on schedd " in r.getMessage()]
        done = [line for line in acted if "refused (permission denied)" in line]
        assert len(done) == 2 and all(" 0 refused" in line for line in done), acted
        assert all(
            f'CondorNbSweep == "{sweep.id}"' in line and "Owner ==" in line
            for line in acted
            if line.startswith(("hold on", "remove on")) and "done" not in line
        ), acted
        for _, job in sweep.members():
            assert job.status().state.value == "REMOVED"
    finally:
        _remove_as(theirs, {**env, **other_user_env})
        _remove_as(elsewhere, env)


def _remove_as(cluster: str, env: dict[str, str]) -> None:
    code = (
        "import sys\nfrom condor_nb.condor import schedd\nfrom condor_nb.settings import "
        "load_settings\nschedd.client_for(load_settings()).act('remove', "
        "'ClusterId == ' + sys.argv[1], 'test done')"
    )
    subprocess.run([sys.executable, "-c", code, cluster], env=env, timeout=120, check=False)
