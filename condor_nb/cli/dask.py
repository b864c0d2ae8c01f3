"""``condor_nb dask ls`` and ``condor_nb dask down ID``: dask sessions on the schedd."""

from __future__ import annotations

import time

import click

from condor_nb.cli import display
from condor_nb.settings import load_settings

_HEADERS = ("SESSION", "WORKERS", "IDLE", "RUNNING", "HELD", "SCHEDULER", "CLIENT",
            "HEARTBEAT", "STARTED")  # fmt: skip


def _client(client: str, alive: bool | None) -> str:
    if alive is None:
        return client
    return f"{client} ({'alive' if alive else 'gone'})"


@click.group()
def dask() -> None:
    """Dask sessions whose workers run as HTCondor jobs (condor_nb.dask_session)."""


@dask.command("ls")
@click.option("--profile", help="Site profile (`personal`, `ospool`, ...).")
def ls(profile: str | None) -> None:
    """List the dask sessions that have worker jobs in the queue."""
    from condor_nb.dask.inventory import sessions

    found = sessions(load_settings(profile=profile))
    if not found:
        click.echo("no dask session has worker jobs in the queue")
        return
    now = time.time()
    rows = [
        [
            s.id,
            str(s.workers),
            str(s.counts.get("idle", 0)),
            str(s.counts.get("running", 0)),
            str(s.counts.get("held", 0)),
            display.printable(s.scheduler),
            display.printable(_client(s.client, s.client_alive)),
            "-" if s.heartbeat_age is None else f"{int(s.heartbeat_age)}s ago",
            display.ago(s.submitted, now),
        ]
        for s in found
    ]
    click.echo(display.table(_HEADERS, rows))


@dask.command("down")
@click.argument("session_id")
@click.option("--profile", help="Site profile (`personal`, `ospool`, ...).")
def down(session_id: str, profile: str | None) -> None:
    """Remove every worker job of dask session SESSION_ID (an id prefix is enough)."""
    from condor_nb.dask.inventory import down as take_down

    sid, removed = take_down(load_settings(profile=profile), session_id)
    click.echo(f"removed {removed} worker job(s) of dask session {sid}")
