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
import os
import pickle
import select
import signal
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


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
