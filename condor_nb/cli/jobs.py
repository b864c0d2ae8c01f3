"""Job commands: submit, q, status, wait, logs, fetch, rm, hold, release, render."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import click

from condor_nb.api import get, jobs, new_job_id, prepare, rebuild_registry, submit_job
from condor_nb.cli import display, usage_view
from condor_nb.cli.display import printable
from condor_nb.cli.live_view import live_output_lines, printable_text
from condor_nb.cli.lookup import find as _find
from condor_nb.cli.lookup import is_sweep as _is_sweep
from condor_nb.cli.options import (
    JSON_OPTION,
    QUIET_OPTION,
    WIDE_OPTION,
    collect,
    job_options,
    known_states,
    not_empty,
    one_output,
)
from condor_nb.cli.why import why_line
from condor_nb.condor.state_conflicts import raise_unless_completed
from condor_nb.condor.status import JobState, StatusInfo
from condor_nb.diagnostics import idle, notified
from condor_nb.diagnostics.parity import check_env as env_differences
from condor_nb.diagnostics.parity import for_job
from condor_nb.errors import (
    JobHeldError,
    NotebookExecutionError,
    StateConflictError,
    WaitTimeoutError,
)
from condor_nb.settings import load_settings
from condor_nb.spec.job import build
from condor_nb.spec.notebook import inspect_notebook
from condor_nb.spec.params import coerce_cli_value, load_parameters_file
from condor_nb.submission.render import to_text


def _parameters(
    notebook: str, params: tuple[tuple[str, str], ...], files: tuple[str, ...]
) -> dict[str, Any]:

    values: dict[str, Any] = {}
    for path in files:
        values.update(load_parameters_file(path))
    if params:
        declared = inspect_notebook(notebook).parameters
        for name, raw in params:
            values[name] = coerce_cli_value(raw, declared.get(name))
    return values


def _build_spec(notebook: str, **opts: Any) -> Any:

    settings = load_settings(profile=opts["profile"])
    parameters = _parameters(notebook, opts["params"], opts["params_files"])
    return settings, build(notebook, parameters, collect("job", opts), settings)


@click.command()
@click.argument("notebook", type=click.Path())
@job_options("job")
@click.option("--wait", "wait_", is_flag=True, help="Wait for the job, then fetch its outputs.")
@click.option("-o", "--output", type=click.Path(), callback=not_empty,
              help="With --wait: where to fetch outputs.")  # fmt: skip
@click.option("--no-cache", is_flag=True, help="Run again even if an identical run exists.")
@click.option("--check-env", is_flag=True, help="Warn if the last worker in this image differed.")
@JSON_OPTION
@QUIET_OPTION
def submit(notebook: str, wait_: bool, output: str | None, no_cache: bool, check_env: bool,
           as_json: bool, quiet: bool, **opts: Any) -> None:  # fmt: skip
    """Submit NOTEBOOK as an HTCondor job (prints the job id)."""

    one_output(as_json, quiet, ("--wait", wait_))
    settings, spec = _build_spec(notebook, **opts)
    if check_env:  # environment parity preflight (warns, never blocks)
        for line in env_differences(settings, spec.notebook, spec.image, spec.kernel):
            click.echo(line, err=True)
    job = submit_job(spec, settings, cache=not no_cache)
    if as_json or quiet:
        from condor_nb.cli import scripting

        click.echo(scripting.submitted(job, as_json=as_json))
        return
    if job.from_cache:
        click.echo(f"from the cache: {job.id} ({printable(job.name)}) already ran this "
                   f"notebook with these inputs; it is {job.record.state} "
                   "(--no-cache runs it again)")  # fmt: skip
    else:
        click.echo(f"submitted {job.id} ({printable(job.name)}) as HTCondor job {job.condor_id} "
                   f"on {job.record.schedd}")  # fmt: skip
    if wait_:
        _wait_and_fetch(job, output)


def _wait_and_fetch(job: Any, output: str | None) -> None:
    info = _wait_with_progress(job)
    _finish(job, info, output)


def _finish(job: Any, info: StatusInfo, output: str | None) -> None:
    if info.state in (JobState.COMPLETED, JobState.FAILED):
        fetched = job.fetch(output)
        if fetched.notebook:
            click.echo(f"executed notebook: {printable(str(fetched.notebook))}")
        if fetched.report:
            click.echo(f"HTML report:       {printable(str(fetched.report))}")
        click.echo(f"all outputs:       {printable(str(fetched.directory))}")
        _say_skipped(fetched)

    raise_unless_completed(job.id, info)  # exit 8 held, 9 failed or removed


def _without_clock(line: str) -> str:
    """A progress line without the running cell's time ("(12 s)", "(2 min)") at its end."""
    return re.sub(r" \(\d+ (s|min|h \d+ min)\)\)?$", "", line)


