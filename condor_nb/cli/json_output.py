"""The one serializer of ``--json`` output: stable for scripts (docs/users.md, "For scripts").

Every document is one JSON object with ``"schema": SCHEMA`` and a ``"kind"``. Jobs are
built from :class:`~condor_nb.store.registry.JobRecord` field by field (dataclass
fields, so a field added to the record appears here too); the core fields listed in
:data:`JOB_CORE` always come first, with these rules for every field:

- times (fields named ``*_at``, epoch seconds) become ISO-8601 UTC strings
  (``2026-12-07T12:00:05Z``), or null;
- a text field named ``X_json`` (JSON kept as text) becomes ``X``, parsed;
  ``params_json`` becomes ``parameters``;
- enums become their value (states are the documented strings: QUEUED ...);
- nested dataclasses are converted the same way; mappings (a sweep's result rows, the
  parameters), lists and paths keep their keys and only have their values converted;
- internal bookkeeping of the registry (:data:`HIDDEN`) is left out.

An error with ``--json`` is ``{"schema": 1, "kind": "error", "error": {...}}`` on
stdout (and the usual ``error:`` line on stderr), with the error's exit code.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

#: Bumped only when a documented field changes meaning or goes away (new fields: no bump).
SCHEMA = 1

#: The fields of a job every document has, in this order (docs/users.md lists them).
JOB_CORE = (
    "id",
    "name",
    "notebook",
    "state",
    "reason",
    "failure_class",
    "exit_code",
    "schedd",
    "cluster",
    "proc",
    "condor_id",
    "profile",
    "parameters",
    "sweep_id",
    "sweep_index",
    "submitted_at",
    "started_at",
    "finished_at",
    "retrieved_at",
    "fetched_to",
    "job_dir",
)

#: Registry bookkeeping that means nothing to a script.
HIDDEN = frozenset({"ad_signature", "in_queue", "cache_key", "updated_at", "spooled"})


def iso_time(value: float | None) -> str | None:
    """Epoch seconds as ISO-8601 UTC with a ``Z`` (None and 0 stay null).

    >>> iso_time(0), iso_time(1796644805.4)
    (None, '2026-12-07T12:00:05Z')
    """
    if not value:
        return None
    stamp = datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")
    return stamp.replace("+00:00", "Z")


def _key_and_value(name: str, value: Any) -> tuple[str, Any]:
    if name.endswith("_at") and isinstance(value, int | float | type(None)):
        return name, iso_time(value)
    if name.endswith("_json") and isinstance(value, str | type(None)):
        key = "parameters" if name == "params_json" else name[: -len("_json")]
        try:
            return key, None if value is None else json.loads(value)
        except ValueError:
            return key, value
    return name, plain(value)


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data (see the module's rules)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return fields_of(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, bytes):
        return [plain(v) for v in value]
    return str(value)


_SCALARS = (str, int, bool, type(None))
_NAMES: dict[tuple[type, frozenset[str]], tuple[str, ...]] = {}


def _names(cls: type, hidden: frozenset[str]) -> tuple[str, ...]:
    key = (cls, hidden)
    if key not in _NAMES:  # dataclasses.fields() on every record costs (10,000 in a queue)
        _NAMES[key] = tuple(f.name for f in dataclasses.fields(cls) if f.name not in hidden)
    return _NAMES[key]


def fields_of(obj: Any, hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A dataclass's fields (but ``hidden``), converted by the module's rules."""
    out: dict[str, Any] = {}
    for name in _names(type(obj), hidden):
        value = getattr(obj, name)
        if type(value) in _SCALARS and not name.endswith(("_at", "_json")):
            out[name] = value
        else:
            key, converted = _key_and_value(name, value)
            out[key] = converted
    return out


def job(record: Any, **extra: Any) -> dict[str, Any]:
    """One job: the core fields in order, then any other field of the record, then ``extra``."""
    converted = fields_of(record, HIDDEN)
    converted["condor_id"] = record.condor_id if record.cluster is not None else None
    if converted.get("parameters") is None:
        converted["parameters"] = {}
    out = {key: converted.pop(key, None) for key in JOB_CORE}
    out.update(converted)
    out.update((k, plain(v)) for k, v in extra.items())
    return out


def sweep(record: Any, counts: Mapping[str, int], members: Sequence[Any]) -> dict[str, Any]:
    """A sweep: its record, counts per state, its clusters and one entry per job."""
    out = fields_of(record)
    clusters = sorted({m.cluster for m in members if m.cluster is not None})
    out.update(counts=dict(counts), clusters=clusters, jobs=[job(m) for m in members])
    return out


def sweeps_of(records: Sequence[Any]) -> list[dict[str, Any]]:
    """The sweeps among ``q``'s job records: id, name, notebook, counts, clusters, job ids."""
    groups: dict[str, list[Any]] = {}
    for r in records:
        if r.sweep_id is not None:
            groups.setdefault(r.sweep_id, []).append(r)
    out = []
    for sweep_id, procs in groups.items():
        counts: dict[str, int] = {}
        for p in procs:
            counts[p.state] = counts.get(p.state, 0) + 1
        first = min(procs, key=lambda p: p.submitted_at)
        clusters = sorted({p.cluster for p in procs if p.cluster is not None})
        out.append({
            "id": sweep_id, "name": first.name.rsplit("[", 1)[0], "notebook": first.notebook,
            "counts": counts, "clusters": clusters,
            "job_ids": [p.id for p in procs], "submitted_at": iso_time(first.submitted_at),
        })  # fmt: skip
    return out


def document(kind: str, **body: Any) -> str:
    """The printed document: ``{"schema": SCHEMA, "kind": kind, ...body}``."""
    data = {"schema": SCHEMA, "kind": kind, **{k: plain(v) for k, v in body.items()}}
    return json.dumps(data, indent=2)


def error(exc: BaseException, exit_code: int) -> str:
    """An error as a document: its class, message, hint and exit code."""
    message = getattr(exc, "message", None)
    if message is None:
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
    body = {"type": type(exc).__name__, "message": message,
            "hint": getattr(exc, "hint", None), "exit_code": exit_code}  # fmt: skip
    return document("error", error=body)
