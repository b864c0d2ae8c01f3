"""The local job registry: a SQLite file shared by threads and processes."""

from __future__ import annotations

import dataclasses
import multiprocessing
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from condor_nb.condor.status import JobState
from condor_nb.store.registry import JobRecord, Registry, as_dict

T0 = 1_700_000_000.0


def record(job_id: str, **changes: Any) -> JobRecord:
    values: dict[str, Any] = {
        "id": job_id,
        "name": f"job {job_id}",
        "notebook": "/home/user/fit.ipynb",
        "profile": "personal",
        "schedd": "schedd@example.org",
        "cluster": 100,
        "proc": 0,
        "job_dir": f"/home/user/.local/share/condor_nb/jobs/{job_id}",
        "params_json": '{"alpha": 0.5}',
        "content_hash": "sha256:00",
        "state": "QUEUED",
        "reason": None,
        "failure_class": None,
        "exit_code": None,
        "submitted_at": T0,
        "started_at": None,
        "finished_at": None,
        "updated_at": T0,
    }
    values.update(changes)
    return JobRecord(**values)


@pytest.fixture
def registry(tmp_path: Path) -> Any:
    reg = Registry(tmp_path / "nested" / "dir" / "registry.sqlite")
    yield reg
    reg.close()


def test_insert_and_get(registry: Registry) -> None:
    rec = record("0a1b2c3d", params_json='{"label": "α"}', retrieved_at=T0 + 5)
    registry.insert(rec)
    assert registry.get("0a1b2c3d") == rec
    assert registry.path.is_file()
    assert registry.count() == 1


def test_get_unknown_id(registry: Registry) -> None:
    assert registry.get("ffffffff") is None


def test_insert_twice_is_an_error(registry: Registry) -> None:
    registry.insert(record("aa"))
    with pytest.raises(sqlite3.IntegrityError):
        registry.insert(record("aa", name="other"))
    assert registry.get("aa") == record("aa")  # the failed insert left nothing behind
    registry.insert(record("bb"))  # and the connection is still usable


def test_update(registry: Registry) -> None:
    registry.insert(record("aa"))
    before = time.time()
    registry.update("aa", state="RUNNING", reason="cell 2/5", started_at=T0 + 10)
    got = registry.get("aa")
    assert got is not None
    assert (got.state, got.reason, got.started_at) == ("RUNNING", "cell 2/5", T0 + 10)
    assert got.updated_at >= before  # set automatically
    registry.update("aa", fetched_to="/tmp/out", updated_at=T0 + 99)
    got = registry.get("aa")
    assert got is not None
    assert (got.fetched_to, got.updated_at, got.name) == ("/tmp/out", T0 + 99, "job aa")


def test_update_unknown_column(registry: Registry) -> None:
    registry.insert(record("aa"))
    with pytest.raises(KeyError, match="unknown registry columns: \\['colour'\\]"):
        registry.update("aa", colour="red")


def test_update_unknown_id_changes_nothing(registry: Registry) -> None:
    registry.insert(record("aa"))
    registry.update("zz", state="FAILED")
    assert registry.all() == [record("aa")]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("ab", ["abc1", "abc2", "abd3"]),
        ("abc", ["abc1", "abc2"]),
        ("abc1", ["abc1"]),
        ("a_", ["a_c4"]),  # '_' is literal, not a LIKE wildcard
        ("a%", ["a%c5"]),  # '%' too
        ("a\\", ["a\\c6"]),
        ("%", []),
        ("b", []),
    ],
)
def test_find_prefix(registry: Registry, prefix: str, expected: list[str]) -> None:
    for job_id in ["abc1", "abc2", "abd3", "a_c4", "a%c5", "a\\c6", "xyz7"]:
        registry.insert(record(job_id))
    assert sorted(r.id for r in registry.find_prefix(prefix)) == expected


def test_find_prefix_returns_at_most_20(registry: Registry) -> None:
    for n in range(30):
        registry.insert(record(f"ab{n:02d}"))
    assert len(registry.find_prefix("ab")) == 20


def test_all_is_oldest_first_and_filters_by_id(registry: Registry) -> None:
    for job_id, at in [("c", T0 + 3), ("a", T0 + 1), ("b", T0 + 2)]:
        registry.insert(record(job_id, submitted_at=at))
    assert [r.id for r in registry.all()] == ["a", "b", "c"]
    assert sorted(r.id for r in registry.all(["c", "a", "missing"])) == ["a", "c"]
    assert registry.all([]) == []


def test_delete(registry: Registry) -> None:
    registry.insert(record("aa"))
    registry.insert(record("bb"))
    registry.delete("aa")
    assert [r.id for r in registry.all()] == ["bb"]


