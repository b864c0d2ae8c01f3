"""Building the executor zip, with and without the tree for worker Pythons 3.9 and on.

Each build runs in a fresh process with an empty executor cache (``CONDOR_NB_EXECUTOR_CACHE``
in a temporary folder), as the first submit on a new machine does:

- ``main tree only``: ``CONDOR_NB_EXECUTOR_OLD_PYTHONS=off``, this host's distributions;
- ``with the 3.9 tree, wheels downloaded``: the pinned wheels fetched by pip (its own
  HTTP cache may be warm: pass ``--no-pip-cache`` to measure a cold download);
- ``with the 3.9 tree, wheels cached``: the same, the wheels already in the executor
  cache (a new condor_nb or papermill version on a machine that built once).

Printed: seconds (median of ``repeats``) and the zip's size.
Run: ``.venv/bin/python benchmarks/bench_executor_build.py [repeats] [--no-pip-cache]``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = "from condor_nb.submission import executor; print(executor.archive())"


def build(cache: Path, **env: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CODE],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "CONDOR_NB_EXECUTOR_CACHE": str(cache), **env},
    )
    return time.perf_counter() - t0, Path(proc.stdout.strip()).stat().st_size


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    repeats = int(args[0]) if args else 3
    pip_env = {"PIP_NO_CACHE_DIR": "1"} if "--no-pip-cache" in sys.argv else {}
    rows: dict[str, list[tuple[float, int]]] = {}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            rows.setdefault("main tree only", []).append(
                build(Path(tmp) / "a", CONDOR_NB_EXECUTOR_OLD_PYTHONS="off")
            )
            cache = Path(tmp) / "b"
            rows.setdefault("with the 3.9 tree, wheels downloaded", []).append(
                build(cache, **pip_env)
            )
            for entry in cache.iterdir():  # keep the wheels, drop the zip
                if not entry.name.startswith("wheels-"):
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            rows.setdefault("with the 3.9 tree, wheels cached", []).append(build(cache))
    base = statistics.median(t for t, _ in rows["main tree only"])
    for name, runs in rows.items():
        seconds = statistics.median(t for t, _ in runs)
        size = runs[0][1] / 1e6
        print(f"{name:40s} {seconds:6.2f} s  x{seconds / base:4.2f}  zip {size:.2f} MB")


if __name__ == "__main__":
    main()
