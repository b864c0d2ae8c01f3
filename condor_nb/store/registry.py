"""A local SQLite index of this user's jobs.

The schedd (queue and history) is the source of truth; this is a cache of it plus
what only the submit side knows (the staging folder, where outputs were fetched).
It can be deleted and rebuilt from the schedd: jobs carry ``CondorNb*`` attributes.
WAL mode and a generous busy timeout let many processes and threads share it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from condor_nb.condor.status import JobState
from condor_nb.settings import Settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    notebook      TEXT NOT NULL,
    profile       TEXT NOT NULL,
    schedd        TEXT NOT NULL,
    cluster       INTEGER,
    proc          INTEGER,
    job_dir       TEXT,
    params_json   TEXT,
    content_hash  TEXT,
    state         TEXT NOT NULL,
    reason        TEXT,
    failure_class TEXT,
    exit_code     INTEGER,
    submitted_at  REAL NOT NULL,
    started_at    REAL,
    finished_at   REAL,
    updated_at    REAL NOT NULL,
    retrieved_at  REAL,
    fetched_to    TEXT,
    ad_signature  TEXT,
    in_queue      INTEGER NOT NULL DEFAULT 0,
    cache_key     TEXT,
    sweep_id      TEXT,
    sweep_index   INTEGER,
    spooled       INTEGER NOT NULL DEFAULT 1,
    runtime_s     REAL,
    usage_json    TEXT
);
CREATE INDEX IF NOT EXISTS jobs_cluster ON jobs (schedd, cluster, proc);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS sweeps (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    notebook     TEXT NOT NULL,
    schedd       TEXT NOT NULL,
    job_dir      TEXT NOT NULL,
    size         INTEGER NOT NULL,
    submitted_at REAL NOT NULL
);
-- Which job answers each parameter set of a sweep: the latest attempt, or a
-- cached job of another sweep or submission.
CREATE TABLE IF NOT EXISTS sweep_members (
    sweep_id TEXT NOT NULL,
    idx      INTEGER NOT NULL,
    job_id   TEXT NOT NULL,
    PRIMARY KEY (sweep_id, idx)
);
"""
# Indexes on columns added after the first release are created after migration.
_INDEXES = """
CREATE INDEX IF NOT EXISTS jobs_cache ON jobs (cache_key);
CREATE INDEX IF NOT EXISTS jobs_sweep ON jobs (sweep_id, sweep_index);
"""


@dataclass(slots=True)
class JobRecord:
    """One row of the registry: what condor_nb knows about one job."""

    id: str
    name: str
    notebook: str
    profile: str
    schedd: str
    cluster: int | None
    proc: int | None
    job_dir: str | None
    params_json: str | None
    content_hash: str | None
    state: str
    reason: str | None
    failure_class: str | None
    exit_code: int | None
    submitted_at: float
    started_at: float | None
    finished_at: float | None
    updated_at: float
    retrieved_at: float | None = None
    fetched_to: str | None = None
    # What the status was computed from; an unchanged signature means an unchanged row.
    ad_signature: str | None = None
    # Seen in the schedd's queue at the last look (else in its history, or gone).
    in_queue: int = 0
    cache_key: str | None = None
    sweep_id: str | None = None
    sweep_index: int | None = None
    # Submitted with its inputs uploaded to the schedd (outputs come back by retrieve);
    # 0: the access point shares our filesystem and wrote the outputs in place.
    spooled: int = 1
    # What the schedd recorded once the job ended (or was held): its runtime in
    # seconds, and its use of memory, disk, CPUs and time (spec.usage.Usage as JSON).
    runtime_s: float | None = None
    usage_json: str | None = None

    @property
    def job_state(self) -> JobState:
        return JobState(self.state)

    @property
    def condor_id(self) -> str:
        return f"{self.cluster}.{self.proc}" if self.cluster is not None else "-"


_COLUMNS = [f.name for f in fields(JobRecord)]
_COLUMN_TYPES = {"cache_key": "TEXT", "sweep_id": "TEXT", "sweep_index": "INTEGER",
                 "in_queue": "INTEGER NOT NULL DEFAULT 0", "ad_signature": "TEXT",
                 "spooled": "INTEGER NOT NULL DEFAULT 1", "runtime_s": "REAL",
                 "usage_json": "TEXT"}  # fmt: skip


