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
modules it imports instead: with the personal pool's root present (and root), the same
pair runs there too, Python 3.13 (the root's, with papermill) vs a bare 3.13 venv
(tests/integration/bare_python.py), whose release differs from the zip's bytecode.
Wall time on a shared machine is noisy: CPU seconds (user + system, the wrapper and its
kernel) are printed too.
Run: ``.venv/bin/python benchmarks/bench_executor.py [repeats]``.
"""

from __future__ import annotations

import json
import os
import resource
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

from condor_nb import contract  # noqa: E402
from condor_nb import worker as remote  # noqa: E402
from condor_nb.submission import executor  # noqa: E402

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
    (work / contract.JOB_JSON).write_text(json.dumps({"notebook": "bench.ipynb", "job_id": name}))
    return work


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def once(python: str, root: Path, name: str, chroot: Path | None) -> tuple[float, float, str]:
    """(wall s, CPU s, which executor the manifest says ran) for one wrapper run."""
    work = scratch(root, name)
    cmd = [python, contract.WRAPPER_NAME]
    if chroot is not None:
        inside = "/" + str(work.relative_to(chroot))
        cmd = ["chroot", str(chroot), "sh", "-c", f"cd {inside} && exec {python} {cmd[1]}"]
    cpu, start = cpu_seconds(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, capture_output=True)
    elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    manifest = json.loads((work / contract.MANIFEST_JSON).read_text())
    if proc.returncode != 0:
        raise RuntimeError(f"{python} exited {proc.returncode}: {proc.stderr[-2000:]!r}")
    return elapsed, cpu, str((manifest.get("executor") or {}).get("source"))


def pair(ways: dict[str, str], root: Path, repeats: int, chroot: Path | None) -> dict[str, float]:
    """Medians for the worker's papermill and the shipped one, alternating the order."""
    wall: dict[str, list[float]] = {name: [] for name in ways}
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    for rep in range(repeats):
        for name in list(ways) if rep % 2 == 0 else list(ways)[::-1]:
            seconds, used, source = once(ways[name], root, f"{name}{rep}", chroot)
            assert source == name, f"{name}: the manifest says {source} ran"
            wall[name].append(seconds)
            cpu[name].append(used)
    out = {f"{n}_s": statistics.median(wall[n]) for n in ways}
    out.update({f"{n}_cpu_s": statistics.median(cpu[n]) for n in ways})
    out["overhead_s"] = out["shipped_s"] - out["worker_s"]
    out["overhead_cpu_s"] = out["shipped_cpu_s"] - out["worker_cpu_s"]
    return out


def pool_root() -> Path | None:
    """The personal pool's root, when this process may chroot into it."""
    if os.geteuid() != 0:
        return None
    from condor_nb.pool import pool_paths

    root = pool_paths().root
    return root if (root / "usr/bin/python3").exists() else None


def run(repeats: int = 5) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_executor_") as tmp:
        ways = {"worker": sys.executable, "shipped": str(bare_venv(Path(tmp) / "bare"))}
        results["same Python release"] = pair(ways, Path(tmp), repeats, None)
    chroot = pool_root()
    if chroot is not None:
        sys.path.insert(0, str(ROOT / "tests"))
        from integration import bare_python

        bare, _ = bare_python.ensure(chroot)
        with tempfile.TemporaryDirectory(prefix="bench_executor_", dir=chroot / "tmp") as tmp:
            os.chmod(tmp, 0o755)
            ways = {"worker": "/usr/bin/python3", "shipped": bare}
            results["other release (pool root, 3.13)"] = pair(ways, Path(tmp), repeats, chroot)
    for figures in results.values():
        figures["zip_bytes"] = executor.archive().stat().st_size
    return results


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    results = run(repeats)
    print(f"{len(CELLS)} cells, median of {repeats} fresh processes per way")
    for case, r in results.items():
        print(f"{case}:")
        print(f"  worker papermill   {r['worker_s']:.2f} s wall  {r['worker_cpu_s']:.2f} s CPU")
        print(f"  shipped executor   {r['shipped_s']:.2f} s wall  {r['shipped_cpu_s']:.2f} s CPU")
        verdict = "OK" if r["overhead_s"] <= TARGET_S else "TOO SLOW"
        print(f"  overhead {r['overhead_s']:+.2f} s wall, {r['overhead_cpu_s']:+.2f} s CPU "
              f"(target <= {TARGET_S} s: {verdict})")  # fmt: skip
    size = next(iter(results.values()))["zip_bytes"]
    print(f"transferred per job: {size / 1e6:.2f} MB (condor_nb_executor.zip)")


if __name__ == "__main__":
    main()
