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
