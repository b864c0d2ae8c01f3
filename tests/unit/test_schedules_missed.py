"""Which firings of a schedule never ran, and why: cron times, runs and pauses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from condor_nb.schedules.cron import fire_times
from condor_nb.schedules.missed import (
    HELD,
    PAUSED,
    Hold,
    RunTimes,
    format_log,
    missed_runs,
    parse_log,
)


def at(hhmm: str, seconds: int = 0, day: int = 21) -> float:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 11, day, hour, minute, seconds, tzinfo=UTC).timestamp()


def run(planned: str | None, started: float, finished: float) -> RunTimes:
    stamp = datetime.fromtimestamp(started, UTC).strftime("%Y%m%dT%H%M%SZ")
    return RunTimes(stamp, at(planned) if planned else None, started, finished)


def when(items: list) -> list[str]:  # type: ignore[type-arg]
    return [datetime.fromtimestamp(m.planned, UTC).strftime("%H:%M") for m in items]


def test_fire_times_steps_lists_and_ranges() -> None:
    got = fire_times("*/20 9-10 * * *", at("08:00"), at("11:00"))
    assert when_times(got) == ["09:00", "09:20", "09:40", "10:00", "10:20", "10:40"]
    assert fire_times("0 6 * * *", at("06:00"), at("06:00", day=22)) == [at("06:00", day=22)]


def when_times(times: list[float]) -> list[str]:
    return [datetime.fromtimestamp(t, UTC).strftime("%H:%M") for t in times]


def test_day_of_month_and_day_of_week_combine_as_in_htcondor() -> None:
    # 2026-11-21 is a Saturday. Both restricted: either matches (the 23rd, or Saturdays).
    either = fire_times("0 0 23 * 6", at("01:00", day=20), at("01:00", day=29))
    days = [datetime.fromtimestamp(t, UTC).day for t in either]
    assert days == [21, 23, 28]
    # Only the weekday restricted: just Saturdays; 7 is Sunday as well as 0.
    assert [datetime.fromtimestamp(t, UTC).day for t in
            fire_times("0 0 * * 7", at("01:00", day=20), at("01:00", day=28))] == [22]  # fmt: skip


def test_runs_on_time_leave_nothing_missed() -> None:
    runs = [
        run("10:01", at("10:01", 1), at("10:01", 9)),
        run("10:02", at("10:02", 1), at("10:02", 9)),
    ]
    found = missed_runs("s1", "* * * * *", created=at("10:00", 30), runs=runs, holds=[],
                        next_planned=at("10:03"), now=at("10:02", 30))  # fmt: skip
    assert found == []


def test_a_late_start_makes_the_firings_it_overlapped_missed() -> None:
    # Planned 10:01, no slot until 10:02:40: the 10:02 firing was never started.
    runs = [run("10:01", at("10:02", 40), at("10:02", 50))]
    found = missed_runs("s1", "* * * * *", created=at("10:00", 30), runs=runs, holds=[],
                        next_planned=at("10:03"), now=at("10:02", 55))  # fmt: skip
    assert when(found) == ["10:02"]
    assert found[0].state == "MISSED"
    assert "planned for 10:01:00 UTC, could only start at 10:02:40 UTC" in found[0].reason
    assert found[0].run_id == "20261121T100200Z"


def test_a_long_run_makes_the_firings_during_it_missed() -> None:
    runs = [run("10:01", at("10:01", 1), at("10:03", 30))]
    found = missed_runs("s1", "* * * * *", created=at("10:00", 30), runs=runs, holds=[],
                        next_planned=at("10:04"), now=at("10:03", 40))  # fmt: skip
    assert when(found) == ["10:02", "10:03"]
    assert all("was still running" in m.reason for m in found)


def test_firings_while_paused_are_skipped_not_missed() -> None:
    runs = [
        run("10:01", at("10:01", 1), at("10:01", 9)),
        run("10:05", at("10:05", 1), at("10:05", 9)),
    ]
    holds = [Hold(PAUSED, at("10:01", 20), at("10:03", 30))]  # resumed before 10:04
    found = missed_runs("s1", "* * * * *", created=at("10:00", 30), runs=runs, holds=holds,
                        next_planned=at("10:06"), now=at("10:05", 30))  # fmt: skip
    assert when(found) == ["10:02", "10:03", "10:04"]
    assert [m.state for m in found] == ["SKIPPED", "SKIPPED", "MISSED"]
    assert found[0].reason == "the schedule was paused"
    assert "no run started" in found[2].reason


def test_a_schedule_held_now_misses_everything_until_now_with_the_hold_reason() -> None:
    runs = [run("10:01", at("10:01", 1), at("10:01", 9))]
    holds = [Hold(HELD, at("10:01", 30), None, "disk quota exceeded")]
    found = missed_runs("s1", "* * * * *", created=at("10:00", 30), runs=runs, holds=holds,
                        next_planned=None, now=at("10:03", 30))  # fmt: skip
    assert when(found) == ["10:02", "10:03"]
    assert all(m.reason.endswith("held by HTCondor: disk quota exceeded") for m in found)


def test_the_next_planned_firing_is_not_missed_even_when_overdue() -> None:
    # The schedd still tries 10:02 (it may start late): not missed, not yet.
    runs = [run("10:01", at("10:01", 1), at("10:01", 9))]
    found = missed_runs("s1", "* * * * *", created=at("10:00", 30), runs=runs, holds=[],
                        next_planned=at("10:02"), now=at("10:09"))  # fmt: skip
    assert found == []


def test_runs_recorded_before_the_planned_time_was_kept_are_placed_on_their_firing() -> None:
    runs = [run(None, at("10:01", 3), at("10:01", 9)), run(None, at("10:03", 2), at("10:03", 8))]
    found = missed_runs("s1", "* * * * *", created=at("10:00", 30), runs=runs, holds=[],
                        next_planned=at("10:04"), now=at("10:03", 30))  # fmt: skip
    assert when(found) == ["10:02"]


def test_a_long_silence_reports_the_newest_firings_only() -> None:
    found = missed_runs("s1", "* * * * *", created=at("00:00"), runs=[], holds=[],
                        next_planned=at("00:00", day=22), now=at("00:00", day=22))  # fmt: skip
    assert len(found) == 500
    assert when(found)[-1] == "23:59"


@pytest.mark.parametrize(
    "holds",
    [[], [Hold(PAUSED, 100.0, 200.0)], [Hold(PAUSED, 100.0, 200.0), Hold(HELD, 300.0, 350.0)]],
)
def test_the_hold_log_round_trips(holds: list[Hold]) -> None:
    text = format_log(holds)
    assert [(h.kind, h.start, h.end) for h in parse_log(text)] == [
        (h.kind, h.start, h.end) for h in holds
    ]
    assert set(text) <= set("0123456789:-;ph")  # safe inside a ClassAd string


def test_a_damaged_hold_log_is_ignored_item_by_item() -> None:
    assert [(h.start, h.end) for h in parse_log("p:1-2;garbage;h:x-3;p:5-6")] == [
        (1.0, 2.0),
        (5.0, 6.0),
    ]


def test_right_after_a_resume_the_paused_firings_are_already_skipped() -> None:
    # The schedd still shows the DeferralTime planned before the pause (10:02).
    runs = [run("10:01", at("10:01", 1), at("10:01", 9))]
    holds = [Hold(PAUSED, at("10:01", 30), at("10:04", 30))]
    found = missed_runs("s1", "* * * * *", created=at("10:00", 30), runs=runs, holds=holds,
                        next_planned=at("10:02"), now=at("10:04", 31))  # fmt: skip
    assert when(found) == ["10:02", "10:03", "10:04"]
    assert {m.state for m in found} == {"SKIPPED"}


def test_a_run_stopped_by_a_pause_is_stopped_not_missed() -> None:
    # 10:01 ran; the 10:02 run was running when the schedule was paused at 10:02:30.
    runs = [run("10:01", at("10:01", 1), at("10:01", 9))]
    pause = Hold(PAUSED, at("10:02", 30), None)
    found = missed_runs("s1", "* * * * *", created=at("10:00", 30), runs=runs, holds=[pause],
                        next_planned=None, now=at("10:05", 10))  # fmt: skip
    assert [(m.state, when([m])[0]) for m in found] == [
        ("STOPPED", "10:02"), ("SKIPPED", "10:03"), ("SKIPPED", "10:04"), ("SKIPPED", "10:05"),
    ]  # fmt: skip
    assert "paused" in found[0].reason and "not a failure" in found[0].reason
    # A firing missed earlier, with later firings between it and the pause, stays missed.
    earlier = missed_runs("s1", "* * * * *", created=at("09:58", 30), runs=runs,
                          holds=[pause], next_planned=None, now=at("10:02", 40))  # fmt: skip
    assert [m.state for m in earlier][:2] == ["MISSED", "MISSED"]


def test_a_firing_missed_for_a_late_run_stays_missed_when_a_pause_follows() -> None:
    # The 10:01 run could only start at 10:02:10, so the 10:02 firing was missed for it;
    # the pause at 10:02:40 came later and explains nothing (found on the real pool).
    runs = [run("10:01", at("10:02", 10), at("10:02", 20))]
    pause = Hold(PAUSED, at("10:02", 40), None)
    found = missed_runs("s1", "* * * * *", created=at("10:00", 30), runs=runs, holds=[pause],
                        next_planned=None, now=at("10:03", 10))  # fmt: skip
    assert [(m.state, when([m])[0]) for m in found] == [("MISSED", "10:02"), ("SKIPPED", "10:03")]
    assert "could only start at" in found[0].reason


def test_no_firing_before_the_horizon_is_nothing_missed() -> None:
    # Created at 10:00:30, next firing 10:01: no firing lies before it (none listed).
    found = missed_runs("s1", "* * * * *", created=at("10:00", 30), runs=[], holds=[],
                        next_planned=at("10:01"), now=at("10:00", 40))  # fmt: skip
    assert found == []
