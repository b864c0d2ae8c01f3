"""Is the credential HTCondor will present good enough to submit? (pure: no I/O)

Refused (:class:`~condor_nb.errors.CredentialsError`): no token while only token
methods are configured, an expired or not-yet-valid token, a token without the
``condor:/WRITE`` scope, a SciToken for another audience. Warned
(:class:`CredentialWarning`): a token that expires before the job's wall time.
Every message names the credential by where it lives and its fingerprint, never by
its text, and says how to get a fresh one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from condor_nb.credentials.discover import (
    IDTOKEN,
    SCITOKEN,
    SCOPE_WRITE,
    Credential,
    CredentialReport,
)
from condor_nb.errors import CredentialsError

#: Audiences every HTCondor schedd accepts (WLCG's "any" and the SciTokens "ANY").
ANY_AUDIENCES = ("ANY", "https://wlcg.cern.ch/jwt/v1/any")


class CredentialWarning(UserWarning):
    """A credential that works now but may not last (shown, never fatal)."""


@dataclass(frozen=True)
class Verdict:
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    fix: str


def how_to_renew(cred: Credential | None, token_dir: str | None = None) -> str:
    """The command(s) that get a fresh credential of this kind."""
    if cred is not None and cred.kind == SCITOKEN:
        where = cred.location if cred.location.startswith("/") else "$BEARER_TOKEN_FILE"
        return (
            "get a fresh bearer token from your token issuer, e.g. "
            "`htgettoken -a VAULT_SERVER -i ISSUER` (writes $XDG_RUNTIME_DIR/bt_u$UID) or "
            f"`oidc-token ACCOUNT > {where}`; then check it with `condor_nb auth status`"
        )
    folder = token_dir or "~/.condor/tokens.d"
    return (
        "get a fresh IDTOKEN for the access point: in the notebook service, restart your "
        "server (it mints one per session); on the access point, run "
        f"`condor_token_fetch -lifetime 86400 -token condor_nb` and copy the file into "
        f"{folder} (mode 0600); for the personal pool, `condor_nb pool start`. "
        "Check it with `condor_nb auth status`"
    )


def describe(cred: Credential) -> str:
    return f"{cred.kind} from {cred.source} ({cred.location}, fingerprint {cred.fingerprint})"


def expected_audiences(collector: str | None, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Audiences a schedd reached through ``collector`` is expected to accept."""
    found = list(ANY_AUDIENCES)
    if collector:
        host = collector.split("?")[0].strip("<>")
        found += [f"condor://{host}", host]
    found += [a for a in extra if a]
    return tuple(dict.fromkeys(found))


def format_duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _audience_ok(cred: Credential, audiences: Sequence[str]) -> bool:
    """The scitokens Enforcer's audience rule: any overlap, and "ANY" in the token passes.

    (scitokens has it only as a private method of its Enforcer.)
    """
    if not cred.audiences or not audiences:
        return True
    return "ANY" in cred.audiences or bool(set(cred.audiences) & set(audiences))


def check_credential(
    cred: Credential,
    *,
    now: float,
    wall_time: float | None,
    audiences: Sequence[str],
) -> tuple[list[str], list[str]]:
    """(errors, warnings) for one credential."""
    errors: list[str] = []
    warnings: list[str] = []
    name = describe(cred)
    if cred.problem:
        return [f"{name} cannot be used: {cred.problem}"], warnings
    left = cred.seconds_left(now)
    if left is not None and left <= 0:
        errors.append(f"{name} for {cred.identity} expired {format_duration(left)} ago")
    if cred.not_before is not None and cred.not_before > now + 60:
        errors.append(
            f"{name} is not valid yet (for another {format_duration(cred.not_before - now)})"
        )
    write_needed = cred.kind == SCITOKEN or bool(cred.scopes)
    if write_needed and not cred.has_scope(SCOPE_WRITE):
        given = " ".join(cred.scopes) or "no scope at all"
        errors.append(
            f"{name} cannot submit: expected the scope {SCOPE_WRITE}, the token has {given}"
        )
    if cred.kind == SCITOKEN and not _audience_ok(cred, audiences):
        errors.append(
            f"{name} is for another audience: expected one of {', '.join(audiences)}; "
            f"the token is for {', '.join(cred.audiences)}"
        )
    if not errors and left is not None and wall_time is not None and left < wall_time:
        warnings.append(
            f"{name} expires in {format_duration(left)}, before the job's wall time of "
            f"{format_duration(wall_time)}: the job keeps running, but you cannot follow, "
            "fetch or remove it after that until you renew the token"
        )
    return errors, warnings


def assess(
    report: CredentialReport,
    *,
    wall_time: float | None = None,
    now: float | None = None,
    extra_audiences: Iterable[str] = (),
) -> Verdict:
    """Judge the credential HTCondor will present for a submission."""
    moment = time.time() if now is None else now
    audiences = expected_audiences(report.collector, (*report.audiences, *extra_audiences))
    token_dir = str(report.token_dirs[0]) if report.token_dirs else None
    cred = report.selected
    if cred is None:
        broken = [c for c in report.credentials if c.problem]
        if report.other_methods:  # FS, SSL, KERBEROS... may still authenticate
            return Verdict((), (), "")
        detail = "; ".join(f"{describe(c)}: {c.problem}" for c in broken)
        looked = ", ".join(str(d) for d in report.token_dirs) or "(none)"
        message = (
            f"no usable credential: the client authenticates with {', '.join(report.methods)} "
            f"only, and no token was found (looked in {looked} and the bearer-token places)"
        )
        if detail:
            message += f"; found but unusable: {detail}"
        first_kind = SCITOKEN if report.methods and report.methods[0].startswith("SCI") else IDTOKEN
        placeholder = Credential(first_kind, "", "")
        return Verdict((message,), (), how_to_renew(placeholder, token_dir))
    errors, warnings = check_credential(cred, now=moment, wall_time=wall_time, audiences=audiences)
    return Verdict(tuple(errors), tuple(warnings), how_to_renew(cred, token_dir))


def enforce(verdict: Verdict) -> None:
    """Raise CredentialsError for errors; emit CredentialWarning for warnings."""
    import warnings as _warnings

    if verdict.errors:
        raise CredentialsError("; ".join(verdict.errors), hint=verdict.fix)
    for text in verdict.warnings:
        _warnings.warn(CredentialWarning(text), stacklevel=3)
