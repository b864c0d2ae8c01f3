"""Firings of a schedule that did not run are listed with their reasons (~4 minutes).

HTCondor (23.9 measured) neither holds nor records a cron job that cannot start in
time: the run starts late and the firings that pass meanwhile are dropped. Here the
first firing is kept from starting by a job attribute the schedule's Requirements
wait for (as a full pool would), then a pause skips another firing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .conftest import Cnb

pytestmark = pytest.mark.pool

BLOCKED_PROFILE = """\
# blocked: personal, but no slot matches until the job's CondorNbTestGo is true
universe = vanilla
requirements = (MY.CondorNbTestGo =?= true)
"""


def _wait(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(3)
    raise AssertionError(f"timed out waiting for {what}")


def test_late_and_paused_firings_are_listed_with_their_reasons(
    cnb: Cnb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from condor_nb.condor import schedd
    from condor_nb.schedules import api as schedules
    from condor_nb.schedules.missed import MissedRun
    from condor_nb.settings import load_settings

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "blocked.sub").write_text(BLOCKED_PROFILE, encoding="utf-8")
    monkeypatch.setenv("CONDOR_NB_PROFILES_PATH", str(profiles))
    cnb.env["CONDOR_NB_PROFILES_PATH"] = str(profiles)
    cnb.notebook("beat.ipynb", ["print('beat')"])
    made = schedules.schedule("beat.ipynb", "* * * * *", name="beat", profile="blocked")
    client = schedd.client_for(load_settings())
    where = f"ClusterId == {made.cluster} && ProcId == {made.proc}"
    try:
        _wait("a planned first firing", lambda: schedules.get(made.id).next_run, 60)
        first = schedules.get(made.id).next_run
        assert first is not None
        # No slot until the next firing has passed too: the first run starts late.
        time.sleep(max(0.0, first + 70 - time.time()))
        assert client.edit(where, "CondorNbTestGo", "true") == 1
        _wait("the late run", lambda: schedules.runs(made.id), 150)
        (late,) = schedules.runs(made.id)
        assert late.planned == first and late.state == "COMPLETED"
        assert late.started > first + 60

        missed = schedules.missed(made.id)
        skipped = [m for m in missed if m.planned == first + 60]
        assert [m.state for m in skipped] == ["MISSED"], missed
        assert f"run {late.run_id}" in skipped[0].reason
        assert "could only start at" in skipped[0].reason

        # A pause long enough for a firing to pass: skipped, not missed.
        schedules.pause(made.id)
        paused_at = time.time()
        time.sleep(65)
        schedules.resume(made.id)
        resumed_at = time.time()

        def skipped_while_paused() -> list[MissedRun]:
            return [m for m in schedules.missed(made.id) if paused_at < m.planned < resumed_at]

        # The schedd plans the resumed schedule's next run at its next pass (SCHEDD_INTERVAL);
        # until then the firings after the last plan are not known to have passed.
        _wait("the firings skipped while paused", skipped_while_paused, 60)
        during = skipped_while_paused()
        assert during and all(m.state == "SKIPPED" for m in during), during
        assert during[0].reason == "the schedule was paused"

        listing = cnb.run("schedule", "runs", made.id, check=True).stdout
        assert f"{late.run_id}  COMPLETED" in listing and "s late)" in listing
        assert f"{skipped[0].run_id}  MISSED  run {late.run_id}" in listing
        assert "SKIPPED" in listing and "while the schedule was paused" in listing
    finally:
        schedules.delete(made.id)