def _wait_with_progress(job: Any, timeout: float | None = None) -> StatusInfo:
    start = time.monotonic()
    last: list[str] = [""]
    tty = sys.stderr.isatty()

    def show(info: StatusInfo) -> None:
        elapsed = int(time.monotonic() - start)
        line = f"{job.id} {info.state.value}" + (
            f" ({printable(info.reason)})" if info.reason else ""
        )
        if tty:
            click.echo(f"\r\033[K[{elapsed:4d}s] {line}", err=True, nl=False)
        elif _without_clock(line) != _without_clock(last[0]):  # not a line per tick
            click.echo(f"[{elapsed:4d}s] {line}", err=True)
        last[0] = line

    info: StatusInfo = job.wait(timeout=timeout, progress=show)
    if tty:
        click.echo("", err=True)
    click.echo(
        f"{job.id} {info.state.value}" + (f": {printable(info.reason)}" if info.reason else "")
    )
    return info


@click.command()
@click.option("--no-refresh", is_flag=True, help="Show the registry only; do not ask the schedd.")
@click.option("--state", "states", multiple=True, callback=known_states,
              help=f"Only jobs in this state (repeatable): {', '.join(JobState)}.")  # fmt: skip
@click.option("-e", "--expand", is_flag=True, help="One row per proc of each sweep.")
@JSON_OPTION
@QUIET_OPTION
@WIDE_OPTION
def q(no_refresh: bool, states: tuple[str, ...], expand: bool, as_json: bool, quiet: bool,
      wide: bool) -> None:  # fmt: skip
    """List your notebook jobs; a sweep is one row with counts per state."""

    one_output(as_json, quiet)
    wanted = {s.upper() for s in states}
    records = [j.record for j in jobs(refresh=not no_refresh)]
    if wanted:
        records = [r for r in records if r.state in wanted]
    if records and not (no_refresh or quiet):  # idle jobs: why they wait, in a few words
        idle.annotate(load_settings(), records)
    if as_json or quiet:
        from condor_nb.cli import scripting

        click.echo(scripting.queue(records, as_json=as_json, expand=expand), nl=False)
        return
    if not records:
        click.echo("no jobs")
        return
    rows = display.job_rows(records) if expand else display.grouped_rows(records)
    click.echo(display.table(display.JOB_HEADERS, rows, max_width=None if wide else 48))


