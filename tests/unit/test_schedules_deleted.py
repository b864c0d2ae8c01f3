"""A schedule just deleted cannot be paused, resumed or updated (its job ad may linger)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from condor_nb.condor import schedd
from condor_nb.errors import JobNotFoundError
from condor_nb.schedules import api as schedules
from condor_nb.schedules.state import DELETED, Schedule
from condor_nb.settings import Settings

GONE = Schedule(
    id="s1a2b3c4", name="tick", notebook="/nb/tick.ipynb", cron="* * * * *", parameters={},
    profile="personal", state=DELETED, reason="deleted", cluster=7, proc=0, next_run=None,
    runs_started=0, runs_finished=0, last_exit_code=None, problems=0, last_problem=None,
    created_at=0.0, job_dir=None,
)  # fmt: skip


@pytest.mark.parametrize("action", [schedules.pause, schedules.resume])
def test_acting_on_a_deleted_schedule_is_a_clear_not_found(
    action: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedules, "get", lambda schedule_id, settings=None: GONE)

    def no_schedd(settings: Settings) -> object:
        raise AssertionError("a deleted schedule was acted on")

    monkeypatch.setattr(schedd, "client_for", no_schedd)
    with pytest.raises(JobNotFoundError, match="it was deleted") as caught:
        action(GONE.id, settings=Settings(home=Path("/tmp/x")))  # type: ignore[operator]
    assert "schedule list" in (caught.value.hint or "")


def test_a_live_schedule_still_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    live = dataclasses.replace(GONE, state="ACTIVE")
    monkeypatch.setattr(schedules, "get", lambda schedule_id, settings=None: live)
    assert schedules._live(live.id, Settings(home=Path("/tmp/x"))) is live
