"""``condor_nb schedule``: notebooks HTCondor runs on a cron schedule (condor_nb.schedules)."""

from __future__ import annotations

import time
from typing import Any

import click

from condor_nb.cli.display import printable
from condor_nb.cli.jobs import _parameters
from condor_nb.cli.options import given, job_options
from condor_nb.contract import IN_DIR
from condor_nb.schedules import api as schedules
from condor_nb.schedules import cron as schedules_cron
from condor_nb.schedules.cron_match import SEARCH_YEARS, schedd_next_run


def _echo(line: str) -> None:
    """A line that may hold user text (names, reasons, paths): shown escaped."""
    click.echo(printable(line))


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t)) if t else "-"


def _show(s: Any) -> None:
    _echo(f"{s.id}  {s.name}  [{s.cron}]  {s.state}  ({s.condor_id})")
    _echo(f"  {s.reason or ''}")
    _echo(
        f"  runs started {s.runs_started}, finished {s.runs_finished}, "
        f"last exit code {s.last_exit_code}"
    )
    if s.last_problem:
        _echo(f"  problems {s.problems}; last: {s.last_problem}")


@click.group()
def schedule() -> None:
    """Run a notebook on a cron schedule that lives on the schedd (UTC, execute machine clock)."""


@schedule.command()
@click.argument("cron")
@click.option("-n", "--count", type=int, default=5, show_default=True, help="How many runs.")
def check(cron: str, count: int) -> None:
    """Say whether CRON is accepted, and when it runs next (UTC); nothing is submitted."""

    expr = schedules_cron.normalize(cron)
    now = time.time()
    times = schedules_cron.fire_times(expr, now, now + (SEARCH_YEARS + 1) * 366 * 86400, count)
    _echo(f"[{expr}] can be scheduled; its next runs:")
    for t in times:
        _echo(f"  {_when(t)}")
    planned = schedd_next_run(expr.split(), int(now))
    if times and planned != times[0]:
        _echo(
            f"note: HTCondor's schedd will plan the next run for {_when(planned)} instead "
            "(its quirk with weekday-only schedules: see docs/users.md)"
        )


@schedule.command()
@click.argument("notebook", type=click.Path())
@click.option("--cron", required=True, help='Five cron fields in UTC, e.g. "0 6 * * 1-5".')
@click.option(
    "--keep-runs",
    type=int,
    default=10,
    show_default=True,
    help="How many of the newest runs keep their files.",
)
@job_options("schedule")
def create(notebook: str, cron: str, keep_runs: int, **opts: Any) -> None:
    """Create a schedule that runs NOTEBOOK at every CRON time."""

    params = _parameters(notebook, opts["params"], opts["params_files"])
    made = schedules.schedule(
        notebook, cron, params, keep_runs=keep_runs, **given("schedule", opts)
    )
    _echo(f"created schedule {made.id} as HTCondor job {made.condor_id}")
    _show(made)


@schedule.command(name="list")
def list_() -> None:
    """Your schedules and their states."""

    found = schedules.list_schedules()
    if not found:
        _echo("no schedules")
    for s in found:
        _show(s)


@schedule.command()
@click.argument("schedule_id")
def runs(schedule_id: str) -> None:
    """The runs of a schedule, with where their files are (retrieved now)."""

    found, skipped = schedules.history(schedule_id)
    if not found and not skipped:
        _echo("no runs yet")
    events: list[tuple[float, Any]] = [(r.planned or r.started, r) for r in found]
    events += [(m.planned, m) for m in skipped]
    paused: list[Any] = []  # consecutive firings skipped while paused: one line
    for _, item in sorted(events, key=lambda e: e[0]):
        if isinstance(item, schedules.MissedRun):
            if item.state == "SKIPPED":
                paused.append(item)
            else:
                _flush_paused(paused)
                _echo(f"{item.run_id}  {item.state}  {item.reason}")
            continue
        _flush_paused(paused)
        why = f"  {item.reason}" if item.reason else ""
        late = _lateness(item)
        _echo(f"{item.run_id}  {item.state}  exit {item.exit_code}{late}{why}")
        if item.directory:
            _echo(f"  files: {item.directory}")
    _flush_paused(paused)


def _lateness(run: Any) -> str:
    """ " (started 95 s late)" for a run that began well after its planned time."""
    if run.planned and run.started - run.planned > 60:
        return f" (started {run.started - run.planned:.0f} s late)"
    return ""


def _flush_paused(paused: list[Any]) -> None:
    if not paused:
        return
    first, last = paused[0].run_id, paused[-1].run_id
    span = first if first == last else f"{first}..{last}"
    count = f"{len(paused)} firing{'s' if len(paused) > 1 else ''}"
    _echo(f"{span}  SKIPPED  {count} while the schedule was paused")
    paused.clear()


@schedule.command()
@click.argument("schedule_id")
def pause(schedule_id: str) -> None:
    """Hold the schedule: no run starts until resume."""

    _show(schedules.pause(schedule_id))


@schedule.command()
@click.argument("schedule_id")
def resume(schedule_id: str) -> None:
    """Release a paused schedule."""

    _show(schedules.resume(schedule_id))


@schedule.command()
@click.argument("schedule_id")
@click.option("--cron", help="New cron expression (UTC).")
@click.option("--notebook", type=click.Path(), help="Run this notebook from now on.")
@click.option("--keep-runs", type=int, help="How many of the newest runs keep their files.")
@job_options("schedule", update=True)
def update(
    schedule_id: str, cron: str | None, notebook: str | None, keep_runs: int | None, **opts: Any
) -> None:
    """Change a schedule (its job is replaced; the run history is kept).

    Options left out keep their current values; -p values are merged into the
    current parameters.
    """

    current = schedules.get(schedule_id)
    source = notebook or next(iter(sorted(_staged(current))), current.notebook)
    changes = _parameters(source, opts["params"], opts["params_files"])
    new_params = {**current.parameters, **changes} if changes else None
    _show(
        schedules.update(
            schedule_id,
            cron=cron,
            parameters=new_params,
            notebook=notebook,
            keep_runs=keep_runs,
            **given("schedule", opts),
        )
    )


def _staged(current: Any) -> list[str]:
    from pathlib import Path

    folder = Path(current.job_dir or "") / IN_DIR
    return [str(p) for p in folder.glob("*.ipynb")] if current.job_dir else []


@schedule.command()
@click.argument("schedule_id")
def delete(schedule_id: str) -> None:
    """Remove the schedule from the schedd."""

    schedules.delete(schedule_id)
    _echo(f"deleted schedule {schedule_id}")
