"""Dask sessions on the real pool: workers as condor_nb jobs, no orphans, parity reported.

The personal pool's jobs run in a Debian 13 root with its own Python 3.13 and no
dask. The ``worker_python`` fixture mounts this venv and its base interpreter into
the pool (read-only, same path, like a CVMFS software area; the running pool is
not restarted), so workers run the very Python and dask of the tests. The parity
tests use a second small venv (Python 3.12, older dask) and the root's own Python.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dask_jobqueue")
pytestmark = pytest.mark.pool

MISMATCH_VENV = Path(
    os.environ.get("CONDOR_NB_TEST_DASK_MISMATCH_VENV", "/root/.cache/condor_nb/dask-parity-py312")
)
MISMATCH_BASE = Path(
    os.environ.get("CONDOR_NB_TEST_DASK_MISMATCH_PYTHON", "/root/.pyenv/versions/3.12.1")
)
MISMATCH_PINS = ("dask==2026.7.1", "distributed==2026.7.1")
SMALL = {"cpus": 1, "memory": "512MB", "disk": "100MB", "dashboard_address": ":0"}


def _mount_into_pool(paths: list[Path]) -> None:
    """Bind-mount host folders into the running pool, keeping its settings (no restart)."""
    from condor_nb import pool
    from condor_nb.pool.paths import pool_paths
    from condor_nb.pool.runtime import load_runtime

    state = load_runtime(pool_paths())
    assert state is not None, "the personal pool is not running"
    pool.start(mounts=paths, port=state.port, cpus=state.cpus, memory_mb=state.memory_mb)


@pytest.fixture(scope="session")
def worker_python(pool_env: dict[str, str]) -> str:
    """This venv's Python, made visible to the pool's jobs."""
    if not pool_env:  # the personal pool: mount the venv and its base interpreter
        prefixes = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
        _mount_into_pool(sorted(prefixes))
    return sys.executable


@pytest.fixture(scope="session")
def mismatched_python(pool_env: dict[str, str]) -> str:
    """A Python 3.12 venv with an older dask/distributed, mounted into the pool."""
    if pool_env:
        pytest.skip("the mismatched environment is built for the personal pool only")
    python = MISMATCH_VENV / "bin" / "python"
    if not python.exists():
        base = MISMATCH_BASE / "bin" / "python3"
        if not base.exists():
            pytest.skip(f"no Python at {base} to build a mismatched worker environment")
        subprocess.run([str(base), "-m", "venv", str(MISMATCH_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *MISMATCH_PINS], check=True)
    _mount_into_pool([MISMATCH_VENV, MISMATCH_BASE.resolve()])
    return str(python)


@pytest.fixture
def session_jobs(cnb: Any) -> Callable[[str], list[Any]]:
    """The worker jobs of a session still in the queue."""
    from condor_nb.condor import schedd
    from condor_nb.dask.description import session_constraint

    def query(session_id: str) -> list[Any]:
        client = schedd.client_for(cnb.settings())
        return client.query(session_constraint(session_id), ["ClusterId", "ProcId", "JobStatus"])

    return query


def eventually(check: Callable[[], bool], timeout: float, what: str, poll: float = 0.5) -> float:
    """Seconds until ``check()`` holds; fails with ``what`` after ``timeout``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(poll)
    return time.monotonic() - start


def test_session_compute_scale_and_close(cnb: Any, worker_python: str, session_jobs: Any) -> None:
    from condor_nb.dask import dask_session

    with dask_session(2, python=worker_python, **SMALL) as (cluster, client):
        sid = cluster.session_id
        cluster.wait_for_workers(2, timeout=120)
        assert cluster.batch_sizes == [2], "two workers of one scale-up: one HTCondor cluster"
        assert len({ad["ClusterId"] for ad in session_jobs(sid)}) == 1
        futures = client.map(lambda x: x * x, range(100))
        assert client.submit(sum, futures).result(timeout=60) == sum(x * x for x in range(100))

        listed = cnb.run("q", check=True).stdout
        assert listed.count(f"dask session {sid}") == 2, listed
        assert sid in cnb.run("dask", "ls", check=True).stdout

        cluster.scale(jobs=3)
        cluster.wait_for_workers(3, timeout=120)
        assert cluster.batch_sizes == [2, 1]
        assert len(session_jobs(sid)) == 3
        cluster.scale(jobs=2)
        eventually(lambda: cluster.connected_workers() == 2, 60, "scaled back to 2 workers")
        eventually(lambda: len(session_jobs(sid)) == 2, 30, "the third worker job removed")
        assert client.submit(lambda: 7).result(timeout=60) == 7
    # Removed jobs leave the queue once their shadow has stopped them (about a second).
    eventually(lambda: session_jobs(sid) == [], 30, "closing the session leaves no job")


