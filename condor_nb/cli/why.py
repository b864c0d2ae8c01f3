"""``condor_nb why ID``: why a job is not running (idle: its requirements against the
pool's slots, clause by clause; held: the reason in plain words and the command)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from condor_nb.cli.display import printable
from condor_nb.cli.options import JSON_OPTION
from condor_nb.errors import CondorNbError
from condor_nb.settings import load_settings

if TYPE_CHECKING:
    from condor_nb.diagnostics.why import Why


def why_for(thing: Any) -> Why:
    """The analysis of a Job (by its HTCondor id), asked of the pool now."""
    from condor_nb.diagnostics import why

    record = thing.record
    return why.for_condor_id(load_settings(), record.condor_id, job_id=record.id)


def why_line(thing: Any) -> str | None:
    """The "why" lines ``status`` shows for a QUEUED or HELD job (None otherwise)."""

    record = thing.record
    if record.state not in ("QUEUED", "HELD") or not record.condor_id:
        return None
    try:
        answer = why_for(thing)
    except CondorNbError as exc:
        return f"why: (not known: {printable(exc.message)})"
    except Exception as exc:  # the analysis is a hint: status itself must still answer
        return f"why: (could not be analysed: {printable(str(exc))}; `condor_nb why {record.id}`)"
    text = f"why: {printable(answer.summary)}"
    return text + (f"\ndo:  {printable(answer.command)}" if answer.command else "")


@click.command()
@click.argument("job_id")
@JSON_OPTION
def why(job_id: str, as_json: bool) -> None:
    """Say why job JOB_ID is not running, and what to change."""

    from condor_nb.cli.lookup import find, is_sweep

    thing = find(job_id)
    if is_sweep(thing):
        raise click.UsageError(
            f"{job_id} is a sweep; ask about one of its jobs (`condor_nb status {job_id}` "
            "lists them)"
        )
    answer = why_for(thing)
    if as_json:
        from condor_nb.cli import json_output

        click.echo(json_output.document("why", **answer.as_json()))
        return
    for line in answer.text().splitlines():
        click.echo(printable(line))
