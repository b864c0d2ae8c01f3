"""Schedules: a notebook that HTCondor runs on a cron schedule, living on the schedd.

The public functions (``condor_nb.schedules.pause(id)`` ...) live in
:mod:`condor_nb.schedules.api`; they are re-exported here lazily, so that importing a
pure helper such as :mod:`condor_nb.schedules.cron` costs no schedd client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "MissedRun", "Run", "Schedule", "delete", "get", "history", "list_schedules", "missed",
    "pause", "resume", "runs", "schedule", "update",
]  # fmt: skip

if TYPE_CHECKING:
    from condor_nb.schedules.api import (
        delete,
        get,
        history,
        list_schedules,
        missed,
        pause,
        resume,
        runs,
        schedule,
        update,
    )  # fmt: skip
    from condor_nb.schedules.missed import MissedRun
    from condor_nb.schedules.runs import Run
    from condor_nb.schedules.state import Schedule

_HOMES = {"MissedRun": "missed", "Run": "runs", "Schedule": "state"}


# Only at run time: for type checkers the names above are the module's whole surface,
# so an import of a name that does not exist fails mypy instead of hiding behind Any.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name in __all__:
            import importlib

            return getattr(importlib.import_module(f"{__name__}.{_HOMES.get(name, 'api')}"), name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