def test_adaptive_session(cnb: Any, worker_python: str, session_jobs: Any) -> None:
    from condor_nb.dask import dask_session

    with dask_session(adaptive=(0, 2), python=worker_python, **SMALL) as (cluster, client):
        sid = cluster.session_id
        assert session_jobs(sid) == [], "adaptive from 0: no worker before there is work"

        def slow(x: int) -> int:
            time.sleep(1)
            return x

        futures = client.map(slow, range(20))
        from distributed import wait

        done, _ = wait(futures, timeout=240)  # never hang the suite: fail instead
        assert len(done) == 20, "adaptive scaling never ran the work"
        assert sum(client.gather(futures)) == sum(range(20))
        assert 1 <= max(cluster.batch_sizes) <= 2
        # distributed never retires the last worker holding results the client still
        # references (Scheduler.workers_to_close): release them, as a notebook would.
        del futures, done
        eventually(lambda: session_jobs(sid) == [], 90, "adaptive scaled back down to 0 jobs")
    eventually(lambda: session_jobs(sid) == [], 30, "closing the session leaves no job")


_CLIENT = """
import sys
from condor_nb.dask import dask_session
s = dask_session(2, python={python!r}, cpus=1, memory="512MB", disk="100MB",
                 dashboard_address=":0", heartbeat_interval={interval},
                 heartbeat_timeout={timeout}, wait=True, timeout=120)
print("READY", s.id, flush=True)
import time; time.sleep(600)
"""


def _start_client(cnb: Any, python: str, interval: float = 30, timeout: float = 300) -> Any:
    code = textwrap.dedent(_CLIENT).format(python=python, interval=interval, timeout=timeout)
    errors = cnb.workdir / f"client-{time.monotonic_ns()}.err"  # why, if it did not start
    with errors.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", code], cwd=cnb.workdir, env={**os.environ, **cnb.env},
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )  # fmt: skip
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("READY"):
        proc.kill()
        proc.wait()
        raise AssertionError(
            f"the client process did not start its session: {line!r}\n"
            + errors.read_text(errors="replace")[-3000:]
        )
    return proc, line.split()[1]


@pytest.fixture
def client_process() -> Iterator[list[Any]]:
    procs: list[Any] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_killed_client_leaves_no_workers(
    cnb: Any, worker_python: str, session_jobs: Any, client_process: list[Any]
) -> None:
    """kill -9 the process holding the scheduler: its workers exit, their jobs leave."""
    proc, sid = _start_client(cnb, worker_python)
    client_process.append(proc)
    assert len(session_jobs(sid)) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    seconds = eventually(lambda: session_jobs(sid) == [], 90, "worker jobs gone after kill -9")
    print(f"\nworker jobs gone {seconds:.1f} s after kill -9 of the client")


def test_frozen_client_workers_removed_by_heartbeat_policy(
    cnb: Any, worker_python: str, session_jobs: Any, client_process: list[Any]
) -> None:
    """A client that stops beating (frozen, partitioned) without closing its sockets:
    the schedd's periodic_remove takes the jobs away (heartbeat timeout + the schedd's
    PERIODIC_EXPR_INTERVAL, 60 s by default)."""
    proc, sid = _start_client(cnb, worker_python, interval=2, timeout=10)
    client_process.append(proc)
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        seconds = eventually(lambda: session_jobs(sid) == [], 150, "policy removed the jobs")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
    print(f"\nworker jobs of a frozen client removed by policy after {seconds:.1f} s")
    from condor_nb.condor import schedd
    from condor_nb.dask.description import session_constraint

    client = schedd.client_for(cnb.settings())
    ads = client.history(session_constraint(sid), ["RemoveReason"], match=2)
    assert ads and all("PeriodicRemove" in str(ad.get("RemoveReason")) for ad in ads), ads


def test_mismatched_worker_environment_is_reported(cnb: Any, mismatched_python: str) -> None:
    from condor_nb.dask import dask_session
    from condor_nb.dask.errors import EnvironmentMismatchError

    with pytest.raises(EnvironmentMismatchError) as caught:
        dask_session(1, python=mismatched_python, wait=True, timeout=120, **SMALL)
    message = str(caught.value)
    print(f"\n{message}")
    major_minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"Python: client {major_minor}" in message and "worker 3.12" in message
    assert "distributed: client" in message and "worker 2026.7.1" in message
    assert "fix:" in message


def test_worker_without_distributed_is_explained(cnb: Any, pool_env: dict[str, str]) -> None:
    """The pool root's own Python 3.13 has no dask: the worker job exits, and we say so."""
    if pool_env:
        pytest.skip("relies on the personal pool's root Python having no distributed")
    from condor_nb.dask import dask_session
    from condor_nb.dask.errors import DaskSessionError

    with pytest.raises(DaskSessionError) as caught:
        dask_session(1, python="python3", wait=True, timeout=30, **SMALL)
    message = str(caught.value)
    assert "0 of 1 dask workers connected" in message
    assert "exited with code 1" in message and "distributed" in message, message


def test_loopback_scheduler_refused_for_remote_workers(
    cnb: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session_jobs: Any
) -> None:
    from condor_nb.dask import dask_session
    from condor_nb.errors import ConfigError

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "campus.sub").write_text('universe = vanilla\nrequirements = (OpSys == "LINUX")\n')
    monkeypatch.setenv("CONDOR_NB_PROFILES_PATH", str(profiles))
    with pytest.raises(ConfigError) as caught:
        dask_session(1, profile="campus", host="127.0.0.1", **SMALL)
    message = str(caught.value)
    assert "loopback" in message and "campus" in message and "host='0.0.0.0'" in message
