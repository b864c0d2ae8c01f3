"""The REASON of idle jobs in listings (``q``, the Jupyter job list): the ``why``
analysis (:mod:`condor_nb.diagnostics.why`) in a few words, e.g. "no slot has 100 GB
memory (largest 8 GB)".

Cheap enough for every ``q``: the pool's slot ads come from a cache refreshed at most
once a minute (:func:`condor_nb.condor.analysis.cached_slots`), the idle jobs' ads from
two schedd queries whatever their number (jobs asking the same get the same answer,
computed once), and nothing at all is asked when no listed job is idle. A reason
that cannot be worked out (collector down) leaves the listing as it was: a listing
never fails for a hint.

Not on the OSPool (the ``ospool`` profile): its collector holds tens of thousands of
glidein slot ads that come and go; ``condor_nb why ID`` analyses one job on demand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from condor_nb.condor import analysis
from condor_nb.settings import Settings
from condor_nb.store import tracking
from condor_nb.store.registry import JobRecord

log = logging.getLogger(__name__)

#: Reasons :mod:`condor_nb.condor.status` gives a QUEUED job that is not simply idle
#: (they are kept: the job waits for something else than a slot).
_KEPT = ("uploading inputs",)


def set_of_ads(ads: dict[str, object]) -> list[object]:
    """The distinct ads (the procs of a sweep share one)."""
    return list({id(ad): ad for ad in ads.values()}.values())


def _is_idle(record: JobRecord) -> bool:
    return record.state == "QUEUED" and not any(k in (record.reason or "") for k in _KEPT)


def reasons(settings: Settings, records: Iterable[JobRecord]) -> dict[str, str]:
    """condor_nb id -> the short why of each idle job among ``records``."""
    from condor_nb.diagnostics import why

    idle = {r.id for r in records if _is_idle(r)}
    if not idle or settings.profile == "ospool":
        return {}
    try:
        ads = analysis.idle_job_ads(settings, tracking.base_constraint(settings))
        if not ads:
            return {}
        slots = analysis.cached_slots(settings, set_of_ads(ads))
    except Exception as exc:  # the schedd or collector did not answer: no hint, no failure
        log.debug("idle reasons unavailable: %s", exc)
        return {}
    out: dict[str, str] = {}
    answers: dict[int, str] = {}  # one analysis per distinct ad (a sweep's procs share one)
    for job_id, ad in ads.items():
        if job_id not in idle:
            continue
        key = id(ad)
        if key not in answers:
            try:
                answers[key] = why.analyse_idle(ad, slots).short
            except Exception as exc:  # an ad the analysis cannot read: no hint
                log.debug("idle reason of %s not analysed: %s", job_id, exc)
                answers[key] = ""
        if answers[key]:
            out[job_id] = answers[key]
    return out


def annotate(settings: Settings, records: Iterable[JobRecord]) -> None:
    """Set the REASON of each idle job among ``records`` (in memory; the registry keeps
    what the schedd said)."""
    listed = list(records)
    found = reasons(settings, listed)
    for record in listed:
        if record.id in found:
            record.reason = found[record.id]