@click.command()
@click.argument("job_id")
@JSON_OPTION
@QUIET_OPTION
@WIDE_OPTION
def status(job_id: str, as_json: bool, quiet: bool, wide: bool) -> None:
    """Show job (or sweep) JOB_ID in detail (JOB_ID: a condor_nb id, or 13 / 13.0)."""
    one_output(as_json, quiet)
    thing = _find(job_id)
    if as_json or quiet:
        from condor_nb.cli import scripting

        click.echo(scripting.status(thing, as_json=as_json), nl=False)
        return
    if _is_sweep(thing):
        counts = thing.status()
        click.echo(f"sweep {thing.id} ({display.printable(thing.name)}): {thing.record.size} "
                   f"parameter sets: {counts}")  # fmt: skip
        records = [job.record for job in thing.jobs()]
        click.echo(display.table(display.JOB_HEADERS, display.job_rows(records),
                                 max_width=None if wide else 48))  # fmt: skip
        click.echo("\n".join(usage_view.sweep_lines(thing)))
        return
    thing.status()
    click.echo(display.detail(thing.record))
    tail = live_output_lines(thing.live()) if thing.record.state == "RUNNING" else None
    if tail:
        click.echo(tail)
    click.echo("\n".join(usage_view.job_lines(thing)))

    line = why_line(thing)
    if line:
        click.echo(line)

    click.echo("\n".join(for_job(thing.id, Path(thing.record.job_dir or "")).lines()))
    record = thing.record
    for text in notified.lines(Path(record.job_dir or ""), record.sweep_index, record.fetched_to):
        click.echo(display.printable(text))


def _wait_sweep(sweep: Any, timeout: float | None, output: str | None, *, fetch: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[counts]}"), transient=False) as bar:  # fmt: skip
        task = bar.add_task(f"sweep {sweep.id}", total=sweep.record.size, counts="")

        def show(counts: Any) -> None:
            finished = counts.total - counts.get("QUEUED", 0) - counts.get("RUNNING", 0)
            bar.update(task, completed=finished, counts=str(counts))

        counts = sweep.wait(timeout=timeout, progress=show)

    click.echo(f"sweep {sweep.id}: {counts}")
    if not counts.done:
        raise WaitTimeoutError(f"timed out; sweep {sweep.id} is still running ({counts})")
    if fetch:
        click.echo(f"outputs: {printable(str(sweep.fetch(output)))}")
    if counts.get(JobState.HELD.value, 0):
        raise JobHeldError(
            f"sweep {sweep.id}: {counts.get(JobState.HELD.value)} job(s) HELD ({counts})",
            hint=f"`condor_nb status {sweep.id}` says why; fix it, then `condor_nb release "
            f"{sweep.id}`",
        )
    if counts.get(JobState.COMPLETED.value, 0) != counts.total:
        raise NotebookExecutionError(
            f"sweep {sweep.id}: not every job COMPLETED ({counts})",
            hint=f"`condor_nb status {sweep.id}` lists them; retry the failed ones with "
            "Sweep.retry()",
        )


@click.command()
@click.argument("job_id")
@click.option("--timeout", type=float, help="Give up after this many seconds (exit 124).")
@click.option("-o", "--output", type=click.Path(), callback=not_empty,
              help="Fetch outputs here when done.")  # fmt: skip
@click.option("--no-fetch", is_flag=True, help="Do not copy outputs when done.")
def wait(job_id: str, timeout: float | None, output: str | None, no_fetch: bool) -> None:
    """Wait for JOB_ID (a job or a sweep) to finish (or be held), then fetch its outputs."""
    job = _find(job_id)
    if _is_sweep(job):
        _wait_sweep(job, timeout, None if no_fetch else output, fetch=not no_fetch)
        return

    info = _wait_with_progress(job, timeout)
    if not info.state.is_terminal and info.state is not JobState.HELD:
        raise WaitTimeoutError(f"timed out; job {job.id} is still {info.state.value}")
    if no_fetch:
        raise_unless_completed(job.id, info)
        return
    _finish(job, info, output)


@click.command()
@click.argument("job_id")
@click.option("-f", "--follow", is_flag=True,
              help="Print the output as the job runs (~10 s behind), until it ends.")  # fmt: skip
def logs(job_id: str, follow: bool) -> None:
    """Show JOB_ID's stdout and stderr (while it runs: what is known so far)."""

    job = get(job_id)
    if not follow or job.status().state.is_terminal:
        click.echo(job.logs())
        return
    for text in job.follow():
        click.echo(printable_text(text), nl=False)
    info = job.status()
    detail = f" ({printable(info.reason)})" if info.reason else ""
    click.echo(f"\n[condor_nb: job {job.id} is {info.state.value}{detail}; the whole log, with "
               f"its last seconds: `condor_nb fetch {job.id}` or `condor_nb logs {job.id}`]",
               err=True)  # fmt: skip


