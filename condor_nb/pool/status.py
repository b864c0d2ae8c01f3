"""What the pool is doing: daemons, slots and job counts, asked from inside the root."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from condor_nb.pool.daemons import REQUIRED_DAEMONS, daemon_pids
from condor_nb.pool.paths import PoolPaths
from condor_nb.pool.procs import run_in_root

#: HTCondor's JobStatus codes, by the names status() reports them under.
JOB_STATUS_NAMES = {
    1: "idle",
    2: "running",
    3: "removed",
    4: "completed",
    5: "held",
    6: "transferring_output",
    7: "suspended",
}


@dataclass(frozen=True)
class SlotInfo:
    name: str
    state: str
    activity: str
    cpus: int
    memory_mb: int


@dataclass(frozen=True)
class PoolStatus:
    """A snapshot of the pool. ``running`` means every daemon has a process."""

    running: bool
    built: bool
    pool_dir: Path
    port: int | None
    daemons: dict[str, int]  # daemon name -> pid
    slots: list[SlotInfo] = field(default_factory=list)
    jobs: dict[str, int] = field(default_factory=dict)  # "idle", "running"... -> count
    mounts: list[Path] = field(default_factory=list)  # extra host folders mounted
    shares: list[Path] = field(default_factory=list)  # the same, read-write
    problems: list[str] = field(default_factory=list)  # queries that failed


def _as_int(text: str) -> int:
    try:
        return int(float(text))
    except ValueError:
        return 0


def query_slots(paths: PoolPaths) -> tuple[list[SlotInfo], str | None]:
    result = run_in_root(
        paths.root,
        ["condor_status", "-af:t", "Name", "State", "Activity", "Cpus", "Memory"],
        check=False,
        timeout=20,
    )
    if result.returncode != 0:
        return [], f"condor_status failed: {result.stderr.strip()}"
    slots = []
    for line in result.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) == 5:
            name, state, activity, cpus, memory = fields
            slots.append(SlotInfo(name, state, activity, _as_int(cpus), _as_int(memory)))
    return slots, None


def query_jobs(paths: PoolPaths) -> tuple[dict[str, int], str | None]:
    result = run_in_root(
        paths.root, ["condor_q", "-allusers", "-af", "JobStatus"], check=False, timeout=30
    )
    if result.returncode != 0:
        return {}, f"condor_q failed: {result.stderr.strip()}"
    counts = Counter(
        JOB_STATUS_NAMES.get(_as_int(line), "unknown") for line in result.stdout.split()
    )
    return dict(counts), None


def pool_status(
    paths: PoolPaths,
    *,
    built: bool,
    port: int | None,
    mounts: list[Path],
    shares: list[Path] | None = None,
) -> PoolStatus:
    pids = daemon_pids(paths) if paths.root.exists() else {}
    running = all(name in pids for name in REQUIRED_DAEMONS)
    slots: list[SlotInfo] = []
    jobs: dict[str, int] = {}
    problems = []
    if "collector" in pids:
        slots, problem = query_slots(paths)
        if problem:
            problems.append(problem)
    if "schedd" in pids:
        jobs, problem = query_jobs(paths)
        if problem:
            problems.append(problem)
    return PoolStatus(
        running=running,
        built=built,
        pool_dir=paths.base,
        port=port,
        daemons=pids,
        slots=slots,
        jobs=jobs,
        mounts=mounts,
        shares=shares or [],
        problems=problems,
    )
