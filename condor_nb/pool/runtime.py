"""What the last start recorded: its settings, the token's domain, the extra mounts."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from condor_nb.pool.config import PoolSettings, write_if_changed
from condor_nb.pool.paths import PoolPaths


@dataclass
class RuntimeState:
    port: int
    cpus: int
    memory_mb: int
    uid_domain: str
    mounts: list[str] = field(default_factory=list)  # read-only, for jobs (CVMFS-style)
    shares: list[str] = field(default_factory=list)  # read-write: a shared filesystem

    @property
    def settings(self) -> PoolSettings:
        return PoolSettings(port=self.port, cpus=self.cpus, memory_mb=self.memory_mb)

    @property
    def mount_paths(self) -> list[Path]:
        return [Path(m) for m in self.mounts]

    @property
    def share_paths(self) -> list[Path]:
        return [Path(m) for m in self.shares]


def load_runtime(paths: PoolPaths) -> RuntimeState | None:
    try:
        raw = json.loads(paths.runtime_state.read_text(encoding="utf-8"))
        return RuntimeState(
            port=int(raw["port"]),
            cpus=int(raw["cpus"]),
            memory_mb=int(raw["memory_mb"]),
            uid_domain=str(raw["uid_domain"]),
            mounts=[str(m) for m in raw.get("mounts", [])],
            shares=[str(m) for m in raw.get("shares", [])],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_runtime(paths: PoolPaths, state: RuntimeState) -> None:
    write_if_changed(paths.runtime_state, json.dumps(asdict(state), indent=2) + "\n")
