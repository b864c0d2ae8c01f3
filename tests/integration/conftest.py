"""Integration tests run against a real HTCondor pool.

By default the project's own personal pool (``condor_nb pool start``), started
once per test session and reused when already running. To run them against
another pool, point ``CONDOR_NB_TEST_CONDOR_CONFIG`` at its client configuration
(and ``CONDOR_NB_TEST_OWNER`` at the Owner your jobs run as).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pool_env() -> dict[str, str]:
    """Environment variables that make condor_nb talk to the test pool."""
    config = os.environ.get("CONDOR_NB_TEST_CONDOR_CONFIG")
    if config:
        env = {"CONDOR_NB_CONDOR_CONFIG": config}
        if os.environ.get("CONDOR_NB_TEST_OWNER"):
            env["CONDOR_NB_OWNER"] = os.environ["CONDOR_NB_TEST_OWNER"]
        return env
    from condor_nb import pool

    pool.start()
    return {}


@pytest.fixture
def cnb(tmp_path: Path, pool_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Cnb]:
    """A fresh condor_nb home (registry, staging) talking to the test pool."""
    home = tmp_path / "home"
    env = {**pool_env, "CONDOR_NB_HOME": str(home), "CONDOR_NB_POLL_INTERVAL": "0.5"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    yield Cnb(tmp_path, env)
    remove_leftover_jobs()


def remove_leftover_jobs(home: Path | None = None) -> None:
    """Remove the jobs and schedules a test's home (default: CONDOR_NB_HOME) still has.

    The pool has one 4-CPU slot: a test's sleeper left behind would delay the next
    tests' jobs (and a cron schedule's firing past its window); a schedule left
    behind would fire every minute for the rest of the session.
    """
    from condor_nb.condor import schedd
    from condor_nb.schedules import api as schedules
    from condor_nb.settings import load_settings
    from condor_nb.store import tracking

    settings = load_settings(home=home) if home else load_settings()
    ours = f"({tracking.base_constraint(settings)}) || ({schedules.home_constraint(settings)})"
    constraint = f"({ours}) && JobStatus =!= 3 && JobStatus =!= 4"
    try:
        schedd.client_for(settings).act("remove", constraint, "condor_nb test finished")
    except Exception as exc:  # a test that stopped the pool on purpose
        print(f"leftover jobs not removed: {exc}")


class Cnb:
    """Helpers bound to one test's condor_nb home."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env

    def settings(self, **overrides: Any) -> Any:
        from condor_nb.settings import load_settings

        return load_settings(**overrides)

    def notebook(self, name: str, cells: list[str], params: str | None = None) -> Path:
        return write_notebook(self.workdir / name, cells, params)

    def run(
        self, *args: str, check: bool = False, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """The real CLI in a new process (as a user would run it)."""
        proc = subprocess.run(
            [sys.executable, "-m", "condor_nb", *args],
            cwd=self.workdir,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"condor_nb {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def python(self, code: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Python code in a new process (a notebook kernel that comes and goes)."""
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=self.workdir,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def write_notebook(path: Path, cells: list[str], params: str | None = None) -> Path:
    """A minimal nbformat-4 notebook: an optional tagged parameters cell, then code cells."""
    nb_cells: list[dict[str, Any]] = []
    if params is not None:
        nb_cells.append(_cell(params, tags=["parameters"]))
    nb_cells.extend(_cell(source) for source in cells)
    for i, cell in enumerate(nb_cells):
        cell["id"] = f"c{i}"
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": nb_cells,
    }
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


def _cell(source: str, tags: list[str] | None = None) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "metadata": {"tags": tags} if tags else {},
        "source": source,
        "outputs": [],
        "execution_count": None,
    }


def cell_outputs(nb_path: Path) -> list[str]:
    """All text a notebook's cells printed or returned, one string per cell."""
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        texts = []
        for o in cell.get("outputs", []):
            text = o.get("text") or o.get("data", {}).get("text/plain") or ""
            texts.append("".join(text) if isinstance(text, list) else text)
        out.append("".join(texts))
    return out


@pytest.fixture
def schedd_ads(pool_env: dict[str, str]) -> Iterator[Any]:
    """Query the job ads the schedd actually stored (queue, then history)."""
    from condor_nb.condor import schedd
    from condor_nb.settings import load_settings

    def query(job_id: str) -> dict[str, Any]:
        client = schedd.client_for(load_settings(**_overrides(pool_env)))
        constraint = f'CondorNbId == "{job_id}"'
        ads = client.query(constraint, []) or client.history(constraint, [], match=1)
        assert ads, f"job {job_id} not found on the schedd"
        return ads[0]

    yield query


def _overrides(env: dict[str, str]) -> dict[str, Any]:
    return {"condor_config": env.get("CONDOR_NB_CONDOR_CONFIG")}


def submit_held_lookalikes(home: Path, n: int, prefix: str = "h") -> int:
    """n held jobs that look like jobs of the condor_nb home ``home``; returns the cluster.

    Remove them with :func:`remove_leftover_jobs` (held jobs count as leftovers).
    """
    from lookalikes import submit_lookalikes

    return submit_lookalikes(home, n, prefix)
