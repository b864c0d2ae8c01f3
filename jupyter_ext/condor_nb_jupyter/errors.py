"""One table from condor_nb errors to HTTP statuses, for every handler of the extension."""

from __future__ import annotations

from typing import Any

#: condor_nb error class name -> HTTP status. Anything else is a 500 (a bug).
HTTP_STATUS: dict[str, int] = {
    "SpecError": 400,
    "BadRequest": 400,
    "JobNotFoundError": 404,
    "JobHeldError": 409,
    "NotebookExecutionError": 409,
    "ConfigError": 503,
    "CredentialsError": 503,
    "ScheddUnavailableError": 503,
    "PoolError": 503,
    "SubmitError": 502,
    "FetchError": 502,
}


class BadRequest(Exception):
    """Invalid input caught by the extension itself (before any condor_nb call)."""

    def __init__(self, message: str, hint: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.hint, self.status = message, hint, status


def describe(exc: BaseException) -> tuple[int, dict[str, Any]] | None:
    """(status, JSON body) for an error we know; None for an unexpected one."""
    from condor_nb.errors import CondorNbError
    from condor_nb_jupyter.tasks import TaskError

    if isinstance(exc, BadRequest):
        return exc.status, {"message": exc.message, "hint": exc.hint, "error": "BadRequest"}
    if isinstance(exc, TaskError):
        kind, message, hint = exc.kind, exc.message, exc.hint
    elif isinstance(exc, CondorNbError):
        kind, message, hint = type(exc).__name__, exc.message, exc.hint
    else:
        return None
    status = HTTP_STATUS.get(kind, 500)
    return status, {"message": message, "hint": hint, "error": kind}
