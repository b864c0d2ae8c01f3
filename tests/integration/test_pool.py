"""The personal pool, for real: built, started, used by a separate client process, stopped.

Point these tests at any pool with CONDOR_NB_POOL_DIR / CONDOR_NB_POOL_PORT. They
need root. The stop/start test restarts the pool and leaves it running.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from condor_nb import pool
from condor_nb.errors import PoolError
from condor_nb.pool.mounts import mounts_under
from condor_nb.pool.procs import root_processes

pytestmark = [
    pytest.mark.pool,
    pytest.mark.skipif(os.geteuid() != 0, reason="the personal pool needs root"),
]

CLIENT_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import htcondor2

    staging = sys.argv[1]
    ads = htcondor2.Collector().locateAll(htcondor2.DaemonType.Schedd)
    assert ads, "no schedd in the collector"
    schedd = htcondor2.Schedd(ads[0])
    submit = htcondor2.Submit({
        "executable": "/bin/true",
        "transfer_executable": "false",
        "output": "out.txt",
        "error": "err.txt",
        "initialdir": staging,
        "should_transfer_files": "YES",
        "when_to_transfer_output": "ON_EXIT",
        "request_cpus": "1",
        "request_memory": "64MB",
        "request_disk": "10MB",
    })
    result = schedd.submit(submit, spool=True)
    schedd.spool(result)
    cluster = result.cluster()
    seen, deadline = [], time.time() + 120
    while time.time() < deadline:
        ads = schedd.query(f"ClusterId == {cluster}", ["JobStatus", "Owner", "ExitCode"])
        status = int(ads[0]["JobStatus"]) if ads else None
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == 4:
            break
        time.sleep(0.25)
    schedd.retrieve(f"ClusterId == {cluster}")
    print(json.dumps({
        "cluster": cluster, "statuses": seen, "owner": str(ads[0]["Owner"]),
        "exit_code": int(ads[0].get("ExitCode", -1)),
    }))
    """
)


@pytest.fixture(scope="module")
def running_pool() -> Iterator[pool.PoolInfo]:
    info = pool.start()
    yield info
    pool.start()  # whatever a test did, leave a running pool behind


def _mounts_in_root(root: Path) -> list[Path]:
    return mounts_under(root)


def test_start_is_idempotent_and_quick_when_running(running_pool: pool.PoolInfo) -> None:
    before = pool.status().daemons
    again = pool.start()
    assert again.started is False and again.built is False
    assert pool.status().daemons == before  # same processes: nothing was restarted
    # A generous bound: it only tells "returned at once" from "rebuilt or restarted".
    assert again.seconds < 5.0
    assert again.port == running_pool.port
    assert again.identity == pool.identity() == f"nbuser@{pool.identity().split('@', 1)[1]}"
    assert pool.owner() == "nbuser"


def test_status_shows_daemons_and_a_slot(running_pool: pool.PoolInfo) -> None:
    status = pool.status()
    assert status.running and status.built
    assert {"master", "collector", "negotiator", "schedd", "startd"} <= set(status.daemons)
    assert status.slots, status
    # Jobs of other tests may hold part of the partitionable slot.
    assert 1 <= status.slots[0].cpus <= running_pool.cpus
    assert status.slots[0].memory_mb > 0
    assert status.port == running_pool.port
    assert status.problems == []


def test_separate_client_process_submits_spools_and_retrieves(
    running_pool: pool.PoolInfo, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("_CONDOR_")}
    env.update(pool.client_env())
    staging = tmp_path / "staging"
    staging.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT, str(staging)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["statuses"][-1] == 4, report
    assert report["owner"] == pool.owner()
    assert report["exit_code"] == 0
    assert (staging / "out.txt").exists() and (staging / "err.txt").exists()


def test_extra_mount_is_read_only_and_stop_leaves_nothing_behind(
    running_pool: pool.PoolInfo, tmp_path: Path
) -> None:
    shared = tmp_path / "software"
    shared.mkdir()
    (shared / "marker.txt").write_text("parity\n")
    info = pool.start(mounts=[shared])
    assert info.started is False and shared in info.mounts
    assert pool.run_in_root(["cat", str(shared / "marker.txt")]).stdout == "parity\n"
    touched = pool.run_in_root(["touch", str(shared / "new")], check=False)
    assert touched.returncode != 0 and not (shared / "new").exists()
    assert shared in pool.status().mounts

    pool.stop()
    root = running_pool.root
    assert root_processes(root) == []
    assert _mounts_in_root(root) == []
    stopped = pool.status()
    assert not stopped.running and stopped.daemons == {} and stopped.mounts == []
    pool.stop()  # idempotent

    started = time.monotonic()
    again = pool.start()
    assert again.started is True and again.built is False
    assert time.monotonic() - started < 60
    status = pool.status()
    assert status.running and status.slots
    assert again.mounts == []  # extra mounts belong to the start that asked for them


def test_restart_daemons_comes_back(running_pool: pool.PoolInfo) -> None:
    before = pool.status().daemons
    pool.restart_daemons()
    status = pool.status()
    assert status.running and status.slots
    assert status.daemons["schedd"] != before["schedd"]
    assert status.daemons["startd"] != before["startd"]


def test_restart_one_daemon(running_pool: pool.PoolInfo) -> None:
    before = pool.status().daemons
    pool.restart_daemons("schedd")
    after = pool.status()
    assert after.running and after.slots
    assert after.daemons["schedd"] != before["schedd"]
    assert after.daemons["startd"] == before["startd"]


def test_busy_port_is_refused_and_the_pool_keeps_running(running_pool: pool.PoolInfo) -> None:
    before = pool.status().daemons
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        expected = f"127.0.0.1:{busy} is already used by pid {os.getpid()}"
        with pytest.raises(PoolError, match=expected):
            pool.start(port=busy)
    assert pool.status().daemons == before
