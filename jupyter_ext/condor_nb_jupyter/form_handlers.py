"""The Create Job form's REST API, under ``<base_url>/condor_nb/``.

GET  form?notebook=<path>        the form's fields, environments, default image and the
                                 notebook's declared parameters (path relative to root_dir)
POST form/check                  {"notebook", "environment", "options", "parameters"}
                                 (text as typed) -> {"errors": {key: message},
                                 "parameters": {name: typed value}}; nothing is submitted

Both run :mod:`condor_nb_jupyter.form` in the worker process.
"""

from __future__ import annotations

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
            options, params,
        )  # fmt: skip
        self.reply(result)


def routes(root: str) -> list[tuple[str, type[CondorNbHandler]]]:
    from jupyter_server.utils import url_path_join as join

    return [(join(root, "form"), FormHandler), (join(root, "form", "check"), FormCheckHandler)]
