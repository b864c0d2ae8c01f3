"""`condor_nb sweep NB --grid a=1,2 ...`, `sweep results ID`, `sweep retry ID`."""

from __future__ import annotations

from typing import Any

import click

from condor_nb.cli import display
from condor_nb.cli.jobs import _parameters, _wait_sweep
from condor_nb.cli.options import (
    JSON_OPTION,
    QUIET_OPTION,
    WIDE_OPTION,
    collect,
    job_options,
    not_empty,
    one_output,
)
from condor_nb.errors import SpecError
from condor_nb.settings import load_settings
from condor_nb.spec.job import build
from condor_nb.spec.notebook import inspect_notebook
from condor_nb.spec.sweep import grid_sets, load_sets, parse_grid_option, zip_sets
from condor_nb.sweeps.api import submit_sweep
from condor_nb.sweeps.results import FIXED_COLUMNS, write_table


class _DefaultToRun(click.Group):
    """`condor_nb sweep NB ...` means `condor_nb sweep run NB ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultToRun)
def sweep() -> None:
    """Run a notebook over many parameter sets, as one HTCondor cluster.

    \b
      condor_nb sweep fit.ipynb --grid alpha=0.1,0.5 --grid seed=1,2,3   # 6 runs
      condor_nb sweep fit.ipynb --grid a=1,2,3 --grid b=x,y,z --zip     # 3 runs
      condor_nb sweep fit.ipynb --from sets.csv
      condor_nb sweep status ID
      condor_nb sweep results ID -o results.csv
      condor_nb sweep retry ID
    """


@sweep.command("run")
@click.argument("notebook", type=click.Path())
@click.option(
    "--grid",
    "grids",
    multiple=True,
    metavar="NAME=V1,V2,...",
    help="Values of one parameter (repeat; all combinations are run).",
)
@click.option("--zip", "zip_", is_flag=True, help="Pair the --grid lists instead of combining.")
@click.option(
    "--from",
    "from_file",
    type=click.Path(),
    help="Parameter sets from a .csv, .yaml or .json file.",
)
@job_options("sweep")
@click.option("--no-cache", is_flag=True, help="Run every set again, even those already run.")
@click.option("--wait", "wait_", is_flag=True, help="Wait for the sweep, then fetch outputs.")
@click.option("-o", "--output", type=click.Path(), callback=not_empty,
              help="With --wait: where to fetch outputs.")  # fmt: skip
@JSON_OPTION
@QUIET_OPTION
def run(notebook: str, grids: tuple[str, ...], zip_: bool, from_file: str | None,
        no_cache: bool, wait_: bool, output: str | None, as_json: bool, quiet: bool,
        **opts: Any) -> None:  # fmt: skip
    """Submit NOTEBOOK once per parameter set (prints the sweep id)."""

    one_output(as_json, quiet, ("--wait", wait_))
    if bool(grids) == bool(from_file):
        raise SpecError(
            "a sweep needs --grid NAME=V1,V2 (one or more) or --from FILE, not both",
            hint="for example: condor_nb sweep fit.ipynb --grid alpha=0.1,0.5",
        )
    declared = inspect_notebook(notebook).parameters
    if from_file:
        sets = load_sets(from_file, declared)
    else:
        parsed = dict(parse_grid_option(g) for g in grids)
        sets = zip_sets(parsed, declared) if zip_ else grid_sets(parsed, declared)
    settings = load_settings(profile=opts["profile"])
    common = _parameters(notebook, opts["params"], opts["params_files"])
    base = build(notebook, common, collect("sweep", opts), settings)
    result = submit_sweep(base, sets, settings, cache=not no_cache,
                          allow_unknown=opts["allow_unknown_params"])  # fmt: skip
    members = result.members()
    cached = sum(1 for _, job in members if job.record.sweep_id != result.id)
    own = [job.record for _, job in members if job.record.sweep_id == result.id]
    clusters = sorted({r.cluster for r in own if r.cluster is not None})
    if as_json or quiet:
        from condor_nb.cli import scripting

        click.echo(scripting.sweep_submitted(result, own, cached, as_json=as_json))
        return
    click.echo(f"sweep {result.id}: {len(members)} parameter sets; "
               f"{len(members) - cached} submitted"
               + (f" as HTCondor cluster {clusters[0]}" if clusters else "")
               + (f", {cached} from the cache" if cached else ""))  # fmt: skip
    if wait_:
        _wait_sweep(result, None, output, fetch=True)


def _sweep(sweep_id: str) -> Any:
    """The sweep with this id or HTCondor cluster; a usage error for a job's id."""
    from condor_nb.cli.lookup import find, is_sweep

    target = find(sweep_id)
    if not is_sweep(target):
        raise click.UsageError(
            f"{sweep_id} is a job, not a sweep (`condor_nb status {sweep_id}` shows it)"
        )
    return target


@sweep.command("status")
@click.argument("sweep_id")
@JSON_OPTION
@QUIET_OPTION
@WIDE_OPTION
@click.pass_context
def status(ctx: click.Context, sweep_id: str, as_json: bool, quiet: bool, wide: bool) -> None:
    """The sweep's counts per state, one row per job, then what the finished ones used
    against what they requested (SWEEP_ID: its id or cluster)."""

    from condor_nb.cli import jobs

    _sweep(sweep_id)
    ctx.invoke(jobs.status, job_id=sweep_id, as_json=as_json, quiet=quiet, wide=wide)


@sweep.command("results")
@click.argument("sweep_id")
@click.option("-o", "--output", type=click.Path(), help="Write a .csv or .parquet file.")
@JSON_OPTION
@WIDE_OPTION
def results(sweep_id: str, output: str | None, as_json: bool, wide: bool) -> None:
    """The sweep's table: parameters, recorded values, state and runtime per set."""

    if as_json and output:
        raise click.UsageError("--json and -o cannot be given together; pick one")
    target = _sweep(sweep_id)
    rows = target.results(as_dataframe=False)
    if output:
        click.echo(f"wrote {len(rows)} rows to {write_table(rows, output)}")
        return
    columns: list[str] = list(FIXED_COLUMNS)
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    if as_json:
        from condor_nb.cli import scripting

        click.echo(scripting.results(target.id, rows, columns))
        return
    cells = [[display.printable(_show(row.get(c))) for c in columns] for row in rows]
    click.echo(display.table([c.upper() for c in columns], cells, max_width=None if wide else 48))


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@sweep.command("retry")
@click.argument("sweep_id")
@click.option("--wait", "wait_", is_flag=True, help="Wait for the sweep, then fetch outputs.")
def retry(sweep_id: str, wait_: bool) -> None:
    """Submit again only the procs that FAILED or were REMOVED."""

    target = _sweep(sweep_id)
    target.status()
    jobs = target.retry()
    if not jobs:
        click.echo(f"sweep {target.id}: nothing to retry")
        return
    click.echo(f"sweep {target.id}: resubmitted {len(jobs)} parameter set(s) as HTCondor "
               f"cluster {jobs[0].record.cluster}")  # fmt: skip
    if wait_:
        _wait_sweep(target, None, None, fetch=True)
