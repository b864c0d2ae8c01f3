"""The extension's own REST API, under ``<base_url>/condor_nb/``.

GET  status                      schedd reachable, configuration, identity, credentials
GET  profiles                    site profiles and offered images
GET  jobs                        your jobs with condor_nb's fields (state, reason, failure
                                 class, cluster.proc, times); ``?refresh=0`` skips the schedd
GET  jobs/<id>                   one job, with the worker's result file when fetched
POST jobs/<id>/actions           {"action": "hold" | "release" | "remove" | "fetch", "force"}
GET  panel[/stats|/sweeps/<id>]  the condor_nb panel (condor_nb_jupyter.panel)
POST sweeps/<id>/actions         {"action": "retry" | "hold" | "release" | "remove"}
GET  schedules                   schedules on the schedd
GET  schedules/<id>[/runs]       one schedule; its runs (retrieved while it keeps running)
GET  form, POST form/check       the Create Job form (see form_handlers.py)

Every handler is authenticated and authorized like Jupyter's own (XSRF on writes);
HTCondor work runs in a worker process; errors are JSON with a message and a hint.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from condor_nb_jupyter import tasks
from condor_nb_jupyter.errors import BadRequest, describe

AUTH_RESOURCE = "condor_nb"
_JOB_ID = re.compile(r"^[0-9a-f]{1,32}$")
_SCHEDULE_ID = re.compile(r"^s[0-9a-f]{1,32}$")


class CondorNbHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def worker(self) -> Any:
        return self.settings["condor_nb_worker"]

    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self.settings["condor_nb_config"].overrides())

    async def run(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        return await self.worker.call(func, *args, **kwargs)

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=str))

    def json_object(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError as exc:
            raise BadRequest(
                f"expected a JSON object as the request body; got invalid JSON: {exc}",
                hint='send e.g. {"action": "hold"}',
            ) from None
        if not isinstance(body, dict):
            raise BadRequest(
                f"expected a JSON object as the request body; got {body!r:.80}",
                hint='send e.g. {"action": "hold"}',
            )
        return body

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        known = describe(exc) if exc is not None else None
        if known is None:
            super().write_error(status_code, **kwargs)
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(known[1]))

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        known = describe(exc) if exc is not None else None
        super().send_error(known[0] if known else status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if value is not None and describe(value) is not None:
            self.log.info("condor_nb: %s %s -> %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)


def _job_id(raw: str) -> str:
    if not _JOB_ID.match(raw):
        raise BadRequest(
            f"job id: expected hexadecimal digits such as 1a2b3c4d; got {raw!r}",
            hint="GET /condor_nb/jobs lists your jobs and their ids",
        )
    return raw


def _schedule_id(raw: str) -> str:
    if not _SCHEDULE_ID.match(raw):
        raise BadRequest(
            f"schedule id: expected s and hex digits such as s1a2b3c4d; got {raw!r}",
            hint="GET /condor_nb/schedules lists your schedules",
        )
    return raw


class StatusHandler(CondorNbHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.run(tasks.pool_status, self.overrides))


class ProfilesHandler(CondorNbHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        from condor_nb.settings import load_settings
        from condor_nb.submission import templates

        cfg = self.settings["condor_nb_config"]
        profiles = [
            {"name": name, "origin": origin, "path": str(path)}
            for name, (origin, path) in sorted(templates.available().items())
        ]
        images = [i for i in [cfg.image, *cfg.images] if i]
        # The profile jobs really get (traits > CONDOR_NB_PROFILE > config.toml > the
        # built-in default), the one the runtime environments list first: not only a
        # trait, which is None unless the server's configuration sets it.
        default = load_settings(**cfg.overrides()).profile
        self.reply({"profiles": profiles, "images": images, "default_profile": default})


class JobsHandler(CondorNbHandler):
    """``?refresh=1`` (default) syncs with the schedd, ``0`` reads the registry only,
    ``full`` rebuilds the registry from the schedd's whole queue and history."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        flag = self.get_query_argument("refresh", "1")
        modes = {"0": "none", "false": "none", "1": "sync", "true": "sync", "full": "full"}
        if flag not in modes:
            raise BadRequest(
                f"refresh: expected 0, 1 or full; got {flag!r}",
                hint="0 reads the local registry, 1 asks the schedd what changed",
            )
        # The worker encodes the JSON too: 10,000 jobs take ~0.1 s to encode, off the loop.
        body = await self.run(tasks.list_jobs_json, self.overrides, modes[flag])
        self.set_header("Content-Type", "application/json")
        self.finish(body)


class JobHandler(CondorNbHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.reply(await self.run(tasks.job_detail, self.overrides, _job_id(job_id)))


class JobActionHandler(CondorNbHandler):
    """hold, release, remove (``"force": true`` drops unfetched outputs), fetch (into
    ``<root_dir>/condor_nb_outputs/<id>/``): condor_nb_jupyter.panel.job_action."""

    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        from condor_nb_jupyter import panel

        self.reply(await panel.job_action(self, _job_id(job_id), self.json_object()))


class SchedulesHandler(CondorNbHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        found = await self.run(tasks.schedule_call, self.overrides, "list_schedules")
        self.reply({"schedules": found})


class ScheduleHandler(CondorNbHandler):
    @web.authenticated
    @authorized
    async def get(self, schedule_id: str, what: str | None = None) -> None:
        name = "runs" if what == "runs" else "get"
        result = await self.run(
            tasks.schedule_call, self.overrides, name, _schedule_id(schedule_id)
        )
        self.reply({"runs": result} if what == "runs" else result)


def handlers(base_url: str) -> list[tuple[str, type[CondorNbHandler]]]:
    from jupyter_server.utils import url_path_join as join

    from condor_nb_jupyter import form_handlers, panel, scheduler_jobs

    root = join(base_url, "condor_nb")
    return [
        *form_handlers.routes(root),
        *scheduler_jobs.routes(base_url),
        (join(root, "status"), StatusHandler),
        (join(root, "profiles"), ProfilesHandler),
        (join(root, "jobs"), JobsHandler),
        (join(root, "jobs", r"([^/]+)"), JobHandler),
        (join(root, "jobs", r"([^/]+)", "actions"), JobActionHandler),
        (join(root, "schedules"), SchedulesHandler),
        (join(root, "schedules", r"([^/]+)"), ScheduleHandler),
        (join(root, "schedules", r"([^/]+)", r"(runs)"), ScheduleHandler),
        *panel.routes(root),
    ]
