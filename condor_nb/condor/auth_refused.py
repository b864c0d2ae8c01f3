"""A schedd call refused for the credential: say so, once, with how to get a new one.

On a site's access point reading the queue needs no identity (HTCondor's default
READ is open) but writing does: retrieving outputs, removing, holding, releasing.
With an expired or revoked token, the bindings answer ``AUTHENTICATE:1003:Failed to
authenticate with any method`` (retrieve) or only "Error when performing action on
the schedd" (act). Such a refusal is not transient: retrying it, as a restarting
schedd deserves, only delays the answer, and "the schedd may be restarting" sends the
user the wrong way. Here it becomes a :class:`CredentialsError` (exit 4) that names
the token (never its text), says whether it expired or was refused although valid
(revoked, or signed by a key the access point does not trust), and how to get a
fresh one; the jobs themselves are untouched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from condor_nb.condor import credential_in_use, transient
from condor_nb.credentials import policy as credentials_policy
from condor_nb.errors import CredentialsError
from condor_nb.settings import Settings


def is_refusal(exc: BaseException | str) -> bool:
    """Authentication itself failed (see :mod:`condor_nb.condor.transient`)."""
    return transient.classify(str(exc)) is transient.Kind.REFUSED


def write_refused(ping: Callable[[str], Any]) -> str | None:
    """The reason if a WRITE-level handshake with the schedd fails for the credential,
    else None. The bindings' ping says only "Failed to start command": when READ (open,
    no identity) works but WRITE does not, the schedd did not accept the credential."""
    try:
        ping("WRITE")
    except Exception as exc:
        if is_refusal(exc):
            return str(exc)
        try:
            ping("READ")
        except Exception:
            return None  # unreachable or broken: not the credential's fault
        return f"a WRITE handshake failed ({exc}) while READ works"
    return None


def refused(settings: Settings, what: str, schedd: str, reason: str) -> CredentialsError:
    """The error for ``what`` refused by ``schedd`` because of the credential."""

    try:
        report = credential_in_use.discover(settings)
    except Exception:  # discovery is an explanation only: never hide the refusal
        report = None
    cred = report.selected if report is not None else None
    token_dir = str(report.token_dirs[0]) if report and report.token_dirs else None
    detail = reason.replace("|", "; ").strip()
    if cred is None:
        why = "no token was found to present"
    else:
        name = credentials_policy.describe(cred)
        left = cred.seconds_left(time.time())
        if left is not None and left <= 0:
            why = (
                f"your {name} for {cred.identity} expired "
                f"{credentials_policy.format_duration(left)} ago"
            )
        else:
            why = (
                f"it refused your {name} for {cred.identity}, which has not expired: "
                "it may have been revoked, or be signed by a key this access point "
                "does not trust"
            )
    return CredentialsError(
        f"{what}: the schedd {schedd} did not accept your credential ({why}); "
        f"HTCondor said: {detail}",
        hint=credentials_policy.how_to_renew(cred, token_dir)
        + ". Your jobs are not affected: they keep running, and once you have a new "
        "token the same command carries on",
    )
