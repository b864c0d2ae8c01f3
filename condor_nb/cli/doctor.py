"""``condor_nb doctor``: is everything in place to submit? Each failure says how to fix it."""

from __future__ import annotations

import click

from condor_nb.diagnostics import doctor as checks
from condor_nb.errors import CondorNbError
from condor_nb.settings import load_settings


@click.command()
@click.option("--probe", is_flag=True, help="Also run a tiny job: does the image have papermill?")
@click.option("--timeout", type=float, default=180.0, show_default=True, help="Probe timeout (s).")
@click.option("--profile", help="Check this site profile instead of the configured one.")
@click.option(
    "--dask", is_flag=True, help="Also run a tiny job: can a dask worker connect back to this host?"
)
@click.option(
    "--dask-host",
    metavar="ADDRESS",
    help="With --dask: listen on this address (as dask_session(host=...)).",
)
@click.option(
    "--dask-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="With --dask: listen on this port (0: any free one).",
)
def doctor(
    probe: bool,
    timeout: float,
    profile: str | None,
    dask: bool,
    dask_host: str | None,
    dask_port: int,
) -> None:
    """Check configuration, schedd, credentials, profile, image (exit 1 on any failure)."""

    results = checks.run_checks(
        load_settings(profile=profile), probe=probe, timeout=timeout, dask=dask,
        dask_host=dask_host, dask_port=dask_port,
    )  # fmt: skip
    width = max(len(c.name) for c in results)
    for check in results:
        click.echo(f"[{check.status:>4}] {check.name:<{width}}  {check.detail}")
        if check.fix and check.status in (checks.FAIL, checks.WARN, checks.SKIP):
            click.echo(f"{'':>7} {'':<{width}}  fix: {check.fix}")
    failed = [c.name for c in results if c.status == checks.FAIL]
    if failed:
        click.echo("", err=True)
        raise CondorNbError(f"{len(failed)} check(s) failed: {', '.join(failed)}",
                            hint="each says above how to fix it")  # fmt: skip
