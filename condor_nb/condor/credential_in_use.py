"""The credential HTCondor will present with the client configuration condor_nb uses.

:mod:`condor_nb.credentials` judges credentials from plain values (pure); this module
reads those values the way the bindings will (``param``), so it lives with the only
importer of the bindings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from condor_nb.condor import bindings
from condor_nb.credentials.discover import PARAMS, CredentialReport, discover_from
from condor_nb.settings import Settings


def discover(settings: Settings, environ: Mapping[str, str] | None = None) -> CredentialReport:
    """Discovery with the client configuration condor_nb will submit with."""
    params = bindings.client_params(settings, PARAMS)
    report = discover_from(params, environ)
    if settings.collector:
        report = CredentialReport(**{**report.__dict__, "collector": settings.collector})
    if settings.token_audience:
        report = CredentialReport(**{**report.__dict__, "audiences": (settings.token_audience,)})
    return report


def status(*, settings: Settings) -> dict[str, Any]:
    """The credential in use, as plain data (never the token): for the Jupyter status API."""
    report = discover(settings)
    chosen = report.selected
    out: dict[str, Any] = {
        "available": True,
        "methods": list(report.methods),
        "notes": list(report.notes),
        "selected": None,
    }
    if chosen is not None:
        out["selected"] = {
            "kind": chosen.kind, "source": chosen.source, "location": chosen.location,
            "identity": chosen.identity, "issuer": chosen.issuer, "subject": chosen.subject,
            "expires_at": chosen.expires_at, "seconds_left": chosen.seconds_left(),
            "scopes": list(chosen.scopes), "fingerprint": chosen.fingerprint,
            "problem": chosen.problem,
        }  # fmt: skip
    return out
