"""What a running notebook job is doing, read from its job ad.

The worker (``worker/report.py``, ``Chirp``) keeps one attribute, ``CondorNbLive``
(contract: LIVE_ATTR), up to date at most once every 10 s: the user's running code cell,
its first source line, when it started, and the last ~2 KB of what the cells printed
with a running count of the characters printed so far. This module decodes it
(defensively: it is written by code running the user's notebook), says it in one line
for ``status``, ``q`` and ``wait``, and turns successive values into a stream for
``logs --follow`` (:class:`Follower`), saying how much was skipped when the output
outran the bound between two updates. Pure: no schedd calls here.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from condor_nb.contract.names import LIVE_ATTR, LIVE_PREFIX, PROGRESS_ATTR

#: What a reader asks the schedd for.
PROJECTION = ("JobStatus", "HoldReasonCode", LIVE_ATTR, PROGRESS_ATTR)
#: Lines of output ``status`` shows.
STATUS_LINES = 5
#: Seconds between two looks at the ad while following (the worker sends every 10 s).
FOLLOW_POLL_S = 3.0
#: Longest encoded value read (the worker stays far below; anything bigger is not ours).
MAX_ENCODED = 16384
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class LiveInfo:
    """One decoded value. ``cell`` 0 is the injected parameters cell; ``legacy`` is the
    plain "cell N of M" of workers older than the live attribute."""

    cell: int | None = None
    cells: int | None = None
    source: str = ""
    started: float | None = None
    chars: int = 0
    tail: str = ""
    end: str | None = None
    legacy: str | None = None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _text(value: Any, limit: int) -> str:
    return _UNPRINTABLE.sub("", value)[-limit:] if isinstance(value, str) else ""


def decode(ad: Mapping[str, Any]) -> LiveInfo | None:
    """The live state in a job ad, or None (not running yet, or nothing sent)."""
    raw = ad.get(LIVE_ATTR)
    if isinstance(raw, str) and raw.startswith(LIVE_PREFIX) and len(raw) <= MAX_ENCODED:
        try:
            data = json.loads(base64.b64decode(raw[len(LIVE_PREFIX) :], validate=True))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            data = None
        if isinstance(data, dict):
            started = data.get("t")
            return LiveInfo(
                cell=_int(data.get("c")),
                cells=_int(data.get("of")),
                source=_text(data.get("src"), 200).replace("\n", " "),
                started=float(started) if isinstance(started, int | float) else None,
                chars=_int(data.get("n")) or 0,
                tail=_text(data.get("o"), MAX_ENCODED),
                end=_text(data.get("end"), 40) or None,
            )
    legacy = ad.get(PROGRESS_ATTR)
    if isinstance(legacy, str) and legacy:
        return LiveInfo(legacy=_text(legacy, 200))
    return None


def duration(seconds: float) -> str:
    """12 s, 4 min, 1 h 5 min."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def summary(info: LiveInfo, now: float | None = None) -> str | None:
    """'cell 7 of 12: `fit = model.fit(...)` (2 min)': what the job does, in one line."""
    if info.legacy is not None:
        return info.legacy
    if info.end:
        return f"notebook finished ({info.end}); sending the outputs back"
    if info.cell is None:
        return None
    took = ""
    if info.started is not None:
        took = f" ({duration((time.time() if now is None else now) - info.started)})"
    if info.cell == 0:
        return f"setting the parameters{took}"
    where = f"cell {info.cell} of {info.cells}" if info.cells else f"cell {info.cell}"
    code = f": `{info.source}`" if info.source else ""
    return f"{where}{code}{took}"


def reason(ad: Mapping[str, Any], now: float | None = None) -> str | None:
    """A RUNNING job's reason: the running cell, when the worker said it."""
    info = decode(ad)
    return summary(info, now) if info is not None else None


def last_lines(info: LiveInfo, count: int = STATUS_LINES) -> list[str]:
    """The last ``count`` lines of output known so far (the partial last one included)."""
    lines = info.tail.rstrip("\n").split("\n") if info.tail.strip() else []
    if len(lines) > count or (lines and info.chars > len(info.tail)):
        lines = lines[1:]  # the first may be cut in the middle
    return lines[-count:]


class Follower:
    """Turns successive values into new text: what was already shown is not repeated;
    what scrolled out of the tail between two updates is announced, with its size."""

    def __init__(self) -> None:
        self.shown = 0  # characters of output accounted for (shown or announced skipped)

    def feed(self, info: LiveInfo | None) -> str:
        if info is None or info.legacy is not None:
            return ""
        restarted = ""
        if info.chars < self.shown:  # the count only grows: the job started again
            self.shown = 0
            restarted = "[condor_nb: the job started again; its output from the start]\n"
        if info.chars <= self.shown:
            return restarted
        new = info.chars - self.shown
        start = len(info.tail) - new
        self.shown = info.chars
        if start >= 0:
            return restarted + info.tail[start:]
        skipped = -start
        notice = (
            f"[condor_nb: {skipped:,} characters of output skipped here (more than the "
            f"~2 KB kept between two updates); `condor_nb fetch` brings the whole log]\n"
        )
        return restarted + notice + info.tail


def ended(ad: Mapping[str, Any]) -> bool:
    """Removed, completed, or held (not the hold that waits for the input upload)."""
    status = ad.get("JobStatus")
    return status in (3, 4) or (status == 5 and ad.get("HoldReasonCode") != 16)


def follow(
    read: Callable[[], Mapping[str, Any] | None],
    poll: float = FOLLOW_POLL_S,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    """New output text as ``read()`` (the job's ad, None once it left the queue) shows
    it, until the job ends; a queued job is waited for."""
    follower = Follower()
    while True:
        ad = read()
        if ad is not None:
            text = follower.feed(decode(ad))
            if text:
                yield text
        if ad is None or ended(ad):
            return
        sleep(poll)


def so_far(info: LiveInfo | None) -> str | None:
    """What ``logs`` shows of a running job: the output known so far, or None."""
    if info is None or not info.tail:
        return None
    cut = info.chars - len(info.tail)
    head = f"[condor_nb: the first {cut:,} characters are not kept here]\n" if cut > 0 else ""
    return head + info.tail


def as_dict(info: LiveInfo | None, now: float | None = None) -> dict[str, Any] | None:
    """``status --json``'s ``live`` field of a running job (None: nothing reported)."""
    if info is None:
        return None
    return {
        "summary": summary(info, now),
        "cell": info.cell,
        "cells": info.cells,
        "source": info.source or None,
        "cell_started": info.started,
        "output_chars": info.chars,
        "last_lines": last_lines(info),
        "ended": info.end,
    }
