"""How the CLI shows a running job's live output (``status``, ``logs --follow``)."""

from __future__ import annotations

from condor_nb.cli.display import printable
from condor_nb.condor.live import STATUS_LINES, LiveInfo, last_lines


def printable_text(text: str) -> str:
    """Several lines of job output, each made safe for a terminal (tabs as spaces)."""
    return "\n".join(printable(line.replace("\t", "    ")) for line in text.split("\n"))


def live_output_lines(info: LiveInfo | None) -> str | None:
    """The last lines a running job printed, for ``status``; None when none are known."""
    lines = last_lines(info) if info is not None else []
    if not lines or info is None:
        return None
    more = "" if info.chars <= len("\n".join(lines)) + 1 else "; all of it: `condor_nb logs`"
    head = f"last output (up to {STATUS_LINES} lines, ~10 s behind{more}):"
    return "\n".join([head, *(f"  | {printable_text(line)}" for line in lines)])
