"""Run one blocking call with a time bound, although it holds the GIL.

The HTCondor v2 bindings hold the GIL for the whole of a call, and some calls have
no time limit of their own: with the schedd stopped (SIGSTOP, a hung host), a
``Schedd.history()`` waited forever (a ``query`` gave up after HTCondor's own
20 s). A watchdog thread cannot run while the call holds the GIL, and a signal
handler written in Python never runs either. So the call runs in a forked child
(which inherits the bindings' configuration and security sessions) and sends its
result back through a pipe; the parent waits with ``select`` and kills the child
when the time is up. Results must be picklable (ClassAds are).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class DeadlineExceeded(Exception):
    """The call did not finish in time; its child process was killed."""


class ChildError(Exception):
    """The call raised in the child; the message is the original one (text only)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _run_child(call: Callable[[], Any], fd: int) -> None:
    try:
        try:
            payload = pickle.dumps(("ok", call()))
        except BaseException as exc:  # the parent decides what it means
            payload = pickle.dumps(("error", (type(exc).__name__, str(exc))))
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
    finally:
        os._exit(0)  # no atexit handlers, no flushing the parent's buffers twice


def _read_until(fd: int, deadline: float) -> bytes | None:
    """Everything the child writes, or None if the deadline passes first."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        data = os.read(fd, 1 << 20)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def call_with_deadline(call: Callable[[], T], seconds: float) -> T:
    """``call()``'s result, computed in a child process killed after ``seconds``.

    Raises :class:`DeadlineExceeded` on time-out and :class:`ChildError` (with the
    original message) if the call raised.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        os.close(read_fd)
        _run_child(call, write_fd)
    os.close(write_fd)
    data: bytes | None = None
    try:
        data = _read_until(read_fd, time.monotonic() + seconds)
    finally:
        os.close(read_fd)
        if data is None:  # timed out, or interrupted (Ctrl-C)
            log.debug("no answer within %g s: killing the call's process %d", seconds, pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    if data is None:
        raise DeadlineExceeded(f"no answer within {seconds:g} s")
    if not data:
        raise ChildError("ChildDied", "the process making the call died")
    status, value = pickle.loads(data)
    if status == "error":
        raise ChildError(*value)
    return value  # type: ignore[no-any-return]


class DeadlineExceededAfter(DeadlineExceeded):
    """Time ran out after the child had reported something (``reported``)."""

    def __init__(self, message: str, reported: list[Any]) -> None:
        super().__init__(message)
        self.reported = reported


def _frame(value: Any) -> bytes:
    data = pickle.dumps(value)
    return len(data).to_bytes(8, "big") + data


def call_reporting_with_deadline(
    call: Callable[[Callable[[Any], None]], T],
    seconds: float,
    on_report: Callable[[Any], None],
    seconds_after_report: float | None = None,
) -> T:
    """Like :func:`call_with_deadline` for a call of several steps: ``call(report)``
    runs in the child, and each ``report(value)`` it makes reaches ``on_report(value)``
    in this process at once (a submission reports its cluster id before it uploads
    the inputs, so the parent knows what to clean up whatever happens next). A
    report gives the call ``seconds_after_report`` more from then on, if given (an
    upload may take longer than a reply).

    Time-out after a report raises :class:`DeadlineExceededAfter` with the values
    reported; if ``on_report`` raises, the child is killed and the error propagates.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        os.close(read_fd)
        try:
            out = os.fdopen(write_fd, "wb")

            def report(value: Any) -> None:
                out.write(_frame(("report", value)))
                out.flush()

            try:
                payload = _frame(("ok", call(report)))
            except BaseException as exc:
                payload = _frame(("error", (type(exc).__name__, str(exc))))
            out.write(payload)
            out.flush()
        finally:
            os._exit(0)
    os.close(write_fd)
    deadline = time.monotonic() + seconds
    reported: list[Any] = []
    buffer = b""
    finished: tuple[str, Any] | None = None
    try:
        while finished is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeadlineExceededAfter(f"no answer within {seconds:g} s", reported)
            ready, _, _ = select.select([read_fd], [], [], left)
            if not ready:
                continue
            data = os.read(read_fd, 1 << 20)
            if not data:
                raise ChildError("ChildDied", "the process making the call died")
            buffer += data
            while len(buffer) >= 8:
                size = int.from_bytes(buffer[:8], "big")
                if len(buffer) < 8 + size:
                    break
                kind, value = pickle.loads(buffer[8 : 8 + size])
                buffer = buffer[8 + size :]
                if kind == "report":
                    reported.append(value)
                    if seconds_after_report is not None:
                        deadline = time.monotonic() + seconds_after_report
                    on_report(value)
                else:
                    finished = (kind, value)
    finally:
        os.close(read_fd)
        if finished is None:  # timed out, the parent's step failed, or Ctrl-C
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    status, value = finished
    if status == "error":
        raise ChildError(*value)
    return value  # type: ignore[no-any-return]
