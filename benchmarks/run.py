"""The benchmark command: every figure, as ratios against raw htcondor2, in one run.

    .venv/bin/python benchmarks/run.py [--quick] [--only NAME] [--json FILE]

Starts (or reuses) the personal pool. Prints a Markdown table; docs/benchmarks.md
holds the figures of the last full run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row, ensure_pool


def _benches(quick: bool) -> dict[str, Callable[[], list[Row]]]:
    import bench_cli
    import bench_dask
    import bench_executor
    import bench_jupyter
    import bench_live
    import bench_load
    import bench_panel
    import bench_panel_paint
    import bench_start
    import bench_submit
    import bench_submit_cold
    import bench_sweep
    import bench_why
    import bench_wrapper

    reps = 1 if quick else 3
    return {
        "cli": lambda: bench_cli.cold_start(3 if quick else 9),
        "submit": lambda: [bench_submit.submit_one(5 if quick else 25)],
        "submit-cold": lambda: bench_submit_cold.submit_cold(3 if quick else 9),
        "submit-shared": lambda: [bench_submit.submit_one(5 if quick else 25, shared=True)],
        "q": lambda: bench_cli.q_big_queue(10_000, 2 if quick else 5),
        "e2e": lambda: [bench_submit.end_to_end(reps)],
        "start": lambda: bench_start.start_latency(2 if quick else 5),
        "sweep": lambda: bench_sweep.sweep_submit(1 if quick else 3),
        "cache": lambda: bench_sweep.cache_hit(5 if quick else 20),
        "wrapper": lambda: [_wrapper_row(bench_wrapper.run(reps))],
        "executor": lambda: _executor_rows(bench_executor.run(reps)),
        "dask": lambda: bench_dask.run(3, 1 if quick else 3),
        "jupyter": lambda: bench_jupyter.run(),
        "load": lambda: bench_load.run(),
        "why": lambda: bench_why.run(1_000, 3),
        "q-idle": lambda: bench_why.q_idle(10_000, 2 if quick else 5),
        "live": lambda: bench_live.run(),
        "panel": lambda: bench_panel.run(),
        "panel-paint": lambda: bench_panel_paint.run(3 if quick else 5),
    }


def _wrapper_row(rows: list[dict[str, object]]) -> Row:
    by = {str(r["name"]): r for r in rows}
    wrapper, nbclient = by["wrapper"], by["nbclient"]
    ours, raw = float(wrapper["seconds"]), float(nbclient["seconds"])  # type: ignore[arg-type]
    papermill = by.get("papermill_defaults")
    note = f"papermill defaults {float(papermill['seconds']):.1f} s" if papermill else ""  # type: ignore[arg-type]
    return {"name": "worker wrapper, 500 trivial cells (vs nbclient)", "condor_nb_s": ours,
            "raw_s": raw, "ratio": ours / raw, "target": "<= 1.5", "note": note}  # fmt: skip


def _executor_rows(results: dict[str, dict[str, float]]) -> list[Row]:
    rows: list[Row] = []
    for case, r in results.items():
        note = (f"CPU {r['shipped_cpu_s']:.2f} s vs {r['worker_cpu_s']:.2f} s; "
                f"zip {r['zip_bytes'] / 1e6:.1f} MB per job")  # fmt: skip
        rows.append({"name": f"shipped executor vs worker's papermill, {case}",
                     "condor_nb_s": r["shipped_s"], "raw_s": r["worker_s"],
                     "ratio": r["shipped_s"] / r["worker_s"], "target": "<= +0.5 s",
                     "note": note})  # fmt: skip
    return rows


def _fmt(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "-"
    if unit != "s":
        return f"{value:.1f} {unit}"
    return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value:.3f} s"


def table(rows: list[Row]) -> str:
    lines = [
        "| benchmark | condor_nb | raw | ratio | target | note |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append(
            f"| {r['name']} | {_fmt(r['condor_nb_s'], r.get('unit', 's'))} "
            f"| {_fmt(r['raw_s'], r.get('unit', 's'))} | {ratio} "
            f"| {r['target']} | {r['note']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--only",
        action="append",
        help="run only these, repeated or comma-separated (cli, submit, submit-cold, q, e2e, "
        "sweep, cache, wrapper, dask, jupyter, load, "
        "live, why, q-idle, panel, panel-paint)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args()
    benches = _benches(args.quick)
    only = {name.strip() for given in args.only or () for name in given.split(",") if name.strip()}
    if unknown := sorted(only - set(benches)):
        names = ", ".join(benches)
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; the names are: {names} "
                     "(repeat --only or separate names with commas)")  # fmt: skip
    ensure_pool()
    rows: list[Row] = []
    for name, bench in benches.items():
        if only and name not in only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(bench())
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
