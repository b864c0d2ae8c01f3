"""The REASON of idle jobs in listings (``q``, the Jupyter job list): the ``why``
analysis (:mod:`condor_nb.diagnostics.why`) in a few words, e.g. "no slot has 100 GB
memory (largest 8 GB)".

Cheap enough for every ``q``: the pool's slot ads come from a cache refreshed at most
once a minute (:func:`condor_nb.condor.analysis.cached_slots`); the procs of one
cluster ask the same (a sweep's options are the sweep's), so one idle proc per
cluster is analysed and its answer given to the cluster's other idle procs, from one
schedd query of those few whole ads (at most :data:`MOST_CLUSTERS`, the newest),
whatever the number of jobs; nothing at all is asked when no listed job is idle. A reason
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
#: Clusters with idle jobs analysed per listing (the newest): bounds the whole ads asked.
MOST_CLUSTERS = 50


def _is_idle(record: JobRecord) -> bool:
    return record.state == "QUEUED" and not any(k in (record.reason or "") for k in _KEPT)


def reasons(settings: Settings, records: Iterable[JobRecord]) -> dict[str, str]:
    """condor_nb id -> the short why of each idle job among ``records``."""
    from condor_nb.diagnostics import why

    clusters: dict[int, list[JobRecord]] = {}
    for r in records:
        if _is_idle(r) and r.cluster is not None and r.proc is not None:
            clusters.setdefault(r.cluster, []).append(r)
    if not clusters or settings.profile == "ospool":
        return {}
    newest = sorted(clusters, reverse=True)[:MOST_CLUSTERS]
    try:
        ads = analysis.job_ads(settings, tracking.base_constraint(settings) + " && JobStatus == 1",
                               [(c, clusters[c][0].proc or 0) for c in newest])  # fmt: skip
        if not ads:
            return {}
        slots = analysis.cached_slots(settings, list(ads.values()))
    except Exception as exc:  # the schedd or collector did not answer: no hint, no failure
        log.debug("idle reasons unavailable: %s", exc)
        return {}
    out: dict[str, str] = {}
    for cluster in newest:
        first = clusters[cluster][0]
        ad = ads.get((cluster, first.proc or 0))
        if ad is None:
            continue  # it started (or left) since the listing: its REASON is the schedd's
        try:
            short = why.analyse_idle(ad, slots).short
        except Exception as exc:  # an ad the analysis cannot read: no hint
            log.debug("idle reason of cluster %s not analysed: %s", cluster, exc)
            continue
        for record in clusters[cluster]:
            out[record.id] = short
    return out


def annotate(settings: Settings, records: Iterable[JobRecord]) -> None:
    """Set the REASON of each idle job among ``records`` (in memory; the registry keeps
    what the schedd said)."""
    listed = list(records)
    found = reasons(settings, listed)
    for record in listed:
        if record.id in found:
            record.reason = found[record.id]
