"""Cron expressions -> HTCondor's ``cron_*`` submit commands (pure: no I/O).

condor_nb accepts the five classic fields, ``MIN HOUR DOM MON DOW``, each ``*``, a
number, a range ``a-b``, a list ``a,b`` or a step ``*/n`` (``a-b/n``), in ASCII digits,
plus the nicknames ``@hourly``, ``@daily``, ``@weekly``, ``@monthly``. They mean what
HTCondor's schedd makes of them (:mod:`condor_nb.schedules.cron_match`: a step keeps
the multiples of n, ``*/7`` in the day of month is 7,14,21,28). An expression no date
can satisfy (``0 0 31 2 *``) is refused here: HTCondor's schedd would search for its
next run without end, and answer nobody meanwhile. The schedd computes run times by
its own clock, taken to be UTC: a time zone other than UTC is refused.
"""

from __future__ import annotations

import calendar
import time

from condor_nb.errors import SpecError
from condor_nb.schedules import cron_match as match

FIELDS = (
    ("minute", "cron_minute", 0, 59),
    ("hour", "cron_hour", 0, 23),
    ("day of month", "cron_day_of_month", 1, 31),
    ("month", "cron_month", 1, 12),
    ("day of week", "cron_day_of_week", 0, 7),
)
NICKNAMES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
}
UTC_NAMES = frozenset({"utc", "etc/utc", "gmt", "etc/gmt", "z", "universal", "zulu"})
_ITEM = match.ITEM  # ASCII digits only: int() would read "٣" as 3, HTCondor refuses it
_HINT = 'give five fields "MIN HOUR DAY MONTH WEEKDAY", e.g. "*/15 * * * *" or "0 6 * * 1-5"'


def _check_item(item: str, name: str, low: int, high: int, expr: str) -> None:
    if not item.isascii():
        odd = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in dict.fromkeys(item) if not c.isascii())
        raise SpecError(
            f"cron {name} field: expected ASCII digits 0-9 with * - / and ,; got {item!r} "
            f"in {expr!r}, which has {odd}",
            hint="retype the field with the digits 0-9 (HTCondor reads no other digits)",
        )
    found = _ITEM.match(item)
    if not found:
        raise SpecError(
            f"cron {name} field: expected *, a number, a range a-b, a list or a step */n; "
            f"got {item!r} in {expr!r}",
            hint=_HINT,
        )
    base, step = found.group(1), found.group(2)
    numbers = [] if base == "*" else [int(x) for x in base.split("-")]
    for number in numbers:
        if not low <= number <= high:
            raise SpecError(
                f"cron {name} field: expected values {low}-{high}; got {number} in {expr!r}",
                hint=_HINT,
            )
    if len(numbers) == 2 and numbers[0] > numbers[1]:
        raise SpecError(f"cron {name} field: range {base} runs backwards in {expr!r}", hint=_HINT)
    if step is not None and int(step) == 0:
        raise SpecError(f"cron {name} field: a step of 0 never fires ({expr!r})", hint=_HINT)
    if step is not None and int(step) > high:  # HTCondor's atoi() wraps big ones (2**32: 0)
        raise SpecError(
            f"cron {name} field: expected a step from 1 to {high}; got {step} in {expr!r}",
            hint=_HINT,
        )


def normalize(expr: str) -> str:
    """The expression with single spaces and nicknames expanded; raises SpecError if invalid."""
    if not isinstance(expr, str) or not expr.strip():
        raise SpecError(f"cron expression: expected five fields; got {expr!r}", hint=_HINT)
    text = NICKNAMES.get(expr.strip().lower(), expr.strip())
    parts = text.split()
    if len(parts) != 5:
        raise SpecError(
            f"cron expression: expected five fields; got {len(parts)} in {expr!r}", hint=_HINT
        )
    for part, (name, _, low, high) in zip(parts, FIELDS, strict=True):
        for item in part.split(","):
            _check_item(item, name, low, high, expr)
    _check_fires(parts, expr)
    return " ".join(parts)


_MONTHS = ("", *calendar.month_name[1:])


