"""Runtime and usage read from job ads, hints, and the registry columns that keep them."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from condor_nb.condor.status import JobState
from condor_nb.condor.usage import runtime_seconds, usage_from_ad
from condor_nb.spec.usage import Usage, describe, hints, round_up_size, summary, usage_row
from condor_nb.store.registry import JobRecord, Registry
from condor_nb.store.usage import runtime_of


def record(job_id: str, **changes: Any) -> JobRecord:
    values: dict[str, Any] = {
        "id": job_id, "name": "fit", "notebook": "/n/fit.ipynb", "profile": "personal",
        "schedd": "s", "cluster": 1, "proc": 0, "job_dir": None, "params_json": None,
        "content_hash": None, "state": "QUEUED", "reason": None, "failure_class": None,
        "exit_code": None, "submitted_at": 1.0, "started_at": None, "finished_at": None,
        "updated_at": 1.0,
    }  # fmt: skip
    values.update(changes)
    return JobRecord(**values)


START = 1_000_000
RAN = {"NumJobStarts": 1, "JobCurrentStartDate": START, "JobStartDate": START}


@pytest.mark.parametrize(
    ("ad", "state", "expected"),
    [
        # Completed: the schedd's RemoteWallClockTime (all runs).
        ({**RAN, "RemoteWallClockTime": 42.0, "CompletionDate": START + 40},
         JobState.COMPLETED, 42.0),
        # Removed while running: the run's span, the same in the queue ad at removal and
        # in the history ad the schedd settles a second later.
        ({**RAN, "LastJobStatus": 2, "RemoteWallClockTime": 0.0, "EnteredCurrentStatus": START + 5},
         JobState.REMOVED, 5.0),
        ({**RAN, "LastJobStatus": 2, "RemoteWallClockTime": 6.0, "EnteredCurrentStatus": START + 5},
         JobState.REMOVED, 5.0),
        # Held while running: frozen at the hold.
        ({**RAN, "LastJobStatus": 2, "EnteredCurrentStatus": START + 30}, JobState.HELD, 30.0),
        # Removed before it ever ran: no runtime.
        ({"NumJobStarts": 0, "RemoteWallClockTime": 0.0, "EnteredCurrentStatus": START},
         JobState.REMOVED, None),
        # Idle again after a run: the runs before.
        ({**RAN, "NumJobStarts": 1, "LastJobStatus": 2, "RemoteWallClockTime": 12.0},
         JobState.QUEUED, 12.0),
        ({**RAN, "RemoteWallClockTime": 0.0}, JobState.RUNNING, None),
    ],
)  # fmt: skip
def test_runtime_is_what_the_schedd_recorded(
    ad: dict[str, Any], state: JobState, expected: float | None
) -> None:
    assert runtime_seconds(ad, state) == expected


def test_an_ended_rows_runtime_does_not_grow() -> None:
    """A REMOVED row without a recorded runtime (an older registry) never shows now - start."""
    row = record("r1", state="REMOVED", started_at=100.0, finished_at=None)
    assert runtime_of(row, 200.0) is None and runtime_of(row, 5000.0) is None
    row = record("r2", state="REMOVED", started_at=100.0, finished_at=None, runtime_s=50.0)
    assert runtime_of(row, 200.0) == runtime_of(row, 5000.0) == 50.0
    running = record("r3", state="RUNNING", started_at=100.0)
    assert runtime_of(running, 160.0) == 60.0


def test_usage_units_from_the_ad() -> None:
    ad = {**RAN, "RequestMemory": 2048, "MemoryUsage": 464, "ResidentSetSize": 475000,
          "RequestDisk": 1048576, "DiskUsage": 25000, "RequestCpus": 1, "CpusUsage": 0.25,
          "RemoteWallClockTime": 25.0, "RemoteUserCpu": 3.0, "RemoteSysCpu": 1.0,
          "AllowedExecuteDuration": 3900}  # fmt: skip
    u = usage_from_ad(ad, "j1")
    assert u is not None
    assert (u.memory_used_mb, u.memory_requested_mb) == (464, 2048)
    assert (u.disk_used_mb, u.disk_requested_mb) == (25000 / 1024, 1024)  # KiB -> MiB
    assert (u.cpus_used, u.cpu_seconds, u.wall_seconds) == (0.25, 4.0, 25.0)
    assert u.wall_limit_seconds == 3600  # --wall-time 1h (the schedd's limit has a grace)
    # Only ResidentSetSize (KiB): rounded up to MiB as HTCondor's MemoryUsage does.
    rss_only = usage_from_ad({**RAN, "ResidentSetSize": 1025}, "j2")
    assert rss_only is not None and rss_only.memory_used_mb == 2


def test_memory_a_pool_does_not_measure_is_said_so_not_zero() -> None:
    u = usage_from_ad({**RAN, "RequestMemory": 1024, "ResidentSetSize": 0}, "j")
    assert u is not None and u.memory_used_mb is None and not u.memory_measured
    assert "memory: 1 GB requested; use not measured by this pool" in describe(u)
    assert usage_row(u)[0] == "n/m / 1 GB"
    assert usage_from_ad({"NumJobStarts": 0}, "never") is None


def test_a_job_held_for_memory_is_told_to_ask_for_more() -> None:
    ad = {**RAN, "JobStatus": 5, "HoldReasonCode": 34, "HoldReason": "memory usage exceeded",
          "RequestMemory": 1024, "MemoryUsage": 1100}  # fmt: skip
    u = usage_from_ad(ad, "j")
    assert u is not None and u.exceeded == "memory"
    assert any("--memory 2GB next time" in h for h in u.hints()), u.hints()


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (Usage("a", memory_requested_mb=8192, memory_used_mb=1126),
         "memory: used 1.1 GB of 8 GB requested: --memory 2GB would start sooner"),
        (Usage("b", memory_requested_mb=2048, memory_used_mb=464),
         "memory: used 464 MB of 2 GB requested: --memory 768MB would start sooner"),
        (Usage("c", memory_requested_mb=1024, memory_used_mb=1500),
         "memory: used 1.5 GB of 1 GB requested; it used more than it asked for: --memory 2.5GB"),
        (Usage("d", memory_requested_mb=1024, memory_used_mb=980),
         "memory: used 980 MB of 1 GB requested, close to the limit: --memory 1.5GB"),
        (Usage("e", cpus_requested=4, cpus_used=1.1),
         "cpus: used 1.1 of 4 CPUs on average: --cpus 2 would start sooner"),
        (Usage("f", cpus_requested=1, cpus_used=3.2),
         "cpus: used 3.2 of 1 CPUs on average: --cpus 4 would match what it uses"),
        (Usage("g", wall_seconds=3500, wall_limit_seconds=3600),
         "wall time: ran 0:58:20 of its --wall-time 1h: --wall-time 1h30m next time"),
        (Usage("h", wall_seconds=16 * 3600, duration_category="Medium"),
         "wall time: ran 16:00:00 of the Medium category's 20 h: ask for JobDurationCategory"),
    ],
)  # fmt: skip
def test_hints(usage: Usage, expected: str) -> None:
    assert any(h.startswith(expected) for h in hints(usage)), hints(usage)


def test_no_hint_when_the_request_fits() -> None:
    assert hints(Usage("x", memory_requested_mb=1024, memory_used_mb=600, cpus_requested=1,
                       cpus_used=0.9, disk_requested_mb=1024, disk_used_mb=300)) == []  # fmt: skip
    assert round_up_size(100) == 128 and round_up_size(1100) == 1536 and round_up_size(5000) == 5120


def test_sweep_summary_max_and_median() -> None:
    lines = summary([Usage("a", memory_requested_mb=1024, memory_used_mb=m) for m in (10, 98, 50)])
    assert lines[0] == "memory: max 98 MB, median 50 MB used of 1 GB requested"


def test_a_registry_of_schema_2_gains_the_runtime_and_usage_columns(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite"
    reg = Registry(path)
    reg.insert(record("old1", state="COMPLETED"))
    reg.close()
    conn = sqlite3.connect(path)  # as an older condor_nb left it
    conn.executescript("ALTER TABLE jobs DROP COLUMN runtime_s; ALTER TABLE jobs DROP COLUMN "
                       "usage_json; PRAGMA user_version = 2;")  # fmt: skip
    conn.close()
    reg = Registry(path)
    try:
        kept = reg.get("old1")
        assert kept is not None and kept.runtime_s is None and kept.usage_json is None
        used = Usage("old1", memory_requested_mb=1024, memory_used_mb=300)
        reg.update("old1", runtime_s=12.0, usage_json=used.to_json())
        again = reg.get("old1")
        assert again is not None and again.runtime_s == 12.0
        assert Usage.from_json(again.usage_json) == used
    finally:
        reg.close()


def test_a_job_stopped_at_its_wall_time_is_told_to_ask_for_more(tmp_path: Path) -> None:
    from condor_nb.settings import load_settings
    from condor_nb.store.usage import usage_of

    used = Usage("w1", wall_seconds=700, wall_limit_seconds=600)
    row = record("w1", state="FAILED", failure_class="wall_time", usage_json=used.to_json())
    found = usage_of([row], load_settings(home=str(tmp_path)))["w1"]
    assert found is not None and found.exceeded == "wall_time"
    assert any("--wall-time 18m next time" in h for h in found.hints()), found.hints()