def _migrate(conn: sqlite3.Connection) -> None:
    """Add columns that a registry written by an older condor_nb lacks."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
    for column, kind in _COLUMN_TYPES.items():
        if column not in present:
            conn.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")


@dataclass(frozen=True)
class SweepRecord:
    """A sweep: one notebook over many parameter sets, its procs are JobRecords."""

    id: str
    name: str
    notebook: str
    schedd: str
    job_dir: str
    size: int
    submitted_at: float


_SWEEP_COLUMNS = [f.name for f in fields(SweepRecord)]
_STATUS_COLUMNS = (
    "state",
    "reason",
    "failure_class",
    "exit_code",
    "started_at",
    "finished_at",
    "updated_at",
    "ad_signature",
    "in_queue",
    "runtime_s",
    "usage_json",
)


_BUSY_SECONDS = 60


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL mode, waiting out other processes that hold it.

    SQLite answers "database is locked" at once, without calling the busy handler,
    when another connection is creating or opening the same new file, so two
    condor_nb processes starting together need this retry.
    """
    deadline = time.monotonic() + _BUSY_SECONDS
    pause = 0.005
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


#: Stored as ``PRAGMA user_version`` once the tables match this code; bump with _SCHEMA.
SCHEMA_VERSION = 3


def _create_schema(conn: sqlite3.Connection) -> None:
    """Create or migrate the tables in one write transaction, so concurrent first opens agree.

    A file already at SCHEMA_VERSION is left alone: no write on every open (the CLI's path).
    """
    if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _statements(_SCHEMA):
            conn.execute(statement)
        _migrate(conn)
        for statement in _statements(_INDEXES):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Registry:
    """Thread-safe access to the registry file (one connection per thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_SECONDS * 1000}")
            _enable_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            _create_schema(conn)
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def insert(self, record: JobRecord) -> None:
        marks = ", ".join("?" for _ in _COLUMNS)
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({marks})",
                [getattr(record, c) for c in _COLUMNS],
            )

    def upsert_many(self, records: Iterable[JobRecord]) -> None:
        """Insert new rows; for known ids refresh only the status columns."""
        marks = ", ".join("?" for _ in _COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _STATUS_COLUMNS)
        sql = (
            f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({marks}) "
            f"ON CONFLICT(id) DO UPDATE SET {updates}, "
            "cluster = COALESCE(jobs.cluster, excluded.cluster), "
            "proc = COALESCE(jobs.proc, excluded.proc)"
        )
        rows = [[getattr(r, c) for c in _COLUMNS] for r in records]
        if rows:
            with self._write() as conn:
                conn.executemany(sql, rows)

    def update(self, job_id: str, **values: Any) -> None:
        unknown = set(values) - set(_COLUMNS)
        if unknown:
            raise KeyError(f"unknown registry columns: {sorted(unknown)}")
        values.setdefault("updated_at", time.time())
        assignments = ", ".join(f"{key} = ?" for key in values)
        with self._write() as conn:
            conn.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", [*values.values(), job_id])

    def delete(self, job_id: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def get(self, job_id: str) -> JobRecord | None:
        row = (
            self._connect()
            .execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id = ?", (job_id,))
            .fetchone()
        )
        return JobRecord(*row) if row else None

    def find_prefix(self, prefix: str) -> list[JobRecord]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = (
            self._connect()
            .execute(
                f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id LIKE ? ESCAPE '\\' LIMIT 20",
                (escaped + "%",),
            )
            .fetchall()
        )
        return [JobRecord(*row) for row in rows]

    def find_condor_id(self, cluster: int, proc: int | None = None) -> list[JobRecord]:
        """Jobs with this HTCondor cluster (and proc), on any schedd, by schedd and proc."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE cluster = ?"
        args: list[int] = [cluster]
        if proc is not None:
            sql += " AND proc = ?"
            args.append(proc)
        rows = self._connect().execute(sql + " ORDER BY schedd, proc", args).fetchall()
        return [JobRecord(*row) for row in rows]

    def all(self, ids: Sequence[str] | None = None) -> list[JobRecord]:
        sql = f"SELECT {', '.join(_COLUMNS)} FROM jobs"
        conn = self._connect()
        if ids is None:
            rows = conn.execute(sql + " ORDER BY submitted_at").fetchall()
        else:
            marks = ", ".join("?" for _ in ids)
            rows = conn.execute(f"{sql} WHERE id IN ({marks})", list(ids)).fetchall()
        return [JobRecord(*row) for row in rows]

    def set_in_queue(self, flags: Iterable[tuple[str, int]]) -> None:
        """Set the in_queue flag of the given (job id, 0 or 1) pairs."""
        rows = [(flag, job_id) for job_id, flag in flags]
        if rows:
            with self._write() as conn:
                conn.executemany("UPDATE jobs SET in_queue = ? WHERE id = ?", rows)

    def get_meta(self, key: str) -> str | None:
        row = self._connect().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str | None) -> None:
        with self._write() as conn:
            if value is None:
                conn.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def find_cache_hits(self, cache_key: str) -> list[JobRecord]:
        """Jobs with this cache key, newest first."""
        sql = (
            f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE cache_key = ? ORDER BY submitted_at DESC"
        )
        rows = self._connect().execute(sql, (cache_key,)).fetchall()
        return [JobRecord(*row) for row in rows]

    def insert_many(self, records: Iterable[JobRecord]) -> None:
        marks = ", ".join("?" for _ in _COLUMNS)
        rows = [[getattr(r, c) for c in _COLUMNS] for r in records]
        with self._write() as conn:
            conn.executemany(f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({marks})", rows)

    def insert_sweep(self, sweep: SweepRecord) -> None:
        marks = ", ".join("?" for _ in _SWEEP_COLUMNS)
        with self._write() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO sweeps ({', '.join(_SWEEP_COLUMNS)}) VALUES ({marks})",
                [getattr(sweep, c) for c in _SWEEP_COLUMNS],
            )

    def get_sweep(self, sweep_id: str) -> SweepRecord | None:
        sql = f"SELECT {', '.join(_SWEEP_COLUMNS)} FROM sweeps WHERE id = ?"
        row = self._connect().execute(sql, (sweep_id,)).fetchone()
        return SweepRecord(*row) if row else None

    def sweeps(self) -> list[SweepRecord]:
        sql = f"SELECT {', '.join(_SWEEP_COLUMNS)} FROM sweeps ORDER BY submitted_at"
        return [SweepRecord(*row) for row in self._connect().execute(sql).fetchall()]

    def set_members(self, sweep_id: str, members: Iterable[tuple[int, str]]) -> None:
        """Record (index, job id) pairs of a sweep (replacing earlier answers)."""
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO sweep_members VALUES (?, ?, ?)",
                ((sweep_id, idx, job_id) for idx, job_id in members),
            )

    def sweep_members(self, sweep_id: str) -> list[tuple[int, JobRecord]]:
        """(index, job) for each parameter set of the sweep, by index."""
        cols = ", ".join(f"j.{c}" for c in _COLUMNS)
        sql = (
            f"SELECT m.idx, {cols} FROM sweep_members m JOIN jobs j ON j.id = m.job_id "
            "WHERE m.sweep_id = ? ORDER BY m.idx"
        )
        rows = self._connect().execute(sql, (sweep_id,)).fetchall()
        return [(int(row[0]), JobRecord(*row[1:])) for row in rows]

    def count(self) -> int:
        return int(self._connect().execute("SELECT COUNT(*) FROM jobs").fetchone()[0])

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def as_dict(record: JobRecord) -> dict[str, Any]:
    """The record as a plain dict (every field is a scalar, so no deep copy: 10x asdict)."""
    return {name: getattr(record, name) for name in _COLUMNS}


_registries: dict[Path, Registry] = {}


def registry_for(settings: Settings) -> Registry:
    """The one open registry of this condor_nb home (shared by every caller in the process)."""
    path = settings.registry_path
    if path not in _registries:
        _registries[path] = Registry(path)
    return _registries[path]
