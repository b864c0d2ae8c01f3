"""How HTCondor's schedd reads a cron schedule and computes its next run (pure: no I/O).

A mirror of HTCondor 23.x ``CronTab`` (src/condor_utils/condor_crontab.cpp), the code
the schedd runs to set a cron job's ``DeferralTime``:

- each field expands to a sorted list: ``*`` is the whole range, ``a-b`` a range, and a
  step ``/n`` keeps only the values that are *multiples of n* (``*/7`` in the day of
  month is 7,14,21,28; ``1-10/3`` is 3,6,9; ``5/10`` is nothing). Day of week 7 is 0
  (Sunday); a day-of-week ``*`` (with or without a step) expands to *nothing*. An empty
  minute, hour, day-of-month or month list makes the schedd hold the job.
- days: when the day-of-month list is all 31 days, a day-of-week list of 1 to 6 days
  picks those weekdays only, else every day; when it is not, the day-of-week days are
  added to it (either matches).
- the search walks month, day, hour, minute from the current time and, when a year
  has no match, tries the next year *without end*: a schedule no date can satisfy
  (``0 0 31 2 *``) keeps the schedd busy forever, answering nobody. Here the search
  stops after :data:`SEARCH_YEARS` years and says so (None).
- one quirk is mirrored as is: when the day-of-month list is all 31 days and the days
  of the week are restricted, a month after the current one starts its candidate days
  with 31 zeros, so the schedd picks "day 0" of that month, i.e. the last day of the
  month before, at the schedule's first hour and minute; if that is already past, it
  plans the run two minutes from now. :func:`schedd_next_run` returns what the schedd
  will compute; :func:`matches_day` what the schedule means.
"""

from __future__ import annotations

import calendar
import re

#: (name, lowest, highest) of the five fields, in the classic order.
FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
MINUTE, HOUR, DOM, MONTH, DOW = range(5)
#: Years the next-run search looks ahead: 28 years is a whole cycle of weekdays and
#: leap years (a 29 February comes at least every 8 years, even across 2100).
SEARCH_YEARS = 28
ITEM = re.compile(r"^(\*|[0-9]+(?:-[0-9]+)?)(?:/([0-9]+))?$", re.ASCII)


def expand(part: str, field: int) -> tuple[int, ...]:
    """The sorted values HTCondor expands one (syntactically valid) field into."""
    _, low, high = FIELDS[field]
    out: set[int] = set()
    for item in part.split(","):
        match = ITEM.match(item)
        if match is None:
            raise ValueError(f"not a cron item: {item!r}")
        base, step = match.group(1), int(match.group(2) or 1)
        if step == 0:
            raise ValueError("a step of 0")
        if base == "*":
            if field == DOW:
                continue  # HTCondor: a day-of-week wildcard adds no day
            first, last = low, high
        elif "-" in base:
            a, b = (int(x) for x in base.split("-"))
            first, last = max(a, low), min(b, high)
        elif low <= int(base) <= high:
            first = last = int(base)
        else:  # HTCondor: a single value out of range means the whole range
            first, last = low, high
        for value in range(first, last + 1):
            value = 0 if field == DOW and value == 7 else value
            if value % step == 0:
                out.add(value)
    return tuple(sorted(out))


def expand_all(parts: list[str]) -> list[tuple[int, ...]]:
    return [expand(part, field) for field, part in enumerate(parts)]


def matches_day(lists: list[tuple[int, ...]], year: int, month: int, day: int) -> bool:
    """Whether the schedule means to fire on this date (HTCondor's day rule, no quirk)."""
    if month not in lists[MONTH] or day > calendar.monthrange(year, month)[1]:
        return False
    doms, dows = lists[DOM], lists[DOW]
    weekday = (calendar.weekday(year, month, day) + 1) % 7  # 0 is Sunday
    if len(doms) == 31 and 0 < len(dows) < 7:
        return weekday in dows
    return day in doms or weekday in dows


def _days_in_month(month: int, year: int) -> int:
    return calendar.monthrange(year, month)[1]


def _day_candidates(lists: list[tuple[int, ...]], month: int, year: int) -> list[int]:
    doms, dows = lists[DOM], lists[DOW]
    # The schedd's 31 zeros when weekdays pick the days (see the module's docstring).
    days = [0] * 31 if len(doms) == 31 and 0 < len(dows) < 7 else list(doms)
    first = (calendar.weekday(year, month, 1) + 1) % 7
    for dow in dows:
        day = dow - first + 1
        while day <= 31:
            if day > 0 and day not in days:
                days.append(day)
            day += 7
    return sorted(days)


def schedd_next_run(parts: list[str], now: int, years: int = SEARCH_YEARS) -> int | None:
    """The ``DeferralTime`` HTCondor's schedd computes at ``now`` (UTC epoch seconds),
    or None when no date matches within ``years`` years (the schedd would search on)."""
    lists = expand_all(parts)
    if not all(lists[:4]):
        return None  # the schedd holds such a job ("Invalid cron attribute")
    stamp = now + 60 - now % 60
    tm = _gmtime(stamp)
    current = [tm[4], tm[3], tm[2], tm[1]]  # minute, hour, day, month
    match = [0, 0, 0, 0, tm[0]]

    def level(index: int, use_first: bool) -> bool:
        next_first = use_first
        values: list[int] | tuple[int, ...]
        values = _day_candidates(lists, match[MONTH], match[4]) if index == DOM else lists[index]
        for value in values:
            if not (use_first or value >= current[index]):
                continue
            if value > current[index]:
                next_first = True
            if index == DOM and value > _days_in_month(match[MONTH], match[4]):
                continue
            match[index] = value
            if index == MINUTE:
                return True
            if level(index - 1, next_first):
                return True
            next_first = True
        return False

    found = level(MONTH, False)
    while not found and match[4] < tm[0] + years:
        match[4] += 1
        found = level(MONTH, True)
    if not found:
        return None
    # calendar.timegm takes day 0 as the last day of the month before, as timegm(3) does.
    runtime = calendar.timegm((match[4], match[MONTH], match[DOM], match[HOUR], match[MINUTE], 0))
    return runtime if runtime >= stamp else now + 120


def _gmtime(stamp: int) -> tuple[int, int, int, int, int]:
    import time

    t = time.gmtime(stamp)
    return t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min
