"""The shipped executor's cost: the wrapper on a worker without papermill vs one with it.

A small notebook (5 cells) runs through ``condor_nb_run.py`` twice per repetition, each in
a fresh process and a fresh scratch directory holding exactly what a job gets (wrapper
files and ``condor_nb_executor.zip``):

- ``worker papermill``: this venv's Python, which has papermill, nbconvert, ipykernel;
- ``shipped executor``: a bare venv of the same Python holding only ipykernel and what it
  brings (linked from this venv's installed distributions), so the wrapper extracts and
  imports the shipped zip. Same Python release as the zip's bytecode: the common case of
  jobs running in the image the notebook server runs in.

Overhead = median(shipped) - median(worker); target <= 0.5 s per job. Also printed: the
zip's size (what every job transfers). A worker with another Python release compiles the
modules it imports instead (measured by hand in the pool root: docs/benchmarks.md).
Run: ``.venv/bin/python benchmarks/bench_executor.py [repeats]``.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from condor_nb import executor, remote  # noqa: E402

TARGET_S = 0.5
CELLS = ["import json, os", "x = sum(range(1000))", "print(x)", "y = [i * i for i in range(10)]"]


def bare_venv(where: Path) -> Path:
    """A venv of this Python with only ipykernel's closure (symlinked) and a kernelspec."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    site = next(where.glob("lib/python3.*/site-packages"))
    for name in executor._closure((executor.BROUGHT_BY,), set()):
        dist = metadata.distribution(name)
        for top in {f.parts[0] for f in dist.files or [] if not f.parts[0].startswith("..")}:
            source = Path(str(dist.locate_file(top)))
            if source.exists() and not (site / top).exists():
                (site / top).symlink_to(source)
    python = where / "bin" / "python"
    spec = where / "share/jupyter/kernels/python3"
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "bare",
                                                  "language": "python"}))  # fmt: skip
    probe = "import importlib.util as u, sys; sys.exit(u.find_spec('papermill') is not None)"
    subprocess.run([str(python), "-c", probe], check=True)  # really without papermill
    return python


def scratch(root: Path, name: str) -> Path:
    import nbformat

    work = root / name
    work.mkdir()
    cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    spec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": spec}),
                   work / "bench.ipynb")  # fmt: skip
    for target, source in remote.WRAPPER_FILES.items():
        shutil.copy(source, work / target)
    executor.stage(work)
    (work / remote.JOB_JSON).write_text(json.dumps({"notebook": "bench.ipynb", "job_id": name}))
    return work


def once(python: Path, root: Path, name: str) -> tuple[float, str]:
    work = scratch(root, name)
    start = time.perf_counter()
    proc = subprocess.run([str(python), remote.WRAPPER_NAME], cwd=work, capture_output=True)
    elapsed = time.perf_counter() - start
    manifest = json.loads((work / remote.MANIFEST_JSON).read_text())
    if proc.returncode != 0:
        raise RuntimeError(f"{python} exited {proc.returncode}: {proc.stderr[-2000:]!r}")
    return elapsed, str((manifest.get("executor") or {}).get("source"))


def run(repeats: int = 5) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench_executor_") as tmp:
        root = Path(tmp)
        ways = {"worker": Path(sys.executable), "shipped": bare_venv(root / "bare")}
        times: dict[str, list[float]] = {name: [] for name in ways}
        for rep in range(repeats):
            for name in list(ways) if rep % 2 == 0 else list(ways)[::-1]:
                seconds, source = once(ways[name], root, f"{name}{rep}")
                assert source == name, f"{name}: the manifest says {source} ran"
                times[name].append(seconds)
    worker, shipped = (statistics.median(times[n]) for n in ("worker", "shipped"))
    return {
        "worker_s": worker,
        "shipped_s": shipped,
        "overhead_s": shipped - worker,
        "zip_bytes": executor.archive().stat().st_size,
    }


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    result = run(repeats)
    print(f"{len(CELLS)} cells, median of {repeats} fresh processes per way")
    print(f"worker papermill   {result['worker_s']:.2f} s")
    print(f"shipped executor   {result['shipped_s']:.2f} s")
    verdict = "OK" if result["overhead_s"] <= TARGET_S else "TOO SLOW"
    print(f"overhead {result['overhead_s']:+.2f} s (target <= {TARGET_S} s: {verdict})")
    print(f"transferred per job: {result['zip_bytes'] / 1e6:.2f} MB (condor_nb_executor.zip)")


if __name__ == "__main__":
    main()