def test_upsert_many_inserts_new_and_refreshes_known(registry: Registry) -> None:
    known = record(
        "aa", cluster=None, proc=0, retrieved_at=T0 + 50, fetched_to="/home/user/out",
        reason="cell 2 of 5",
    )  # fmt: skip
    registry.insert(known)
    fresh = record(
        "aa", name="rebuilt name", notebook="/elsewhere.ipynb", job_dir="/elsewhere",
        params_json="{}", cluster=200, proc=0, state="FAILED", reason="a cell raised an error",
        failure_class="cell_error", exit_code=3, started_at=T0 + 10, finished_at=T0 + 20,
        updated_at=T0 + 60, retrieved_at=None, fetched_to=None,
    )  # fmt: skip
    registry.upsert_many([fresh, record("bb", state="RUNNING")])

    got = registry.get("aa")
    assert got is not None
    # state columns come from the schedd...
    assert (got.state, got.reason, got.failure_class, got.exit_code) == (
        "FAILED", "a cell raised an error", "cell_error", 3,
    )  # fmt: skip
    assert (got.started_at, got.finished_at, got.updated_at) == (T0 + 10, T0 + 20, T0 + 60)
    # ...what only the submit side knows is kept...
    assert (got.name, got.notebook, got.job_dir, got.params_json) == (
        known.name, known.notebook, known.job_dir, known.params_json,
    )  # fmt: skip
    assert (got.retrieved_at, got.fetched_to) == (T0 + 50, "/home/user/out")
    # ...and a missing cluster id is filled in.
    assert (got.cluster, got.proc) == (200, 0)
    assert registry.get("bb") == record("bb", state="RUNNING")


def test_upsert_keeps_a_known_cluster(registry: Registry) -> None:
    registry.insert(record("aa", cluster=100, proc=3))
    registry.upsert_many([record("aa", cluster=999, proc=9)])
    got = registry.get("aa")
    assert got is not None
    assert (got.cluster, got.proc) == (100, 3)


def test_upsert_nothing(registry: Registry) -> None:
    registry.upsert_many([])
    assert registry.count() == 0


def test_two_registries_on_one_file_share_rows(registry: Registry) -> None:
    other = Registry(registry.path)
    try:
        registry.insert(record("aa"))
        assert other.get("aa") == record("aa")
        other.update("aa", state="RUNNING")
        assert registry.get("aa") is not None
        assert registry.get("aa").state == "RUNNING"  # type: ignore[union-attr]
    finally:
        other.close()


