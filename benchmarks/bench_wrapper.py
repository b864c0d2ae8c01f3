"""Worker wrapper speed: a notebook of 500 trivial cells (``x = i``), run several ways.

- ``nbclient``: ``NotebookClient(nb, kernel_name="python3").execute()`` plus reading and
  writing the notebook (the least any runner must do) - the baseline;
- ``wrapper``: ``condor_nb_run.py`` exactly as on the worker (papermill with time-based
  saves, result, manifest and the nbconvert HTML report) - target <= 1.5 x baseline;
- ``wrapper_no_report``: the same with ``"report": false`` (no nbconvert), to show what the
  HTML report costs;
- ``papermill_defaults``: ``papermill.execute_notebook`` with its defaults (it rewrites the
  whole notebook at every cell start and end).

Every run is a fresh Python process (interpreter start and imports included), so all pay
the same fixed costs; the order alternates between repetitions.
Run: ``.venv/bin/python benchmarks/bench_wrapper.py [repeats]``; or import and call
``run(repeats)`` for rows ``{"name", "seconds", "ratio", "target"}``.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "condor_nb" / "worker"
SHIPPED = {
    "condor_nb_run.py": WORKER / "run.py",
    "condor_nb_contract.py": ROOT / "condor_nb" / "contract" / "names.py",
    "condor_nb_report.py": WORKER / "report.py",
}
N_CELLS = 500
TARGET = 1.5
BASELINE = "nbclient"

NBCLIENT = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="python3").execute()
nbformat.write(nb, sys.argv[2])
"""
PAPERMILL = """
import sys, papermill
papermill.execute_notebook(sys.argv[1], sys.argv[2], kernel_name="python3", progress_bar=False)
"""


def trivial_notebook(n_cells: int = N_CELLS) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_code_cell(f"x = {i}") for i in range(n_cells)]
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernelspec})


def scratch(root: Path, name: str, nb: nbformat.NotebookNode, job: dict[str, object]) -> Path:
    """A job directory as HTCondor prepares it: the wrapper files, the job file, the notebook."""
    workdir = root / name
    workdir.mkdir()
    nbformat.write(nb, workdir / "bench.ipynb")
    for target, source in SHIPPED.items():
        shutil.copy(source, workdir / target)
    (workdir / "condor_nb_job.json").write_text(json.dumps({"notebook": "bench.ipynb", **job}))
    return workdir


def ways(root: Path) -> dict[str, tuple[list[str], Path]]:
    """name -> (command, directory to run it in)."""
    nb, py = trivial_notebook(), sys.executable
    return {
        "nbclient": ([py, "-c", NBCLIENT, "bench.ipynb", "out.ipynb"], scratch(root, "a", nb, {})),
        "wrapper": ([py, "condor_nb_run.py"], scratch(root, "b", nb, {})),
        "wrapper_no_report": ([py, "condor_nb_run.py"], scratch(root, "c", nb, {"report": False})),
        "papermill_defaults": (
            [py, "-c", PAPERMILL, "bench.ipynb", "out.ipynb"],
            scratch(root, "d", nb, {}),
        ),
    }


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return elapsed


def run(repeats: int = 3) -> list[dict[str, object]]:
    """Median seconds per way, its ratio to nbclient, and the target (wrapper only)."""
    with tempfile.TemporaryDirectory(prefix="bench_wrapper_") as tmp:
        todo = ways(Path(tmp))
        times: dict[str, list[float]] = {name: [] for name in todo}
        order = list(todo)
        for rep in range(repeats):
            for name in order if rep % 2 == 0 else order[::-1]:
                times[name].append(timed(*todo[name]))
    base = statistics.median(times[BASELINE])
    return [
        {
            "name": name,
            "seconds": round(statistics.median(samples), 3),
            "ratio": round(statistics.median(samples) / base, 2),
            "target": TARGET if name == "wrapper" else None,
        }
        for name, samples in times.items()
    ]


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(f"{N_CELLS} trivial cells, median of {repeats} fresh processes per way")
    rows = run(repeats)
    for row in rows:
        target = f"   target <= {row['target']}" if row["target"] else ""
        print(f"{row['name']:<20} {row['seconds']:>7.2f} s   x{row['ratio']:.2f}{target}")
    wrapper = next(row for row in rows if row["name"] == "wrapper")
    verdict = "OK" if float(str(wrapper["ratio"])) <= TARGET else "TOO SLOW"
    print(f"wrapper/nbclient = {wrapper['ratio']} ({verdict})")


if __name__ == "__main__":
    main()
