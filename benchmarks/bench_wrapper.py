"""Worker wrapper speed: a notebook of 500 trivial cells, three ways, in fresh processes.

- ``nbclient``: ``NotebookClient(nb, kernel_name="python3").execute()`` plus reading and
  writing the notebook (the least any runner must do);
- ``wrapper``: ``condor_nb_run.py`` as it runs on the worker (papermill with
  time-based saves, parameters, result + manifest + nbconvert HTML report);
- ``papermill_defaults``: ``papermill.execute_notebook`` with its defaults (it rewrites
  the whole notebook at every cell start and end).

Every run is its own Python process (interpreter start and imports included) so the
three pay the same fixed costs; the order alternates between repetitions. The target is
wrapper/nbclient <= 1.5. Run: ``.venv/bin/python benchmarks/bench_wrapper.py [repeats]``.
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
REMOTE = ROOT / "condor_nb" / "remote"
SHIPPED = {"condor_nb_run.py": REMOTE / "run.py", "condor_nb_report.py": REMOTE / "report.py"}
N_CELLS = 500
TARGET = 1.5

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


def build(workdir: Path, n_cells: int = N_CELLS) -> Path:
    cells = [nbformat.v4.new_code_cell(f"x = {i}") for i in range(n_cells)]
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernelspec})
    path = workdir / "bench.ipynb"
    nbformat.write(nb, path)
    for name, source in SHIPPED.items():  # the scratch directory as HTCondor prepares it
        shutil.copy(source, workdir / name)
    (workdir / "condor_nb_job.json").write_text(json.dumps({"notebook": path.name}))
    return path


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return elapsed


def commands(nb: Path) -> dict[str, list[str]]:
    py = sys.executable
    return {
        "nbclient": [py, "-c", NBCLIENT, nb.name, "out_nbclient.ipynb"],
        "wrapper": [py, "condor_nb_run.py"],
        "papermill_defaults": [py, "-c", PAPERMILL, nb.name, "out_papermill.ipynb"],
    }


def run(repeats: int = 3) -> list[dict[str, object]]:
    """Median seconds per way; ratio against nbclient; target for the wrapper only."""
    with tempfile.TemporaryDirectory(prefix="bench_wrapper_") as tmp:
        workdir = Path(tmp)
        cmds = commands(build(workdir))
        times: dict[str, list[float]] = {name: [] for name in cmds}
        order = list(cmds)
        for rep in range(repeats):
            for name in order if rep % 2 == 0 else reversed(order):
                times[name].append(timed(cmds[name], workdir))
    base = statistics.median(times["nbclient"])
    rows: list[dict[str, object]] = []
    for name, samples in times.items():
        median = statistics.median(samples)
        rows.append(
            {
                "name": name,
                "seconds": round(median, 3),
                "ratio": round(median / base, 2),
                "target": TARGET if name == "wrapper" else None,
            }
        )
    return rows


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(f"{N_CELLS} trivial cells, {repeats} repetitions, median of fresh processes")
    rows = run(repeats)
    for row in rows:
        target = f"  (target <= {row['target']})" if row["target"] else ""
        print(f"{row['name']:<20} {row['seconds']:>8.2f} s   x{row['ratio']:.2f}{target}")
    wrapper = next(r for r in rows if r["name"] == "wrapper")
    print("wrapper/nbclient:", wrapper["ratio"], "OK" if wrapper["ratio"] <= TARGET else "TOO SLOW")


if __name__ == "__main__":
    main()
