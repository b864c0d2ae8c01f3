"""Cron expressions -> HTCondor's ``cron_*`` submit commands (pure: no I/O).

HTCondor evaluates a job's cron fields against the *execute machine's* clock
(its local time). condor_nb accepts the five classic fields, ``MIN HOUR DOM MON
DOW``, each ``*``, a number, a range ``a-b``, a list ``a,b`` or a step ``*/n``
(``a-b/n``), plus the nicknames ``@hourly``, ``@daily``, ``@weekly``,
``@monthly``. A time zone other than UTC is refused: HTCondor has none to apply.
"""

from __future__ import annotations

import re

from condor_nb.errors import SpecError

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
_ITEM = re.compile(r"^(\*|\d+(?:-\d+)?)(?:/(\d+))?$")
_HINT = 'give five fields "MIN HOUR DAY MONTH WEEKDAY", e.g. "*/15 * * * *" or "0 6 * * 1-5"'


def _check_item(item: str, name: str, low: int, high: int, expr: str) -> None:
    match = _ITEM.match(item)
    if not match:
        raise SpecError(
            f"cron {name} field: expected *, a number, a range a-b, a list or a step */n; "
            f"got {item!r} in {expr!r}",
            hint=_HINT,
        )
    base, step = match.group(1), match.group(2)
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
    return " ".join(parts)


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


def _values(field: str, low: int, high: int) -> frozenset[int]:
    out: set[int] = set()
    for item in field.split(","):
        match = _ITEM.match(item)
        if match is None:  # pragma: no cover - normalize() has checked every item
            raise SpecError(f"cron field {field!r} is not valid")
        base, step = match.group(1), int(match.group(2) or 1)
        first, last = (
            (low, high) if base == "*" else (int(base.split("-")[0]), int(base.split("-")[-1]))
        )
        out.update(range(first, last + 1, step))
    return frozenset(out)


def fire_times(expr: str, after: float, until: float, limit: int = 10_000) -> list[float]:
    """The times (UTC epoch seconds) in ``(after, until]`` at which ``expr`` fires.

    Day of month and day of week combine as in HTCondor and Vixie cron: when both
    are restricted a day matches either, else both. At most ``limit`` times (the
    earliest); days that cannot match are skipped whole, so long spans are cheap.
    """
    from datetime import UTC, datetime, timedelta

    parts = normalize(expr).split()
    minutes, hours, doms, months, dows = (
        _values(part, low, high) for part, (_, _, low, high) in zip(parts, FIELDS, strict=True)
    )
    dows = frozenset(d % 7 for d in dows)  # 7 is Sunday too
    either = parts[2] != "*" and parts[4] != "*"
    start = datetime.fromtimestamp(after, UTC).replace(second=0, microsecond=0)
    day = start.replace(hour=0, minute=0)
    end = datetime.fromtimestamp(until, UTC)
    out: list[float] = []
    while day <= end and len(out) < limit:
        dom_ok, dow_ok = day.day in doms, (day.weekday() + 1) % 7 in dows
        if day.month in months and ((dom_ok or dow_ok) if either else (dom_ok and dow_ok)):
            for hour in sorted(hours):
                for minute in sorted(minutes):
                    t = day.replace(hour=hour, minute=minute).timestamp()
                    if after < t <= until:
                        out.append(t)
                        if len(out) >= limit:
                            return out
        day += timedelta(days=1)
    return out
