"""The condor_nb panel's REST API (docs/jupyter.md, "The panel's REST API").

GET  panel                  jobs, sweeps and schedules, from the latest snapshot
GET  panel/stats            {"schedd_queries", "refreshes", "requests", ...}
GET  panel/sweeps/<id>      a sweep's procs and its results table
POST sweeps/<id>/actions    {"action": "retry" | "hold" | "release" | "remove", "force"}

One shared refresh per server: however many clients poll, a snapshot is taken (in the
worker process) at most once per ``CondorNbJupyter.panel_refresh_s``; every request is
answered from the latest one (see :meth:`PanelState.latest`), and requests that must
wait for a new one await that same one. Nothing here is needed for correctness after a
restart: a snapshot is made from the registry and the schedd.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from condor_nb_jupyter import panel_tasks
from condor_nb_jupyter.errors import BadRequest
from condor_nb_jupyter.handlers import CondorNbHandler

_SWEEP_ID = re.compile(r"^s[0-9a-f]{1,32}$")
#: The longest a request waits for a snapshot. A collector or schedd that drops packets
#: costs minutes (condor_nb.condor.schedd tries three times, each up to schedd_timeout):
#: then the request is answered with the registry's rows, saying HTCondor is slow.
WAIT_S = 30.0
SWEEP_ACTIONS = ("retry", "hold", "release", "remove")


class PanelState:
    """The server's one snapshot, the refresh in flight, and the counts /panel/stats gives."""

    def __init__(self, refresh_s: float) -> None:
        self.refresh_s = max(0.0, float(refresh_s))
        self.body: bytes | None = None
        self.taken = 0.0  # monotonic time the latest snapshot was started
        self.procs: dict[str, str] = {}
        self.schedules: dict[str, Any] = {}
        self.pending: asyncio.Future[None] | None = None
        self.pending_since = 0.0  # monotonic time the snapshot in flight was started
        self.meanwhile: asyncio.Future[bytes] | None = None  # the registry's rows, asked
        self.wait_s = max(WAIT_S, 3 * self.refresh_s)
        self.stale = False
        self.stats = {"schedd_queries": 0, "refreshes": 0, "requests": 0, "schedd_calls": 0,
                      "failures": 0}  # fmt: skip
        self.error: str | None = None

    def age(self) -> float:
        """Seconds since the latest snapshot was started (infinite: none, or invalidated)."""
        if self.body is None or self.stale:
            return float("inf")
        return time.monotonic() - self.taken

    def invalidate(self) -> None:
        """After an action: the next request takes a new snapshot."""
        self.stale = True

    async def latest(self, handler: CondorNbHandler) -> bytes:
        """The latest snapshot; a new one is taken when it is older than ``refresh_s``.

        Meanwhile, a snapshot younger than twice ``refresh_s`` is answered at once (the
        next request gets the new one); with none, an older one, or after an action,
        the request awaits the new snapshot, as do the requests arriving meanwhile, for at
        most ``wait_s``: then they get the registry's rows, saying HTCondor is slow.
        """
        self.stats["requests"] += 1
        age = self.age()
        if age < self.refresh_s and self.body is not None:
            return self.body
        if self.pending is None:
            self.pending_since = time.monotonic()
            self.pending = asyncio.ensure_future(self._refresh(handler))
        if age < 2 * self.refresh_s and self.body is not None:
            return self.body
        try:
            await asyncio.wait_for(asyncio.shield(self.pending), self.wait_s)
        except TimeoutError:
            if self.meanwhile is None:
                self.meanwhile = asyncio.ensure_future(self._registry_rows(handler))
            return await asyncio.shield(self.meanwhile)
        if self.body is None:
            raise web.HTTPError(503, self.error or "no snapshot")
        return self.body

    async def _registry_rows(self, handler: CondorNbHandler) -> bytes:
        """The registry's rows while the snapshot in flight still waits for HTCondor; kept
        as the latest snapshot until that one lands."""
        try:
            waited = time.monotonic() - self.pending_since
            root_dir = handler.settings.get("server_root_dir")
            got = await handler.run(
                panel_tasks.snapshot, handler.overrides, root_dir, self.schedules, waited
            )
        finally:
            self.meanwhile = None
        body = (f'{{"refresh_s": {self.refresh_s}, ' + str(got["body"])[1:]).encode()
        if self.pending is not None:  # the real snapshot has not landed meanwhile
            self.body, self.procs, self.error = body, got["procs"], got["error"]
            self.taken, self.stale = time.monotonic(), False
        return body

    async def _refresh(self, handler: CondorNbHandler) -> None:
        started = time.monotonic()
        self.stale = False
        root_dir = handler.settings.get("server_root_dir")
        try:
            self.stats["schedd_queries"] += 1
            got = await handler.run(
                panel_tasks.snapshot, handler.overrides, root_dir, self.schedules
            )
        except Exception as exc:
            self.stats["failures"] += 1
            self.error = str(exc)
            if self.body is not None:  # the last rows, with what went wrong
                old = json.loads(self.body)
                old["error"] = self.error
                self.body = json.dumps(old).encode()
                self.taken = started
                return
            self.taken = started
            raise
        finally:
            self.pending = None
        self.stats["refreshes"] += 1
        self.stats["schedd_calls"] += int(got["schedd_calls"])
        self.error = got.get("error")  # the schedd not reached: the registry's rows
        if self.error:
            self.stats["failures"] += 1
        body = got["body"]
        # "refresh_s" goes in front without decoding the rows again.
        self.body = (f'{{"refresh_s": {self.refresh_s}, ' + body[1:]).encode()
        self.procs = got["procs"]
        self.schedules = got["schedules"]
        self.taken = started


