"""``condor_nb.record(name, value)``: a notebook's named results.

Inside a job the values go to ``_condor_nb_values.json`` (which comes back with
the outputs and fills a sweep's results table); in an interactive session they
are kept in memory (``recorded()``), so the same notebook runs unchanged in both
places. This file uses the standard library only: the worker wrapper installs a
copy of it as the ``condor_nb`` module when condor_nb itself is not installed
on the worker.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

VALUES_ENV = "CONDOR_NB_VALUES_FILE"
_values: dict[str, Any] = {}


def _check(name: object, value: object) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"condor_nb.record: expected a name (a non-empty str); got {name!r}")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"condor_nb.record({name!r}, ...): the value must be JSON-serialisable "
            f"(numbers, strings, lists, dicts; no NaN or infinity): {exc}; "
            "convert it first, e.g. float(x) or x.tolist()"
        ) from None


def record(name: str, value: Any) -> Any:
    """Record ``value`` under ``name`` as a result of this run; returns ``value``."""
    _check(name, value)
    _values[name] = value
    path = os.environ.get(VALUES_ENV)
    if path:
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".values-", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(_values, fh, allow_nan=False)
        os.replace(tmp, path)
    return value


def recorded() -> dict[str, Any]:
    """The values recorded so far in this session."""
    return dict(_values)
