"""Cron schedules HTCondor's schedd could never fire are refused; run times as the schedd's.

The schedd searches for a cron job's next run with no end: ``0 0 31 2 *`` kept a
shared HTCondor 23.9 schedd busy (no query answered) until it was killed.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from condor_nb.errors import SpecError
from condor_nb.schedules import cron as schedules_cron
from condor_nb.schedules.cron_match import SEARCH_YEARS, schedd_next_run

NEVER = [
    ("0 0 31 2 *", "day 31 never occurs in February"),
    ("0 0 30,31 2 *", "days 30 and 31 never occur in February"),
    ("0 0 30-31 2 *", "days 30 and 31 never occur in February"),
    ("15 6 31 4,6,9,11 *", "day 31 never occurs in April, June, September or November"),
    ("0 0 31 2-2 *", "day 31 never occurs in February"),
    ("0 0 1-6/7 * *", "'1-6/7' selects no day of month"),
    ("* * * 1-11/12 *", "'1-11/12' selects no month"),
    ("5/10 * * * *", "'5/10' selects no minute"),
    ("0 0 \u0663 * *", "ASCII digits"),  # ARABIC-INDIC DIGIT THREE: int() reads it as 3
    ("\uff10 0 * * *", "ASCII digits"),  # FULLWIDTH DIGIT ZERO
    ("0 0 1 \u0967\u0968 *", "ASCII digits"),  # DEVANAGARI 12
    ("0 0 * * */2", "ignores a * in the day of week"),
    ("*/4294967296 * * * *", "expected a step from 1 to 59"),  # HTCondor's atoi: step 0
]


@pytest.mark.parametrize(("expr", "said"), NEVER)
def test_a_schedule_no_date_matches_is_refused_with_the_reason(expr: str, said: str) -> None:
    with pytest.raises(SpecError) as caught:
        schedules_cron.normalize(expr)
    assert said in str(caught.value), str(caught.value)
    assert caught.value.hint


# Next run times the pool's schedd (HTCondor 23.9.6) set as DeferralTime for jobs
# submitted at 2026-12-07 01:18:02 UTC, read back from the job ads.
SUBMITTED_AT = 1796606282
MEASURED = [
    ("0 0 * 1 1", "2026-12-31 00:00"),  # a Thursday: the schedd's "day 0 of January"
    ("0 0 * * 1", "2026-12-14 00:00"),
    ("0 0 15 * *", "2026-12-15 00:00"),
    ("30 5 * * 2", "2026-12-08 05:30"),
    ("0 0 */7 * *", "2026-12-14 00:00"),  # multiples of 7, not 1,8,15,...
    ("0 0 * */3 *", "2026-12-08 00:00"),  # December is a multiple of 3
]


@pytest.mark.parametrize(("expr", "deferral"), MEASURED)
def test_next_run_is_the_one_the_schedd_computed(expr: str, deferral: str) -> None:
    expected = datetime.strptime(deferral, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp()
    assert schedd_next_run(schedules_cron.normalize(expr).split(), SUBMITTED_AT) == expected


def test_leap_days_and_either_day_rule_are_accepted() -> None:
    start = int(datetime(2097, 3, 1, tzinfo=UTC).timestamp())  # 2100 is no leap year
    leap = schedd_next_run(["0", "0", "29", "2", "*"], start)
    assert leap == datetime(2104, 2, 29, tzinfo=UTC).timestamp()
    assert schedules_cron.fire_times("0 0 29 2 *", start, start + 10 * 366 * 86400)[0] == leap
    # 31 February or any Monday of February: the Mondays fire.
    first = schedules_cron.fire_times("0 0 31 2 1", SUBMITTED_AT, SUBMITTED_AT + 400 * 86400)
    assert datetime.fromtimestamp(first[0], UTC).strftime("%a %m-%d") == "Mon 02-01"


# --- property tests over generated expressions -----------------------------------------

LIMITS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


@st.composite
def fields(draw: st.DrawFn, index: int) -> str:
    low, high = LIMITS[index]
    if index == 2 and draw(st.booleans()):  # days that do not occur in every month
        return draw(
            st.sampled_from(["29", "30", "31", "30,31", "29-31", "31/31", "*/30", "28-31/3"])
        )
    if index == 4 and draw(st.booleans()):
        return "*"  # days of the month alone decide: the schedules that may never fire
    if index == 3 and draw(st.booleans()):
        return draw(st.sampled_from(["2", "4", "6", "9", "11", "2,4", "4-6", "9,11", "2-2"]))

    def item() -> str:
        kind = draw(st.sampled_from(["*", "n", "a-b", "*/n", "a-b/n", "n/n"]))
        a = draw(st.integers(low, high))
        b = draw(st.integers(a, high))
        n = draw(st.integers(1, high + 3))
        return {
            "*": "*",
            "n": f"{a}",
            "a-b": f"{a}-{b}",
            "*/n": f"*/{n}",
            "a-b/n": f"{a}-{b}/{n}",
            "n/n": f"{a}/{n}",
        }[kind]

    return ",".join(item() for _ in range(draw(st.integers(1, 3))))


expressions = st.tuples(*(fields(i) for i in range(5))).map(" ".join)
starts = st.integers(
    int(datetime(1990, 1, 1, tzinfo=UTC).timestamp()),
    int(datetime(2090, 1, 1, tzinfo=UTC).timestamp()),
)


def _has(part: str, value: int, index: int) -> bool:
    """Whether HTCondor's field ``part`` holds ``value``, read from its rules afresh."""
    low, high = LIMITS[index]
    for item in part.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            if index == 4:
                continue
            lo, hi = low, high
        elif "-" in base:
            lo, hi = (int(x) for x in base.split("-"))
        else:
            lo = hi = int(base)
        values = {0 if index == 4 and v == 7 else v for v in range(lo, hi + 1)}
        if value in values and value % int(step or 1) == 0:
            return True
    return False