def state_of(handler: CondorNbHandler) -> PanelState:
    settings = handler.settings
    if "condor_nb_panel" not in settings:
        refresh = getattr(settings["condor_nb_config"], "panel_refresh_s", 5.0)
        settings["condor_nb_panel"] = PanelState(refresh)
    state: PanelState = settings["condor_nb_panel"]
    return state


def _sweep_id(raw: str) -> str:
    if not _SWEEP_ID.match(raw):
        raise BadRequest(
            f"sweep id: expected s and hex digits such as s1a2b3c4d; got {raw!r}",
            hint="GET /condor_nb/panel lists your sweeps and their ids",
        )
    return raw


def _action(body: dict[str, Any], allowed: tuple[str, ...]) -> tuple[str, bool]:
    action = body.get("action")
    if action not in allowed:
        raise BadRequest(
            f"action: expected {', '.join(allowed[:-1])} or {allowed[-1]}; got {action!r}",
            hint=f'send e.g. {{"action": "{allowed[0]}"}}',
        )
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise BadRequest(f"force: expected true or false; got {force!r}",
                         hint='send {"action": "remove", "force": true}')  # fmt: skip
    return str(action), force


class PanelHandler(CondorNbHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        body = await state_of(self).latest(self)
        self.set_header("Content-Type", "application/json")
        self.finish(body)


class PanelStatsHandler(CondorNbHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        state = state_of(self)
        self.reply({**state.stats, "refresh_s": state.refresh_s, "error": state.error})


class PanelSweepHandler(CondorNbHandler):
    @web.authenticated
    @authorized
    async def get(self, sweep_id: str) -> None:
        sweep_id = _sweep_id(sweep_id)
        state = state_of(self)
        await state.latest(self)
        results = await self.run(panel_tasks.sweep_results, self.overrides, sweep_id)
        procs = state.procs.get(sweep_id, "[]")
        head = json.dumps({"id": sweep_id, "results": results}, default=str)
        self.set_header("Content-Type", "application/json")
        self.finish(head[:-1] + f', "procs": {procs}}}')


class SweepActionHandler(CondorNbHandler):
    @web.authenticated
    @authorized
    async def post(self, sweep_id: str) -> None:
        action, force = _action(self.json_object(), SWEEP_ACTIONS)
        done = await self.run(
            panel_tasks.sweep_action, self.overrides, _sweep_id(sweep_id), action, force
        )
        state_of(self).invalidate()
        self.reply(done)


async def job_action(handler: CondorNbHandler, job_id: str, body: dict[str, Any]) -> Any:
    """A job's hold, release, remove (``force`` for unfetched outputs) or fetch."""
    action, force = _action(body, ("hold", "release", "remove", "fetch"))
    root_dir = handler.settings.get("server_root_dir")
    done = await handler.run(
        panel_tasks.job_action, handler.overrides, job_id, action, force, root_dir
    )
    state_of(handler).invalidate()
    return done


def routes(root: str) -> list[tuple[str, type[CondorNbHandler]]]:
    from jupyter_server.utils import url_path_join as join

    return [
        (join(root, "panel"), PanelHandler),
        (join(root, "panel", "stats"), PanelStatsHandler),
        (join(root, "panel", "sweeps", r"([^/]+)"), PanelSweepHandler),
        (join(root, "sweeps", r"([^/]+)", "actions"), SweepActionHandler),
    ]
