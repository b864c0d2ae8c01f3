"""Errors of dask sessions (children of condor_nb's one root, :class:`CondorNbError`)."""

from __future__ import annotations

from condor_nb.errors import CondorNbError


class DaskSessionError(CondorNbError):
    """A dask session cannot start or its workers do not arrive (the message says why)."""

    exit_code = 12
    http_status = 503


class EnvironmentMismatchError(DaskSessionError):
    """Workers connected with a Python or dask/distributed different from the client's."""

    exit_code = 13
    #: Waiting or retrying does not help: the client's and the workers' environments
    #: conflict until one of them changes.
    http_status = 409
