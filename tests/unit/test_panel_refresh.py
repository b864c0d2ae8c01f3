"""The panel's one shared refresh (condor_nb_jupyter.panel.PanelState), its logic alone:
the snapshot function is replaced by a counter (tests/jupyter/test_panel_api.py counts the
real schedd queries of a real server)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

pytest.importorskip("jupyter_server")

from condor_nb_jupyter.panel import PanelState
from condor_nb_jupyter.tasks import TaskError


class FakeHandler:
    """What PanelState uses of a handler: settings, overrides, run()."""

    def __init__(self) -> None:
        self.settings: dict[str, Any] = {"server_root_dir": "/srv"}
        self.overrides: dict[str, Any] = {}
        self.calls = 0
        self.fail: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def run(self, func: Any, *args: Any) -> dict[str, Any]:
        self.calls += 1
        n = self.calls
        if self.gate is not None:
            await self.gate.wait()
        else:
            await asyncio.sleep(0.01)
        if self.fail is not None:
            raise self.fail
        body = json.dumps({"generated": float(n), "jobs": [], "sweeps": [], "schedules": []})
        return {"body": body, "procs": {}, "schedules": {}, "schedd_calls": 3}


def generated(body: bytes) -> float:
    return float(json.loads(body)["generated"])


def test_concurrent_requests_share_one_snapshot() -> None:
    async def main() -> None:
        state, handler = PanelState(5.0), FakeHandler()
        bodies = await asyncio.gather(*(state.latest(handler) for _ in range(20)))
        assert handler.calls == 1 and {generated(b) for b in bodies} == {1.0}
        assert json.loads(bodies[0])["refresh_s"] == 5.0
        again = await state.latest(handler)
        assert handler.calls == 1 and generated(again) == 1.0
        assert state.stats == {"schedd_queries": 1, "refreshes": 1, "requests": 21,
                               "schedd_calls": 3, "failures": 0}  # fmt: skip

    asyncio.run(main())


def test_older_than_the_interval_answers_at_once_and_refreshes_once() -> None:
    async def main() -> None:
        state, handler = PanelState(5.0), FakeHandler()
        await state.latest(handler)
        state.taken -= 6  # older than refresh_s, younger than twice
        handler.gate = asyncio.Event()
        bodies = [await state.latest(handler) for _ in range(5)]
        assert {generated(b) for b in bodies} == {1.0}  # the latest, at once
        await asyncio.sleep(0.01)  # the refresh starts
        assert generated(await state.latest(handler)) == 1.0
        assert handler.calls == 2  # one new snapshot under way for all five
        handler.gate.set()
        await asyncio.sleep(0.05)
        assert generated(await state.latest(handler)) == 2.0

    asyncio.run(main())


def test_much_older_or_after_an_action_waits_for_the_new_one() -> None:
    async def main() -> None:
        state, handler = PanelState(5.0), FakeHandler()
        await state.latest(handler)
        state.taken -= 11
        assert generated(await state.latest(handler)) == 2.0
        state.invalidate()
        assert generated(await state.latest(handler)) == 3.0
        assert handler.calls == 3

    asyncio.run(main())


def test_a_failed_refresh_keeps_the_rows_with_the_error_and_a_first_one_raises() -> None:
    async def main() -> None:
        state, handler = PanelState(5.0), FakeHandler()
        handler.fail = TaskError("ScheddUnavailableError", "schedd down", "start it", 503)
        with pytest.raises(TaskError):
            await state.latest(handler)
        handler.fail = None
        await state.latest(handler)
        handler.fail = TaskError("ScheddUnavailableError", "schedd down", "start it", 503)
        state.invalidate()
        body = json.loads(await state.latest(handler))
        assert body["error"] == "schedd down (hint: start it)" and body["generated"] == 2.0
        assert state.stats["failures"] == 2
        # The failure counts as a look: the schedd is not asked again at once.
        await state.latest(handler)
        assert handler.calls == 3

    asyncio.run(main())


def test_a_snapshot_without_the_schedd_is_served_and_counted_as_a_failure() -> None:
    """The worker answers the registry's rows with an error when the schedd could not be
    reached (tests/jupyter/test_panel_api.py and tests/browser/test_panel.py do it for
    real): served like any snapshot, counted as a failure, cleared by the next good one."""

    class Unreachable(FakeHandler):
        error: str | None = "Cannot reach the schedd. What to do: start it."

        async def run(self, func: Any, *args: Any) -> dict[str, Any]:
            got = await super().run(func, *args)
            body = json.loads(got["body"])
            body["error"] = self.error
            return {**got, "body": json.dumps(body), "error": self.error}

    async def main() -> None:
        state, handler = PanelState(5.0), Unreachable()
        body = json.loads(await state.latest(handler))
        assert body["error"] == handler.error and body["jobs"] == []
        assert state.error == handler.error and state.stats["failures"] == 1
        handler.error = None
        state.invalidate()
        body = json.loads(await state.latest(handler))
        assert body["error"] is None and state.error is None
        assert state.stats["failures"] == 1

    asyncio.run(main())


def test_a_snapshot_stuck_on_htcondor_is_answered_from_the_registry_meanwhile() -> None:
    """A snapshot that waits on HTCondor (a collector that drops packets: minutes) does not
    hold the requests: after ``wait_s`` they get the registry's rows (the worker asked
    with ``waited``), shared by the requests meanwhile; the real snapshot replaces them."""

    class Stuck(FakeHandler):
        def __init__(self) -> None:
            super().__init__()
            self.release = asyncio.Event()
            self.waited: list[float] = []

        async def run(self, func: Any, *args: Any) -> dict[str, Any]:
            if len(args) > 3:  # the registry's rows, for a snapshot still waiting
                self.waited.append(args[3])
                body = {"generated": -1.0, "jobs": [], "error": "HTCondor has not answered"}
                return {"body": json.dumps(body), "procs": {}, "schedules": {},
                        "schedd_calls": 0, "error": body["error"]}  # fmt: skip
            await self.release.wait()
            return await super().run(func, *args)

    async def main() -> None:
        state, handler = PanelState(5.0), Stuck()
        state.wait_s = 0.05
        bodies = await asyncio.gather(*(state.latest(handler) for _ in range(3)))
        assert {generated(b) for b in bodies} == {-1.0} and len(handler.waited) == 1
        assert handler.waited[0] >= 0.05 and state.error == "HTCondor has not answered"
        assert generated(await state.latest(handler)) == -1.0  # young: at once
        handler.release.set()
        await asyncio.sleep(0.05)
        assert generated(await state.latest(handler)) == 1.0 and state.error is None

    asyncio.run(main())
