"""The Create Job form's REST API, under ``<base_url>/condor_nb/``.

GET  form?notebook=<path>        the form's fields, environments, default image and the
                                 notebook's declared parameters (path relative to root_dir)
POST form/check                  {"notebook", "environment", "options", "parameters",
                                 "kind"} (text as typed; kind "job" or "schedule")
                                 -> {"errors": {key: message},
                                 "parameters": {name: typed value}}; nothing is submitted

Both run :mod:`condor_nb_jupyter.form` in the worker process.

For the browser tests only: with ``CONDOR_NB_TEST_FORM_CHECK_GATE`` set to a file path,
a check waits while that file exists (a slow check, held as long as a test needs), and
answers 503 if the file says ``fail`` (a check that errors). Unset, nothing changes.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from condor_nb_jupyter import environments, form
from condor_nb_jupyter.errors import BadRequest
from condor_nb_jupyter.handlers import CondorNbHandler

_BODY_HINT = (
    'send e.g. {"notebook": "analysis.ipynb", "environment": "personal",'
    ' "options": {"cpus": "2"}, "parameters": {"alpha": "0.5"}}'
)


def _strings(body: dict[str, Any], field: str) -> dict[str, Any]:
    value = body.get(field) or {}
    if not isinstance(value, dict):
        raise BadRequest(
            f"{field}: expected a JSON object of text values; got {value!r:.80}", hint=_BODY_HINT
        )
    return value


KINDS = ("job", "schedule")
GATE_VARIABLE = "CONDOR_NB_TEST_FORM_CHECK_GATE"


def _kind(body: dict[str, Any]) -> Any:
    kind = body.get("kind") or "job"
    if kind not in KINDS:
        raise BadRequest(
            f"kind: expected one of {', '.join(KINDS)}; got {kind!r:.80}",
            hint='"job" for Run now, "schedule" for Run on a schedule (a job definition)',
        )
    return kind


async def _test_gate() -> None:
    """The browser tests' hold on a check (see the module's doc); no-op when unset."""
    gate = os.environ.get(GATE_VARIABLE)
    if not gate:
        return
    while True:
        try:
            with open(gate, encoding="utf-8") as f:
                text = f.read().strip()
        except OSError:
            return
        if text == "fail":
            raise BadRequest("the check failed (test gate)", status=503)
        await asyncio.sleep(0.05)


class FormHandler(CondorNbHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.get_query_argument("notebook", "")
        root = self.settings["server_root_dir"]
        envs = environments.environment_names()
        self.reply(await self.run(form.form_task, self.overrides, root, notebook, envs))


class FormCheckHandler(CondorNbHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_object()
        options, params = _strings(body, "options"), _strings(body, "parameters")
        kind = _kind(body)
        await _test_gate()
        name = body.get("environment") or environments.environment_names()[0][0]
        try:
            profile, image = environments.resolve(str(name))
        except BadRequest as exc:
            msg = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
            self.reply({"errors": {"environment": msg}, "parameters": {}})
            return
        root = self.settings["server_root_dir"]
        result = await self.run(
            form.check_task, self.overrides, root, body.get("notebook"), profile, image,
            options, params, kind,
        )  # fmt: skip
        self.reply(result)


def routes(root: str) -> list[tuple[str, type[CondorNbHandler]]]:
    from jupyter_server.utils import url_path_join as join

    return [(join(root, "form"), FormHandler), (join(root, "form", "check"), FormCheckHandler)]
