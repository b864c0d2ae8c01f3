"""Dask sessions as the schedd sees them: list them, take one down (no dask import).

A session is the set of worker jobs sharing a ``CondorNbDaskSession`` attribute;
it needs no local state, so ``condor_nb dask ls`` works from any process, after
the notebook that started the session is long gone.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from condor_nb.condor import constraints, schedd
from condor_nb.condor.status import HELD, IDLE, RUNNING
from condor_nb.contract import names
from condor_nb.dask.description import HEARTBEAT_ATTR, KIND, SESSION_ATTR, session_constraint
from condor_nb.dask.errors import DaskSessionError
from condor_nb.dask.options import check_session_id
from condor_nb.settings import Settings
from condor_nb.spec import quoting
from condor_nb.store import tracking

_PROJECTION = (
    "ClusterId", "ProcId", "JobStatus", "QDate", SESSION_ATTR, names.DASK_SCHEDULER_ATTR,
    names.DASK_CLIENT_ATTR, HEARTBEAT_ATTR, names.PROFILE_ATTR, "ServerTime",
)  # fmt: skip
_STATES = {IDLE: "idle", RUNNING: "running", HELD: "held"}


@dataclass(frozen=True)
class SessionInfo:
    id: str
    counts: Mapping[str, int]  # idle / running / held / other -> number of worker jobs
    scheduler: str
    client: str  # "host:pid"
    client_alive: bool | None  # None: the client runs on another host
    submitted: float
    heartbeat_age: float | None  # seconds since the last heartbeat (schedd clock)
    profile: str

    @property
    def workers(self) -> int:
        return sum(self.counts.values())


def _client_alive(client: str) -> bool | None:
    host, _, pid = client.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _summarize(session_id: str, ads: Sequence[Mapping[str, Any]]) -> SessionInfo:
    counts: dict[str, int] = {}
    for ad in ads:
        state = _STATES.get(int(ad.get("JobStatus") or 0), "other")
        counts[state] = counts.get(state, 0) + 1
    first = ads[0]
    client = quoting.decode_attr(first.get(names.DASK_CLIENT_ATTR))
    beats = [int(b) for ad in ads if isinstance(b := ad.get(HEARTBEAT_ATTR), int)]
    server = first.get("ServerTime")
    age = float(server) - max(beats) if beats and isinstance(server, int) else None
    return SessionInfo(
        id=session_id,
        counts=counts,
        scheduler=quoting.decode_attr(first.get(names.DASK_SCHEDULER_ATTR)),
        client=client,
        client_alive=_client_alive(client),
        submitted=min(float(ad.get("QDate") or 0) for ad in ads),
        heartbeat_age=age,
        profile=quoting.decode_attr(first.get(names.PROFILE_ATTR)),
    )


def sessions(settings: Settings) -> list[SessionInfo]:
    """Every session with worker jobs in the queue, oldest first (one schedd query)."""
    constraint = f'{tracking.base_constraint(settings)} && {names.KIND_ATTR} == "{KIND}"'
    ads = schedd.client_for(settings).query(constraint, _PROJECTION)
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for ad in ads:
        grouped.setdefault(quoting.decode_attr(ad.get(SESSION_ATTR)), []).append(ad)
    found = [_summarize(sid, members) for sid, members in grouped.items()]
    return sorted(found, key=lambda s: s.submitted)


def resolve(settings: Settings, session_id: str) -> str:
    """A full session id from an id or a unique prefix of a listed session."""
    known = [s.id for s in sessions(settings)]
    matches = [sid for sid in known if sid.startswith(session_id)] if session_id else []
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(known) or "none"
    if len(matches) > 1:
        raise DaskSessionError(
            f"dask session id {session_id!r} is ambiguous: it starts {', '.join(matches)}",
            hint="give more characters of the id",
        )
    raise DaskSessionError(
        f"no dask session {session_id!r} has worker jobs in the queue (sessions: {listed})",
        hint="`condor_nb dask ls` lists them; a closed session's workers are already gone",
    )


def down(settings: Settings, session_id: str) -> tuple[str, int]:
    """Remove every worker job of a session: (its full id, jobs the schedd removed)."""
    sid = check_session_id(resolve(settings, session_id))
    constraint = tracking.mine(session_constraint(sid), settings)
    reason = f"condor_nb: dask session {sid} taken down (condor_nb dask down)"
    removed = schedd.client_for(settings).act(
        "remove", f"{constraint} && {constraints.not_removed()}", reason
    )
    return sid, removed
