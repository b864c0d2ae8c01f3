"""Two users' Jupyter servers on one schedd: neither lists nor touches the other's jobs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Server, running_server

pytestmark = pytest.mark.pool


@pytest.fixture
def other_server(tmp_path: Path, pool_env: dict[str, str]) -> Iterator[Server]:
    """A second user's server: their own token (``pool add-user``) and Owner."""
    if pool_env:
        pytest.skip("needs the personal pool (it creates the second account)")
    from condor_nb.pool.users import add_user

    with running_server(tmp_path / "alice", {**pool_env, **add_user("alice").env}) as srv:
        yield srv


def test_one_users_server_cannot_list_or_touch_anothers_jobs(
    server: Server, other_server: Server
) -> None:
    server.notebook("slow.ipynb", ["import time; time.sleep(600)"])
    scheduler_id = server.create_job("slow.ipynb")
    server.wait_job(scheduler_id, ("IN_PROGRESS",), timeout=120)
    _, listed = server.request("GET", "/condor_nb/jobs")
    (mine,) = listed["jobs"]

    for refresh in ("1", "full"):
        status, theirs = other_server.request("GET", f"/condor_nb/jobs?refresh={refresh}")
        assert status == 200 and theirs["jobs"] == [], theirs
    assert other_server.request("GET", "/scheduler/jobs")[1]["jobs"] == []
    assert other_server.request("GET", f"/condor_nb/jobs/{mine['id']}")[0] == 404
    status, _ = other_server.request(
        "POST", f"/condor_nb/jobs/{mine['id']}/actions", {"action": "remove"}
    )
    assert status == 404
    assert other_server.request("GET", f"/scheduler/jobs/{scheduler_id}")[0] == 404

    _, after = server.request("GET", f"/condor_nb/jobs/{mine['id']}")
    assert after["state"] == "RUNNING", after
