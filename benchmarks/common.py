"""Shared helpers for the ratio benchmarks: timing, the pool, result rows."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Load helpers shared with the tests (lookalike jobs, process memory).
sys.path.insert(0, str(ROOT / "tests"))
Row = dict[str, Any]


def median_time(func: Callable[[], Any], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def process_time(
    cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def row(name: str, ours: float, raw: float | None, target: str, note: str = "") -> Row:
    ratio = ours / raw if raw else None
    return {"name": name, "condor_nb_s": ours, "raw_s": raw, "ratio": ratio, "target": target,
            "note": note}  # fmt: skip


def ensure_pool() -> None:
    """Start (or reuse) the personal pool, unless CONDOR_NB_CONDOR_CONFIG names another."""
    if os.environ.get("CONDOR_NB_CONDOR_CONFIG"):
        return
    from condor_nb import pool

    pool.start()


def raw_schedd() -> Any:
    """A raw htcondor2 Schedd for the pool condor_nb uses (configured the same way)."""
    from condor_nb.condor import schedd
    from condor_nb.settings import load_settings

    htcondor2 = schedd.configure_bindings(load_settings())
    ad = htcondor2.Collector().locateAll(htcondor2.DaemonType.Schedd)[0]
    return htcondor2, htcondor2.Schedd(ad)


def cli_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CONDOR_NB_HOME"] = str(home)
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "condor_nb", *args]


def write_notebook(path: Path, cells: list[str], params: str | None = None) -> Path:
    cell_list = []
    if params is not None:
        cell_list.append({"cell_type": "code", "metadata": {"tags": ["parameters"]},
                          "source": params, "outputs": [], "execution_count": None})  # fmt: skip
    for source in cells:
        cell_list.append({"cell_type": "code", "metadata": {}, "source": source, "outputs": [],
                          "execution_count": None})  # fmt: skip
    for i, cell in enumerate(cell_list):
        cell["id"] = f"c{i}"
    nb = {"nbformat": 4, "nbformat_minor": 5, "cells": cell_list,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                      "language": "python"}}}  # fmt: skip
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path
