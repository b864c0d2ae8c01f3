"""HTCondor ids (``13``, ``13.0``) as names of condor_nb jobs and sweeps.

A user reads ``13.0`` in ``q`` (CONDOR_ID) or in ``condor_q`` and types it back; the
registry knows which job (or sweep: all procs of a cluster) has it. The same cluster
number on two schedds is ambiguous: the error lists the candidates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from condor_nb.errors import JobNotFoundError
from condor_nb.store.registry import JobRecord, Registry

_CONDOR_ID = re.compile(r"(\d{1,18})(?:\.(\d{1,9}))?")


@dataclass(frozen=True)
class CondorIdMatch:
    """What ``13`` or ``13.4`` names: one job, or one sweep (a whole cluster of one)."""

    job: JobRecord | None = None
    sweep_id: str | None = None


def parse(text: str) -> tuple[int, int | None] | None:
    """(cluster, proc or None) when ``text`` is an HTCondor id, else None.

    >>> parse("13"), parse("13.4"), parse("13."), parse("ab12")
    ((13, None), (13, 4), None, None)
    """
    match = _CONDOR_ID.fullmatch(text.strip())
    if match is None:
        return None
    return int(match.group(1)), None if match.group(2) is None else int(match.group(2))


def resolve(registry: Registry, text: str) -> CondorIdMatch | None:
    """The job or sweep the HTCondor id ``text`` names, from the registry.

    None when ``text`` is not an HTCondor id or the registry has no job with it. A
    cluster alone names its job when it has one proc, its sweep when its procs are a
    sweep's; several schedds with that cluster: :class:`JobNotFoundError` listing them.
    """
    parsed = parse(text)
    if parsed is None:
        return None
    cluster, proc = parsed
    records = registry.find_condor_id(cluster, proc)
    if not records:
        return None
    schedds = sorted({r.schedd for r in records})
    if len(schedds) > 1:
        listed = "; ".join(f"{r.id} ({r.schedd} {r.condor_id})" for r in records[:8]) + (
            "; ..." if len(records) > 8 else ""
        )
        raise JobNotFoundError(
            f"HTCondor id {text!r} is ambiguous: schedds {', '.join(schedds)} each have a "
            f"cluster {cluster}: {listed}",
            hint="name the job by its condor_nb id (the ID column of `condor_nb q`)",
        )
    sweeps = {r.sweep_id for r in records}
    if proc is None and len(records) > 1 and len(sweeps) == 1 and None not in sweeps:
        return CondorIdMatch(sweep_id=records[0].sweep_id)
    if len(records) == 1:
        return CondorIdMatch(job=records[0])
    listed = ", ".join(f"{r.id} ({r.condor_id})" for r in records[:8])
    raise JobNotFoundError(
        f"HTCondor id {text!r} names several jobs: {listed}",
        hint="give the proc too (for example 13.0), or the condor_nb id",
    )