def _names(words: list[str], last: str = "or") -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def _check_fires(parts: list[str], expr: str) -> None:
    """Refuse a schedule HTCondor's schedd could never fire: it would search for its
    next run without end (a busy schedd answers no one), or hold the job."""
    lists = match.expand_all(parts)
    for part, values, (name, _, low, high) in zip(parts[:4], lists, FIELDS, strict=False):
        if not values:
            raise SpecError(
                f"cron {name} field: {part!r} selects no {name} in {expr!r}: HTCondor keeps, "
                f"of a number, a range or *, only the multiples of the step /n, and there are none "
                f"in {low}-{high}",
                hint="use a step with multiples in the range, or list the values (a,b,c)",
            )
    if parts[4] not in ("*", "*/1") and "*" in parts[4]:
        raise SpecError(
            f"cron day of week field: {parts[4]!r} in {expr!r}: HTCondor ignores a * in the "
            "day of week, step or not (*/2 would fire every day, 1,* only on Mondays)",
            hint="list the days instead, e.g. 0,2,4,6 (0 and 7 are Sunday)",
        )
    if match.schedd_next_run(parts, int(time.time())) is not None:
        return
    days = list(lists[match.DOM])
    months = list(lists[match.MONTH])
    longest = {m: calendar.monthrange(2024, m)[1] for m in months}  # 2024: a leap year
    why = f"no date matches within {match.SEARCH_YEARS} years"
    if all(d > longest[m] for d in days for m in months):
        said = (
            f"day {days[0]}" if len(days) == 1 else "days " + _names([str(d) for d in days], "and")
        )
        verb = "never occurs" if len(days) == 1 else "never occur"
        why = f"{said} {verb} in {_names([_MONTHS[m] for m in months])}"
    raise SpecError(
        f"cron expression {expr!r} can never fire: {why}",
        hint="pick days that exist in those months (February has 28 days, 29 in leap "
        "years; April, June, September and November 30), or add months",
    )


def check_timezone(timezone: str | None) -> None:
    """HTCondor fires cron jobs by the execute machine's clock; only UTC is honoured."""
    if timezone is None or timezone.strip().lower() in UTC_NAMES or timezone.strip() == "":
        return
    raise SpecError(
        f"time zone: expected UTC (HTCondor fires schedules by the execute machine's clock, "
        f"which condor_nb assumes is UTC); got {timezone!r}",
        hint="choose UTC and write the cron hours in UTC",
    )


def submit_commands(expr: str) -> dict[str, str]:
    """``cron_minute`` ... ``cron_day_of_week`` for a valid expression."""
    parts = normalize(expr).split()
    out = {}
    for part, (_, command, _, _) in zip(parts, FIELDS, strict=True):
        if part != "*":
            out[command] = part
    # Every field "*" would still need one command for HTCondor to treat it as cron.
    out.setdefault("cron_minute", "*")
    return out


def fire_times(expr: str, after: float, until: float, limit: int = 10_000) -> list[float]:
    """The times (UTC epoch seconds) in ``(after, until]`` at which ``expr`` fires.

    HTCondor's meaning (:mod:`condor_nb.schedules.cron_match`): a step keeps the
    multiples of it; when the day of month is every day, restricted days of the week
    pick those weekdays, else a day matches either field. At most ``limit`` times (the
    earliest); days that cannot match are skipped whole, so long spans are cheap.
    """
    from datetime import UTC, datetime, timedelta

    lists = match.expand_all(normalize(expr).split())
    minutes, hours = lists[match.MINUTE], lists[match.HOUR]
    start = datetime.fromtimestamp(after, UTC).replace(second=0, microsecond=0)
    day = start.replace(hour=0, minute=0)
    end = datetime.fromtimestamp(until, UTC)
    out: list[float] = []
    while day <= end and len(out) < limit:
        if match.matches_day(lists, day.year, day.month, day.day):
            for hour in hours:
                for minute in minutes:
                    t = day.replace(hour=hour, minute=minute).timestamp()
                    if after < t <= until:
                        out.append(t)
                        if len(out) >= limit:
                            return out
        day += timedelta(days=1)
    return out