def _some_date_matches(expr: str) -> bool:
    """Brute force: any minute over a whole 28-year cycle of weekdays and leap years."""
    parts = expr.split()
    if not all(any(_has(parts[i], v, i) for v in range(LIMITS[i][0], LIMITS[i][1] + 1))
               for i in range(4)):  # fmt: skip
        return False
    weekdays = {w for w in range(7) if _has(parts[4], w, 4)}
    every_day = all(_has(parts[2], d, 2) for d in range(1, 32))
    day = datetime(2001, 1, 1)
    while day.year < 2029:
        weekday = (day.weekday() + 1) % 7
        if every_day and 0 < len(weekdays) < 7:
            on = weekday in weekdays
        else:
            on = _has(parts[2], day.day, 2) or weekday in weekdays
        if on and _has(parts[3], day.month, 3):
            return True
        day += timedelta(days=1)
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, starts)
def test_accepted_fire_within_the_bound_and_refused_never_fire(expr: str, start: int) -> None:
    try:
        parts = schedules_cron.normalize(expr).split()
    except SpecError as exc:
        if "ignores a *" in str(exc) or "expected a step" in str(exc):
            return  # refused for what HTCondor would make of it, not for never firing
        assert not _some_date_matches(expr), f"{expr!r} was refused but fires: {exc}"
        return
    assert _some_date_matches(expr)
    span = (SEARCH_YEARS + 1) * 366 * 86400
    planned = schedd_next_run(parts, start)
    first = schedules_cron.fire_times(expr, start, start + span, limit=1)
    assert planned is not None and first, expr
    assert start < planned <= start + span and first[0] > start
    if planned != first[0]:  # only the schedd's "day 0" quirk may differ (see the module)
        weekdays = {w for w in range(7) if _has(parts[4], w, 4)}
        every_day = all(_has(parts[2], d, 2) for d in range(1, 32))
        weekdays_only = every_day and 0 < len(weekdays) < 7
        when = datetime.fromtimestamp(planned, UTC)
        day_zero = (when + timedelta(days=1)).day == 1 or planned == start + 120
        assert weekdays_only and day_zero, (expr, start, planned, first[0])


def test_refusal_needs_no_clock_luck() -> None:
    """A refused expression is refused whatever the date: the calendar decides."""
    for year in range(2024, 2024 + 28):
        now = int(datetime(year, 2, 28, 23, 59, tzinfo=UTC).timestamp())
        assert schedd_next_run(["0", "0", "31", "2", "*"], now) is None
        assert schedd_next_run(["0", "0", "29", "2", "*"], now) is not None
    assert calendar.isleap(2028)


@pytest.mark.parametrize(("expr", "deferral"), MEASURED[1:])
def test_fire_times_follow_the_schedd_steps_and_days(expr: str, deferral: str) -> None:
    """What condor_nb reports as planned runs (missed runs too) is what the schedd plans,
    but for the day-0 quirk (the first row)."""
    expected = datetime.strptime(deferral, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp()
    assert schedules_cron.fire_times(expr, SUBMITTED_AT, SUBMITTED_AT + 86400 * 400)[0] == expected


def test_schedule_check_says_when_or_why_not() -> None:
    import subprocess
    import sys

    def check(expr: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "condor_nb", "schedule", "check", expr, "-n", "2"],
            capture_output=True,
            text=True,
            timeout=60,
        )

    never = check("0 0 31 2 *")
    assert never.returncode == 2 and "day 31 never occurs in February" in never.stderr
    leap = check("0 0 29 2 *")
    assert leap.returncode == 0 and leap.stdout.count("-02-29 00:00 UTC") == 2, leap.stdout
