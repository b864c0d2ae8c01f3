"""Refuse a job no slot of the pool can ever run, before it is staged or sent.

HTCondor itself accepts any job and leaves it idle, silently, until a slot that
matches it exists; a job asking 100 GB of memory on a pool of 8 GB machines waits
forever. Before submitting, the job's requirements (the part of the job ad that
:func:`condor_nb.condor.analysis.job_ad_from_description` builds from the submit
description: the user's requirements and the resource requests) are matched against
the pool's slot ads, each partitionable slot taken whole (a busy pool is never a
reason), by :func:`condor_nb.condor.matchmaking.never_matches`.

When none matches, the submission is refused (:class:`NoMatchError`, with the same
analysis ``condor_nb why`` prints), unless the pool may grow, and then it is only
warned about (:class:`NoMatchWarning`). The pool may grow when:

- the ``pool_may_grow`` setting says so (an autoscaled pool: an annex, a cloud or
  Kubernetes autoscaler adding machines for idle jobs), in the settings file, a
  ``[profiles.NAME]`` table or ``CONDOR_NB_POOL_MAY_GROW``;
- its slots are glideins (``IS_GLIDEIN``, ``GLIDEIN_*``: pilots that a glideinWMS
  frontend starts for idle jobs, as on the OSPool), or the job goes through the
  ``ospool`` profile;
- some machines advertise offline ads (``Offline``: powered down by condor_rooster,
  woken for a job that matches them);
- every clause no slot meets reads an attribute no slot defines (a custom one, a
  GPU model): a machine of a new kind would be needed, and may join.

A clause that reads only the job's own attributes (``MY.X``, a constant such as
``false``) is not about the pool: neither refused nor warned about. Partitionable
slots are no reason to warn: they are already taken with their whole
resources. ``allow_no_match`` (``--allow-no-match``) submits anyway, with the
warning. The slot ads come from a cache of one minute (one collector query per
minute, whatever the number of submits); a collector that does not answer skips the
check (the schedd is the one that must accept the job). A job of the ``ospool``
profile is not checked: its pool is glideins (a warning at most), and its collector's
tens of thousands of slot ads are not worth a query per submit.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from condor_nb.condor import analysis, matchmaking
from condor_nb.contract.names import PROFILE_ATTR
from condor_nb.errors import CondorNbError, SpecError
from condor_nb.settings import Settings

log = logging.getLogger(__name__)

FLAG = "--allow-no-match (allow_no_match=True in Python)"
_GLIDEIN_ATTRS = ("IS_GLIDEIN", "GLIDEIN_Site", "GLIDEIN_ResourceName", "GLIDEIN_Factory")


class NoMatchError(SpecError):
    """No slot of the pool can ever run the job (and the pool is not expected to grow)."""


class NoMatchWarning(UserWarning):
    """No slot of the pool can run the job now, but the pool may grow."""


def growth(settings: Settings, description: Mapping[str, str], slots: Sequence[Any],
           verdict: matchmaking.NeverMatch) -> str | None:  # fmt: skip
    """Why the pool may grow into a machine that runs the job (None: it is not expected)."""
    if settings.pool_may_grow:
        return "the pool_may_grow setting says machines are added on demand"
    if _profile(description) == "ospool" or any(
        analysis.value(s, a) not in (None, False) for s in slots for a in _GLIDEIN_ATTRS
    ):
        return "the pool is made of glideins, started on demand for idle jobs"
    if any(analysis.value(s, "Offline") is True for s in slots):
        return "some machines are powered down (offline ads) and are woken for a matching job"
    if verdict.may_match_new_machines:
        return "what it asks for is an attribute no slot has: a machine of a new kind may join"
    return None


def _profile(description: Mapping[str, str]) -> str:
    return str(description.get(f"MY.{PROFILE_ATTR}", "")).strip('"')


def _pool(slots: Sequence[Any]) -> str:
    machines = [analysis.as_empty_machine(s) for s in slots if not analysis.is_dynamic(s)]
    parts = []
    for attr, noun, unit in (("Memory", "memory", "MB"), ("Cpus", "CPUs", ""),
                             ("Disk", "disk", "KB"), ("GPUs", "GPUs", "")):  # fmt: skip
        found = [analysis.value(m, attr) for m in machines]
        numbers = [float(v) for v in found if isinstance(v, int | float) and v is not True]
        if numbers and max(numbers) > 0:
            parts.append(f"{noun} {matchmaking.short_amount(max(numbers), unit)}")
    largest = f", the largest with {', '.join(parts)}" if parts else ""
    return f"{len(machines)} machine(s){largest}"


def check(settings: Settings, description: Mapping[str, str], *, allow: bool = False) -> list[str]:
    """Refuse (NoMatchError) a job no slot can ever run; returns the warning, if any
    (also emitted as NoMatchWarning), when the pool may grow or ``allow`` is set."""
    if _profile(description) == "ospool":
        return []
    job = analysis.job_ad_from_description(description)
    try:
        slots = analysis.cached_slots(settings, [job])
    except CondorNbError as exc:
        log.debug("no-match check skipped: %s", exc)
        return []
    verdict = matchmaking.never_matches(job, slots)
    if verdict is None or verdict.job_side_only:  # (the job's own attributes: not the pool's)
        return []
    pool = _pool(slots)
    reason = verdict.reason.removeprefix("no slot can ever run it: ")
    grows = growth(settings, description, slots, verdict)
    if grows is None and not allow:
        raise NoMatchError(
            f"no slot of the pool can ever run this job: {reason}. "
            f"The pool has {pool}; HTCondor would accept it and leave it idle for ever",
            hint=f"ask for what a machine has (e.g. a smaller --memory), or submit anyway "
            f"with {FLAG} if a machine that can run it will join the pool "
            "(or set pool_may_grow when machines are added on demand: docs/admins.md)",
        )
    why = grows or f"submitted anyway ({FLAG.split(' (')[0]})"
    text = (f"no slot of the pool can run this job now: {reason}; the pool has {pool}. "
            f"It waits until one that can joins: {why}")  # fmt: skip
    warnings.warn(NoMatchWarning(text), stacklevel=3)
    return [text]
