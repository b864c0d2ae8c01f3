"""A schedule's runs: unpack the cumulative archive the worker keeps (see schedules_worker).

Each run has an id (its UTC start, ``20261121T060500Z``), times, an exit code and,
while it is among the newest ``keep_runs``, its own files: ``output.ipynb``,
``report.html``, ``result.json``, ``manifest.json``, ``stdout.txt``, ``stderr.txt``.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from condor_nb.condor.status import FAILURE_CLASSES, JobState, from_result_file
from condor_nb.contract.names import RESULT_JSON, RUN_FILES, RUNS_ARCHIVE, RUNS_DIR, RUNS_INDEX
from condor_nb.errors import FetchError

ARCHIVE, INDEX = RUNS_ARCHIVE, RUNS_INDEX
_RUN_ID_CHARS = frozenset("0123456789TZ")


@dataclass(frozen=True)
class Run:
    """One firing of a schedule."""

    schedule_id: str
    run_id: str
    started: float
    finished: float
    exit_code: int | None
    state: str
    reason: str | None
    failure_class: str | None
    directory: str | None
    files: Mapping[str, str] = field(default_factory=dict)
    planned: float | None = None  # the firing it answered (None: recorded before condor_nb kept it)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schedule_id": self.schedule_id,
            "run_id": self.run_id,
            "started": self.started,
            "finished": self.finished,
            "exit_code": self.exit_code,
            "state": self.state,
            "reason": self.reason,
            "failure_class": self.failure_class,
            "directory": self.directory,
            "files": dict(self.files),
            "planned": self.planned,
        }


def _safe_member(name: str) -> tuple[str, str] | None:
    """(run id, file name) for ``runs/<id>/<file>`` members; anything else is ignored."""
    parts = name.split("/")
    if len(parts) != 3 or parts[0] != RUNS_DIR or not parts[1] or not parts[2]:
        return None
    run_id, file_name = parts[1], parts[2]
    if not set(run_id) <= _RUN_ID_CHARS or file_name in (".", "..") or "\\" in file_name:
        return None
    return run_id, file_name


def unpack(archive: Path, runs_dir: Path) -> list[dict[str, Any]]:
    """Extract every kept run into ``runs_dir/<run id>/``; returns the archive's index."""
    if not archive.is_file() or archive.stat().st_size == 0:
        return []
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            index = json.loads(zf.read(INDEX)) if INDEX in names else []
            for name in names:
                member = _safe_member(name)
                if member is None:
                    continue
                target = runs_dir / member[0] / member[1]
                if target.exists():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(name))
    except (zipfile.BadZipFile, ValueError, KeyError) as exc:
        raise FetchError(f"the runs archive {archive} is damaged: {exc}") from exc
    except OSError as exc:
        raise FetchError(f"could not unpack the runs archive into {runs_dir}: {exc}") from exc
    return [e for e in index if isinstance(e, dict) and isinstance(e.get("run_id"), str)]


def _classify(
    entry: Mapping[str, Any], directory: Path | None
) -> tuple[str, str | None, str | None]:
    code = entry.get("exit_code")
    result_path = directory / RUN_FILES[RESULT_JSON] if directory else None
    if result_path is not None and result_path.is_file():
        try:
            info = from_result_file(json.loads(result_path.read_text(encoding="utf-8")))
            return info.state.value, info.reason, info.failure_class
        except (OSError, ValueError):
            pass
    if code == 0:
        return JobState.COMPLETED.value, None, None
    outcome = str(entry.get("outcome") or "unknown")
    klass = outcome if outcome in FAILURE_CLASSES else "unknown"
    return JobState.FAILED.value, f"{FAILURE_CLASSES[klass]} (exit code {code})", klass


def runs_from_index(schedule_id: str, index: list[dict[str, Any]], runs_dir: Path) -> list[Run]:
    """Run records, oldest first; runs whose files were dropped have ``directory=None``."""
    out = []
    for entry in index:
        run_id = str(entry["run_id"])
        if not set(run_id) <= _RUN_ID_CHARS:
            continue
        folder = runs_dir / run_id
        directory = folder if folder.is_dir() else None
        state, reason, klass = _classify(entry, directory)
        files = {p.name: str(p) for p in sorted(folder.iterdir())} if directory else {}
        code = entry.get("exit_code")
        out.append(
            Run(
                schedule_id=schedule_id,
                run_id=run_id,
                started=float(entry.get("started") or 0),
                finished=float(entry.get("finished") or 0),
                exit_code=int(code) if isinstance(code, int) else None,
                state=state,
                reason=reason,
                failure_class=klass,
                directory=str(directory) if directory else None,
                files=files,
                planned=_number(entry.get("planned")),
            )
        )
    return out


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
