"""jupyter-scheduler's handlers, with bad input answered 4xx instead of 500.

Its handlers turn every exception (a pydantic validation error, an unknown job id,
a missing input file) into HTTP 500, re-raised ``from`` the original. These
subclasses look at that original error and answer 400/404/409 with its message;
they are routed ahead of the originals (same URLs) when the extension loads.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_scheduler import handlers as js
from jupyter_scheduler.exceptions import IdempotencyTokenError, InputUriError
from jupyter_scheduler.models import CreateJob, CreateJobDefinition
from jupyter_scheduler.pydantic_v1 import ValidationError
from sqlalchemy.exc import NoResultFound
from tornado import web

from condor_nb_jupyter.errors import BadRequest, describe


def client_error(exc: BaseException | None) -> tuple[int, dict[str, Any]] | None:
    """(status, body) when ``exc`` or its cause is the client's fault; else None."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, ValidationError):
            return 400, {
                "message": f"invalid request: {exc}",
                "error": "ValidationError",
                "hint": "see the fields named above",
            }
        if isinstance(exc, InputUriError):
            return 400, {
                "message": f"input notebook not found: {exc}",
                "error": "InputUriError",
                "hint": "give input_uri relative to the server's root directory",
            }
        if isinstance(exc, IdempotencyTokenError):
            return 409, {"message": str(exc), "error": "IdempotencyTokenError", "hint": None}
        if isinstance(exc, NoResultFound):
            return 404, {
                "message": "no job or job definition with that id",
                "error": "NotFound",
                "hint": "list them with GET /scheduler/jobs",
            }
        if isinstance(exc, web.HTTPError) and 400 <= exc.status_code < 500:
            return exc.status_code, {
                "message": exc.log_message or str(exc),
                "error": "BadRequest",
                "hint": None,
            }
        known = describe(exc)
        if known is not None:
            return known
        exc, seen = exc.__cause__, seen + 1
    return None


#: Fields jupyter-scheduler's own validator reads without checking they are there:
#: missing or not text, its model raises KeyError (a 500) instead of a validation error.
_TEXT_FIELDS = ("input_uri", "input_filename")
_EXAMPLE = (
    'send e.g. {"input_uri": "analysis.ipynb", "name": "nightly",'
    ' "runtime_environment_name": "<a name from GET /scheduler/runtime_environments>"}'
)


def check_create_body(model: Any, body: dict[str, Any]) -> None:
    """A create request's required fields are there, and its path fields are text."""
    required = [name for name, f in model.__fields__.items() if f.required]
    missing = [name for name in required if body.get(name) is None]
    if missing:
        given = ", ".join(sorted(body)) or "none"
        raise BadRequest(
            f"request body: expected the fields {', '.join(required)};"
            f" missing {', '.join(missing)} (fields given: {given:.200})",
            hint=_EXAMPLE,
        )
    for name in _TEXT_FIELDS:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise BadRequest(
                f"{name}: expected text (a path); got {type(value).__name__} {value!r:.80}",
                hint=_EXAMPLE,
            )


class GuardMixin:
    """Maps the cause of a 500 to a 4xx; rejects malformed JSON bodies up front."""

    request: Any
    create_model: Any = None

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        mapped = client_error(exc)
        super().send_error(mapped[0] if mapped else status_code, **kwargs)  # type: ignore[misc]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        mapped = client_error(exc)
        if mapped is None:
            super().write_error(status_code, **kwargs)  # type: ignore[misc]
            return
        self.set_header("Content-Type", "application/json")  # type: ignore[attr-defined]
        self.finish(json.dumps(mapped[1]))  # type: ignore[attr-defined]

    def get_json_body(self) -> Any:
        body = super().get_json_body()  # type: ignore[misc]
        if self.request.method in ("POST", "PATCH") and not isinstance(body, dict):
            raise web.HTTPError(400, "expected a JSON object as the request body")
        if self.request.method == "POST" and self.create_model is not None:
            check_create_body(self.create_model, body)
        return body


_CREATE_MODELS: dict[type, Any] = {
    js.JobHandler: CreateJob,
    js.JobDefinitionHandler: CreateJobDefinition,
}


def _guarded(base: type) -> type:
    extra = {"create_model": _CREATE_MODELS.get(base)}
    return type(f"Guarded{base.__name__}", (GuardMixin, base), extra)


GUARDED = {
    cls: _guarded(cls)
    for cls in (
        js.JobHandler,
        js.JobsCountHandler,
        js.FilesDownloadHandler,
        js.BatchJobHandler,
        js.JobDefinitionHandler,
        js.JobFromDefinitionHandler,
    )
}


def scheduler_routes(base_url: str) -> list[tuple[str, type, dict[str, Any]]]:
    """jupyter-scheduler's URL patterns, served by the guarded handlers."""
    from jupyter_scheduler.extension import SchedulerApp
    from jupyter_server.utils import url_path_join

    routes = []
    for pattern, handler in SchedulerApp.handlers:
        if handler in GUARDED:
            url = url_path_join(base_url, pattern)
            routes.append((url, GUARDED[handler], {"name": SchedulerApp.name}))
    return routes


__all__ = ["GUARDED", "BadRequest", "client_error", "scheduler_routes"]
