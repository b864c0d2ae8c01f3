"""The live progress display of ``Job.wait()`` and ``Sweep.wait()``.

Chosen once per wait: in an IPython kernel (a notebook), one HTML display that is
updated in place (``display_id``; no ipywidgets); in a terminal (stderr is a tty), a
rich progress line on stderr; otherwise (a script piped to a file, ``progress=False``)
nothing. IPython and rich are imported only here, only when used.
"""

from __future__ import annotations

import sys
from typing import Any


class Live:
    """One display, updated at each poll, closed when the wait ends."""

    def update(self, html: str, line: str, done: int | None = None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def plain(text: str) -> str:
    """``text`` on one line, its control characters (escape sequences) made visible."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def in_kernel() -> bool:
    """True inside an IPython kernel (Jupyter, papermill), not a terminal IPython."""
    if "IPython" not in sys.modules:  # never imported: no kernel (and no import cost)
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced by something odd
        return False


class NotebookLive(Live):
    """An HTML output that ``update`` replaces (display_data, then update_display_data)."""

    def __init__(self) -> None:
        import IPython.display

        shown: Any = IPython.display  # untyped
        self._html: Any = shown.HTML
        self._handle: Any = shown.display(shown.HTML(""), display_id=True)
        self._last = ""

    def update(self, html: str, line: str, done: int | None = None) -> None:
        if html != self._last and self._handle is not None:
            self._handle.update(self._html(html))
            self._last = html

    def close(self) -> None:
        pass


class TerminalLive(Live):
    """A rich line on stderr: spinner, what is going on, a bar for a sweep, elapsed."""

    def __init__(self, title: str, total: int | None) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._escape = escape
        columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
        if total is not None:
            columns += [BarColumn(), MofNCompleteColumn()]
        columns += [TextColumn("{task.fields[line]}"), TimeElapsedColumn()]
        self._progress = Progress(*columns, console=Console(stderr=True), transient=False)
        self._task = self._progress.add_task(escape(plain(title)), total=total, line="")
        self._progress.start()

    def update(self, html: str, line: str, done: int | None = None) -> None:
        # markup off for what a job or a user wrote: escape it
        self._progress.update(self._task, line=self._escape(plain(line)), completed=done or 0)

    def close(self) -> None:
        self._progress.stop()


def open_live(title: str, total: int | None = None) -> Live | None:
    """The display for this process: a notebook's, a terminal's, or None (no display)."""
    if in_kernel():
        return NotebookLive()
    if _stderr_is_tty():
        return TerminalLive(title, total)
    return None
