"""``condor_nb --debug``: condor_nb's own log records, DEBUG and up, on stderr.

What it shows: the submit description sent to the schedd (secrets travel as a file,
never in the description), every retry of a transient schedd error, every action
with its constraint and what the schedd did, and why a sync of the registry looked
at everything or only at what changed. Other libraries' records stay quiet.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "debug %(name)s: %(message)s"


class _DebugHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler ``--debug`` added, so it is added once per process."""


def enable() -> None:
    """Send condor_nb's log records, DEBUG and up, to stderr."""
    logger = logging.getLogger("condor_nb")
    if not any(isinstance(h, _DebugHandler) for h in logger.handlers):
        handler = _DebugHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
