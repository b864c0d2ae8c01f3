"""condor_nb errors -> HTTP status and JSON body, for every handler of the extension.

The status is the error's own ``http_status`` (a class attribute of
:mod:`condor_nb.errors`, inherited through the class hierarchy: a subclass gets its
parent's unless it overrides it), never looked up by class name. An error raised in
the worker process arrives as a :class:`~condor_nb_jupyter.tasks.TaskError` that
carries the status resolved there.
"""

from __future__ import annotations

from typing import Any


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
        status, kind, message, hint = exc.status, exc.kind, exc.message, exc.hint
    elif isinstance(exc, CondorNbError):
        status, kind, message, hint = exc.http_status, type(exc).__name__, exc.message, exc.hint
    else:
        return None
    return status, {"message": message, "hint": hint, "error": kind}