@click.command()
@click.argument("job_id")
@click.option("-o", "--output", type=click.Path(), callback=not_empty, help="Destination folder.")
@click.option("--overwrite", is_flag=True, help="Replace files already in the destination.")
def fetch(job_id: str, output: str | None, overwrite: bool) -> None:
    """Copy JOB_ID's executed notebook, HTML report, logs, result and the notebook's own
    files (a sweep: every proc). Never replaces existing files without --overwrite."""
    job = _find(job_id)
    if _is_sweep(job):
        click.echo(printable(str(job.fetch(output, overwrite=overwrite))))
        return
    fetched = job.fetch(output, overwrite=overwrite)
    for path in fetched.files:
        click.echo(printable(str(path)))
    _say_skipped(fetched)
    if job.record.state == JobState.FAILED.value:  # the words status said before the fetch
        click.echo(f"{job.id} FAILED: {printable(job.record.reason or '')}", err=True)


def _say_skipped(fetched: Any) -> None:
    for name, kind in sorted(fetched.skipped.items()):
        click.echo(
            f"not brought back from the worker: {printable(repr(name))} (a {kind})", err=True
        )


def _act(job_ids: tuple[str, ...], action: str, **kwargs: bool) -> None:
    """Act on each job; one in a state that refuses it is kept, the others go on."""

    kept: list[str] = []
    for job_id in job_ids:
        try:
            job = _find(job_id)
            getattr(job, action)(**kwargs)
        except StateConflictError as exc:
            if len(job_ids) == 1:
                raise
            click.echo(
                f"{printable(job_id)}: {display.error_text(exc.message, exc.hint)}", err=True
            )
            kept.append(job_id)
            continue
        if _is_sweep(job):
            click.echo(f"{job.id}: {job.status()}")
        else:
            click.echo(f"{job.id}: {job.record.state}")
    if kept:
        raise StateConflictError(
            f"{action}: {len(kept)} of {len(job_ids)} jobs were left as they were "
            f"({printable(', '.join(kept))}), for the reasons above"
        )


@click.command()
@click.argument("job_ids", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Also when finished outputs were never fetched.")
def rm(job_ids: tuple[str, ...], force: bool) -> None:
    """Remove jobs from the queue.

    A finished job whose outputs were never fetched is kept (removing it would delete
    them on the schedd): fetch it first, or pass --force.
    """
    _act(job_ids, "remove", force=force)


@click.command()
@click.argument("job_ids", nargs=-1, required=True)
def hold(job_ids: tuple[str, ...]) -> None:
    """Put jobs on hold."""
    _act(job_ids, "hold")


@click.command()
@click.argument("job_ids", nargs=-1, required=True)
def release(job_ids: tuple[str, ...]) -> None:
    """Release held jobs."""
    _act(job_ids, "release")


@click.command()
@click.argument("notebook", type=click.Path())
@job_options("job")
def render(notebook: str, **opts: Any) -> None:
    """Print the submit description NOTEBOOK would get; submit nothing."""

    settings, spec = _build_spec(notebook, **opts)
    _files, description = prepare(spec, settings, new_job_id())
    click.echo(to_text(description), nl=False)


@click.group()
def registry() -> None:
    """Maintain the local job registry (the schedd is the source of truth)."""


@registry.command("rebuild")
def registry_rebuild() -> None:
    """Recreate registry entries from the schedd's queue and history."""

    added = rebuild_registry()
    click.echo(f"registry rebuilt: {added} job(s) added")


@registry.command("path")
def registry_path() -> None:
    """Print where the registry file is."""

    click.echo(str(Path(load_settings().registry_path)))