def test_wal_mode(registry: Registry) -> None:
    registry.count()
    conn = sqlite3.connect(registry.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_record_helpers() -> None:
    rec = record("aa", cluster=12, proc=3, state="HELD")
    assert rec.job_state is JobState.HELD
    assert rec.condor_id == "12.3"
    assert record("bb", cluster=None).condor_id == "-"
    assert as_dict(rec) == dataclasses.asdict(rec)
    assert as_dict(rec)["id"] == "aa"


# --- concurrency --------------------------------------------------------------------

THREADS, PROCESSES, PER_WORKER = 8, 2, 25


def _insert_from_process(path: str, prefix: str, go: str, ready: Any, errors: Any) -> None:
    """Runs in a spawned process: wait for the start signal, then insert PER_WORKER rows."""
    reg = Registry(Path(path))
    try:
        reg.count()  # open (and maybe create) the file before the race starts
        ready.put(prefix)
        while not Path(go).exists():
            time.sleep(0.005)
        for n in range(PER_WORKER):
            reg.insert(record(f"{prefix}-{n:03d}"))
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(f"{prefix}: {type(exc).__name__}: {exc}")
    finally:
        reg.close()


def test_threads_and_processes_insert_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite"
    go = tmp_path / "go"
    ctx = multiprocessing.get_context("spawn")
    ready, proc_errors = ctx.Queue(), ctx.Queue()
    procs = [
        ctx.Process(
            target=_insert_from_process,
            args=(str(path), f"p{i}", str(go), ready, proc_errors),
        )
        for i in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    try:
        _race(path, go, procs, ready, proc_errors)
    finally:  # never leave a child waiting for "go": the interpreter would wait for it at exit
        go.touch()
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()


def _wait_ready(procs: list[Any], ready: Any, errors: Any) -> None:
    """Wait until every child has opened the registry; fail with its error if one died."""
    waiting, deadline = len(procs), time.monotonic() + 120
    while waiting:
        try:
            ready.get(timeout=0.5)
            waiting -= 1
            continue
        except queue.Empty:
            pass
        dead = [p.exitcode for p in procs if not p.is_alive()]
        if dead or time.monotonic() > deadline:
            reported = [errors.get(timeout=1) for _ in range(errors.qsize())]
            pytest.fail(f"a child process did not open the registry: exit codes {dead}, {reported}")


def _race(path: Path, go: Path, procs: list[Any], ready: Any, proc_errors: Any) -> None:
    _wait_ready(procs, ready, proc_errors)
    registry = Registry(path)
    barrier = threading.Barrier(THREADS + 1)
    thread_errors: list[str] = []

    def insert_from_thread(prefix: str) -> None:
        try:
            barrier.wait(timeout=60)
            for n in range(PER_WORKER):
                registry.insert(record(f"{prefix}-{n:03d}"))
        except Exception as exc:
            thread_errors.append(f"{prefix}: {type(exc).__name__}: {exc}")
        finally:
            registry.close()

    threads = [threading.Thread(target=insert_from_thread, args=(f"t{i}",)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    go.touch()
    barrier.wait(timeout=60)
    for thread in threads:
        thread.join(timeout=120)
    for proc in procs:
        proc.join(timeout=120)

    errors = list(thread_errors)
    while not proc_errors.empty():
        errors.append(proc_errors.get())
    assert errors == []  # notably no sqlite3.OperationalError: database is locked
    assert [proc.exitcode for proc in procs] == [0] * PROCESSES

    ids = [r.id for r in registry.all()]
    registry.close()
    expected = {
        f"{prefix}-{n:03d}"
        for prefix in [f"t{i}" for i in range(THREADS)] + [f"p{i}" for i in range(PROCESSES)]
        for n in range(PER_WORKER)
    }
    assert len(ids) == len(expected) == (THREADS + PROCESSES) * PER_WORKER
    assert set(ids) == expected  # every id present, and (len) exactly once


def test_upsert_keeps_the_signature_and_queue_flag_that_make_sync_incremental(
    tmp_path: Path,
) -> None:
    from dataclasses import replace

    from condor_nb.store.registry import Registry

    registry = Registry(tmp_path / "r.sqlite")
    first = record("aaaa0001")
    registry.insert(first)
    registry.upsert_many([replace(first, ad_signature="2:123:None", in_queue=1, state="RUNNING")])
    stored = registry.get("aaaa0001")
    assert stored is not None
    assert (stored.ad_signature, stored.in_queue, stored.state) == ("2:123:None", 1, "RUNNING")


def _open_when_told(path: str, go: str, results: Any) -> None:
    while not Path(go).exists():
        time.sleep(0.001)
    try:
        Registry(Path(path)).count()
        results.put("ok")
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_creating_the_registry_together_all_succeed(tmp_path: Path) -> None:
    """Two condor_nb commands started at once on a new machine both get a registry."""
    ctx = multiprocessing.get_context("fork")
    outcomes: list[str] = []
    for trial in range(8):
        path, go = tmp_path / f"r{trial}.sqlite", tmp_path / f"go{trial}"
        results = ctx.Queue()
        procs = [
            ctx.Process(target=_open_when_told, args=(str(path), str(go), results))
            for _ in range(4)
        ]
        for proc in procs:
            proc.start()
        time.sleep(0.05)
        go.touch()
        outcomes += [results.get(timeout=120) for _ in procs]
        for proc in procs:
            proc.join(timeout=30)
    assert set(outcomes) == {"ok"}


def test_a_registry_of_the_previous_schema_gains_the_spooled_column(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, name TEXT NOT NULL, notebook TEXT NOT NULL,"
        " profile TEXT NOT NULL, schedd TEXT NOT NULL, cluster INTEGER, proc INTEGER,"
        " job_dir TEXT, params_json TEXT, content_hash TEXT, state TEXT NOT NULL, reason TEXT,"
        " failure_class TEXT, exit_code INTEGER, submitted_at REAL NOT NULL, started_at REAL,"
        " finished_at REAL, updated_at REAL NOT NULL, retrieved_at REAL, fetched_to TEXT);"
        "INSERT INTO jobs (id, name, notebook, profile, schedd, state, submitted_at, updated_at)"
        " VALUES ('old1', 'fit', '/n.ipynb', 'personal', 's', 'COMPLETED', 1, 1);"
        "PRAGMA user_version = 1;"
    )
    old.commit()
    old.close()
    reg = Registry(path)
    try:
        kept = reg.get("old1")
        assert kept is not None and kept.spooled == 1  # every earlier job was spooled
        reg.insert(record("new1", spooled=0))
        assert reg.get("new1").spooled == 0  # type: ignore[union-attr]
    finally:
        reg.close()
