"""``condor_nb auth status``: which credential will be used, for whom, until when.

Never prints a token: only where it lives, a fingerprint, and its claims.
"""

from __future__ import annotations

import time

import click

from condor_nb.cli.display import printable as p
from condor_nb.condor import credential_in_use
from condor_nb.credentials import policy as credentials_policy
from condor_nb.credentials.policy import format_duration
from condor_nb.errors import CredentialsError
from condor_nb.settings import load_settings


@click.group()
def auth() -> None:
    """Credentials HTCondor will present to the access point."""


def _lifetime(expires_at: float | None) -> str:

    if expires_at is None:
        return "no expiry"
    left = expires_at - time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(expires_at))
    if left <= 0:
        return f"EXPIRED {format_duration(left)} ago ({stamp})"
    return f"until {stamp} ({format_duration(left)} left)"


@auth.command("status")
@click.option("--wall-time", type=float, help="Warn if the token ends before this many seconds.")
def status(wall_time: float | None) -> None:
    """Show the credential that will be used (exit 4 if it cannot submit)."""

    report = credential_in_use.discover(load_settings())
    verdict = credentials_policy.assess(report, wall_time=wall_time)
    click.echo(f"methods:   {', '.join(report.methods)}   (SEC_CLIENT_AUTHENTICATION_METHODS)")
    click.echo(f"token dirs: {', '.join(str(d) for d in report.token_dirs) or '-'}")
    if not report.credentials:
        click.echo("no token found")
    for cred in report.credentials:
        mark = "*" if cred is report.selected else " "
        click.echo(f"{mark} {cred.kind} from {cred.source}: {p(cred.location)}")
        if cred.problem:
            click.echo(f"    unusable:  {p(cred.problem)}")
            continue
        click.echo(f"    for:       {p(cred.subject or '?')}   issuer: {p(cred.issuer or '?')}")
        click.echo(f"    valid:     {_lifetime(cred.expires_at)}")
        click.echo(f"    scopes:    {p(' '.join(cred.scopes)) or '(none: unrestricted)'}")
        if cred.audiences:
            click.echo(f"    audience:  {p(' '.join(cred.audiences))}")
        click.echo(f"    fingerprint: {cred.fingerprint}")
    if report.selected is not None:
        click.echo("(* = the credential HTCondor will present)")
    for note in report.notes:
        click.echo(f"note: {p(note)}", err=True)
    for text in verdict.warnings:
        click.echo(f"warning: {p(text)}", err=True)
    if verdict.errors:
        raise CredentialsError(p("; ".join(verdict.errors)), hint=p(verdict.fix or "") or None)
