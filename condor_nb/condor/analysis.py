"""Matchmaking analysis on the v2 bindings: what ``condor_q -better-analyze`` does.

The bindings have no analyser, but ``classad2`` evaluates a job's requirements
against a slot ad as the negotiator does (``ClassAd.matches``: unscoped names are
looked up in the job first, then in the slot). :mod:`condor_nb.diagnostics.why`
builds its explanations on the few functions here; the ads it reads are the job
ad (from the schedd) and the pool's slot ads (from the collector).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from condor_nb.condor.deadline import DeadlineExceeded, call_with_deadline
from condor_nb.condor.schedd import client_for, configure_bindings
from condor_nb.errors import ScheddUnavailableError
from condor_nb.settings import Settings

log = logging.getLogger(__name__)

#: A partitionable slot advertises what is left; these are what the whole machine has.
_TOTALS = {
    "Memory": "TotalSlotMemory",
    "Cpus": "TotalSlotCpus",
    "Disk": "TotalSlotDisk",
    "GPUs": "TotalSlotGPUs",
}


def parse_ad(text: str) -> Any:
    """A ClassAd from its text (``condor_q -l`` / ``condor_status -l`` or ``[...]``)."""
    import classad2

    text = text.strip()
    if text.startswith("["):
        return classad2.ClassAd(text)
    return classad2.parseOne(text, classad2.ParserType.Old)


def parse_ads(text: str) -> list[Any]:
    """Several ads in ``-long`` form, separated by blank lines."""
    blocks = [b for b in text.split("\n\n") if b.strip()]
    return [parse_ad(b) for b in blocks]


def _as_ad(ad: Mapping[str, Any]) -> Any:
    import classad2

    if isinstance(ad, classad2.ClassAd):
        return ad
    copy = classad2.ClassAd()
    for key, value in ad.items():
        copy[key] = value
    return copy


def expression_text(ad: Mapping[str, Any], name: str) -> str | None:
    """The unevaluated text of attribute ``name`` (e.g. a job's Requirements)."""
    real = _as_ad(ad)
    if name not in real:
        return None
    return str(real.lookup(name))


def value(ad: Mapping[str, Any], name: str) -> Any:
    """Attribute ``name`` evaluated in ``ad`` (None when undefined or an error)."""
    import classad2

    real = _as_ad(ad)
    if name not in real:
        return None
    try:
        got = real.eval(name)
    except Exception:
        return None
    if isinstance(got, classad2.Value):
        return None
    return got


def _bridged(ad: Any, expression: Any) -> Any:
    """A copy of ``ad`` in which every unscoped name ``expression`` uses but ``ad`` does
    not define reads the other ad (``X = TARGET.X``): the negotiator looks unscoped
    names up in MY, then in TARGET; ``classad2``'s ``matches`` only in MY."""
    import classad2

    copy = classad2.ClassAd(str(ad))
    try:
        refs = ad.externalRefs(expression)
    except Exception:
        return copy
    for ref in refs:
        name = str(ref)
        if name and "." not in name and name not in copy:
            copy[name] = classad2.ExprTree(f"TARGET.{name}")
    return copy


def clause_matcher(job: Mapping[str, Any], clause: str) -> Callable[[Mapping[str, Any]], bool]:
    """A test of ``clause`` (part of the job's requirements) against one slot ad; the
    job's side is prepared once, so a pool of many slots costs one evaluation each."""
    import classad2

    expression = classad2.ExprTree(clause)
    probe = _bridged(_as_ad(job), expression)
    probe["Requirements"] = expression

    def matches(slot: Mapping[str, Any]) -> bool:
        # a.matches(b): b's Requirements, evaluated with a as TARGET.
        return bool(_as_ad(slot).matches(probe))

    return matches


def clause_matches(job: Mapping[str, Any], clause: str, slot: Mapping[str, Any]) -> bool:
    """Does ``clause`` (part of the job's requirements) hold against ``slot``?"""
    return clause_matcher(job, clause)(slot)


def slot_accepts(slot: Mapping[str, Any], job: Mapping[str, Any]) -> bool:
    """Do the slot's own requirements (its START policy) accept the job?"""
    real = _as_ad(slot)
    requirements = real.lookup("Requirements") if "Requirements" in real else None
    if requirements is None:
        return True
    return bool(_as_ad(job).matches(_bridged(real, requirements)))


def target_refs(job: Mapping[str, Any], clause: str) -> list[str]:
    """The attributes ``clause`` looks up in the slot (not defined by the job)."""
    import classad2

    try:
        refs = _as_ad(job).externalRefs(classad2.ExprTree(clause))
    except Exception:
        return []
    names = []
    for ref in refs:
        name = str(ref).split(".")[-1]
        if name and name not in names:
            names.append(name)
    return names


def slot_side_refs(job: Mapping[str, Any], clause: str) -> list[str]:
    """The names ``clause`` may read in the slot: ``TARGET.X``, and unscoped names the
    job does not define (``MY.X`` is always the job's, even when it is undefined)."""
    import re

    import classad2

    try:
        refs = [str(r) for r in _as_ad(job).externalRefs(classad2.ExprTree(clause))]
    except Exception:
        return []

    def only_mine(name: str) -> bool:  # every use of it in the clause is MY.name
        bare = name.split(".")[-1]
        uses = re.findall(rf"([\w.]*?)\b{re.escape(bare)}\b", clause, re.IGNORECASE)
        return bool(uses) and all(u.lower() == "my." for u in uses)

    return [r for r in refs if r and not r.lower().startswith("my.") and not only_mine(r)]


def as_empty_machine(slot: Mapping[str, Any]) -> Any:
    """A partitionable slot as it is with nothing running on it (its whole resources);
    any other slot as it is. What "could this job ever match here" is asked of."""
    import classad2

    real = _as_ad(slot)
    if value(real, "PartitionableSlot") is not True:
        return real
    empty = classad2.ClassAd(str(real))
    for attr, total in _TOTALS.items():
        whole = value(real, total)
        if whole is not None:
            empty[attr] = whole
    return empty


def is_dynamic(slot: Mapping[str, Any]) -> bool:
    return value(slot, "DynamicSlot") is True or str(value(slot, "SlotType")) == "Dynamic"


def with_attributes(job: Mapping[str, Any], extra: Mapping[str, str]) -> Any:
    """A copy of ``job`` with ClassAd expressions ``extra`` (name -> expression text)."""
    import classad2

    copy = classad2.ClassAd(str(_as_ad(job)))
    for name, text in extra.items():
        copy[name] = classad2.ExprTree(text)
    return copy


def fetch_slots(
    settings: Settings, constraint: str = "true", projection: Sequence[str] = ()
) -> list[Any]:
    """The pool's slot ads (only the ``projection``'s attributes, if given), from the
    collector, with a time bound."""

    h = configure_bindings(settings)
    limit = settings.schedd_timeout
    attrs = list(projection)

    def query() -> list[Any]:
        collector = h.Collector(settings.collector) if settings.collector else h.Collector()
        return list(collector.query(h.AdTypes.Startd, constraint, attrs))

    try:
        return call_with_deadline(query, limit)
    except DeadlineExceeded:
        raise ScheddUnavailableError(
            f"asking the collector for the pool's slots: no answer within {limit:g} s",
            hint="it may be overloaded or cut off; try again later "
            "(CONDOR_NB_SCHEDD_TIMEOUT sets how long to wait)",
        ) from None
    except Exception as exc:
        raise ScheddUnavailableError(
            f"asking the collector for the pool's slots failed: {exc}",
            hint="`condor_nb doctor` checks the connection to the pool",
        ) from exc


#: What the analysis reads of every slot ad, whatever the job asks: resources (now and
#: whole), the kind of slot, its state and policy, and what ``why`` names in words.
SLOT_ATTRS = (
    "Name", "Machine", "SlotType", "PartitionableSlot", "DynamicSlot", "State", "Activity",
    "Memory", "Cpus", "Disk", "GPUs", "TotalSlotMemory", "TotalSlotCpus", "TotalSlotDisk",
    "TotalSlotGPUs", "OpSys", "Arch", "OpSysAndVer", "OpSysMajorVer", "Microarch",
    "Start", "Requirements", "WithinResourceLimits", "Rank", "Offline", "HasFileTransfer",
    "CondorVersion", "HAS_SINGULARITY", "HasSingularity", "HasContainer", "HasSandboxImage",
    "HasDocker", "OSGVO_OS_STRING", "IS_GLIDEIN", "GLIDEIN_Site", "GLIDEIN_ResourceName",
    "GLIDEIN_Factory", "CUDACapability", "GPUs_Capability",
)  # fmt: skip
#: The slot's own side of matchmaking: the attributes they read are fetched too.
_POLICY = ("Start", "Requirements", "WithinResourceLimits", "Rank")


def _all_refs(ad: Any, expression: Any) -> set[str]:
    """The names a slot's ``expression`` reads in the slot (TARGET.X is the job's)."""
    names: set[str] = set()
    for refs in (ad.externalRefs, ad.internalRefs):
        try:
            found = [str(r) for r in refs(expression)]
        except Exception:
            continue
        names |= {r.split(".")[-1] for r in found if not r.lower().startswith("target.")}
    return names - {""}


def slot_projection(jobs: Iterable[Any]) -> set[str]:
    """The slot attributes the analysis of ``jobs`` reads (before the slots' policy)."""
    wanted = set(SLOT_ATTRS)
    for job in jobs:
        wanted |= set(target_refs(job, expression_text(job, "Requirements") or "true"))
    return wanted


def fetch_slots_for(
    settings: Settings, jobs: Iterable[Any], *, known: Iterable[str] = ()
) -> tuple[list[Any], set[str]]:
    """The slot ads with only what the analysis of ``jobs`` reads (a pool of many
    slots costs a fraction of whole ads): :data:`SLOT_ATTRS`, what the jobs'
    requirements read, then what the slots' own policy (START...) reads, asked again
    while it names more (at most three rounds). Returns the ads and the projection."""
    listed = list(jobs)
    wanted = slot_projection(listed) | set(known)
    # Names are case-insensitive; what a job defines is read in the job, not the slot.
    ignore = {str(k).lower() for job in listed for k in job}
    ads: list[Any] = []
    for _ in range(3):
        ads = fetch_slots(settings, projection=sorted(wanted))
        seen: set[str] = set()
        new: set[str] = set()
        for ad in ads:
            for name in _POLICY:
                if name in ad:
                    expression = ad.lookup(name)
                    text = f"{name}={expression}"
                    if text not in seen:
                        seen.add(text)
                        new |= _all_refs(ad, expression)
        lower = {w.lower() for w in wanted} | ignore
        new = {n for n in new if n.lower() not in lower}
        if not new:
            break
        wanted |= new
    return ads, wanted


def fetch_job(settings: Settings, cluster: int, proc: int) -> Any | None:
    """The whole job ad (queue, else history), or None when the schedd has no such job."""

    client = client_for(settings)
    constraint = f"ClusterId == {int(cluster)} && ProcId == {int(proc)}"
    ads = client.query(constraint, [])
    if not ads:
        ads = client.history(constraint, [], match=1)
    return ads[0] if ads else None


def user_priorities(settings: Settings, users: Iterable[str]) -> dict[str, float]:
    """Effective user priorities from the negotiator, for ``users`` (name or name@domain).

    Empty when the negotiator cannot be asked (many sites do not let users): the
    analysis then goes without it.
    """

    h = configure_bindings(settings)
    wanted = {u for u in users if u}

    def ask() -> dict[str, float]:
        collector = h.Collector(settings.collector) if settings.collector else h.Collector()
        ad = collector.locate(h.DaemonType.Negotiator)
        if ad is None:
            return {}
        found: dict[str, float] = {}
        for entry in h.Negotiator(ad).getPriorities(False):
            name = str(entry.get("Name", ""))
            if name in wanted or name.split("@", 1)[0] in wanted:
                found[name] = float(entry.get("Priority", 0.0))
        return found

    try:
        return call_with_deadline(ask, min(settings.schedd_timeout, 10.0))
    except Exception as exc:
        log.debug("user priorities unavailable: %s", exc)
        return {}


def first_values(slots: Sequence[Mapping[str, Any]], name: str, limit: int = 5) -> list[str]:
    """Distinct values of ``name`` across ``slots`` (as text; "undefined" when unset)."""
    seen: list[str] = []
    for slot in slots:
        got = value(slot, name)
        text = "undefined" if got is None else str(got)
        if text not in seen:
            seen.append(text)
        if len(seen) >= limit:
            break
    return seen


#: request_* submit command -> job attribute, and the clause the schedd adds for it.
_REQUESTS = (
    ("request_memory", "RequestMemory", "TARGET.Memory >= RequestMemory"),
    ("request_disk", "RequestDisk", "TARGET.Disk >= RequestDisk"),
    ("request_cpus", "RequestCpus", "TARGET.Cpus >= RequestCpus"),
    ("request_gpus", "RequestGPUs", "TARGET.GPUs >= RequestGPUs"),
)


def job_ad_from_description(description: Mapping[str, str]) -> Any:
    """The part of the job ad matchmaking reads, from a rendered submit description
    (what :func:`condor_nb.diagnostics.why.never_matches` needs before submitting).

    ``request_memory`` is taken in MB and ``request_disk`` in KB (as rendered); the
    requirements get the resource clauses the schedd adds. Clauses the schedd adds
    for other reasons (file transfer, the submit host's OS) are left out: an ad built
    here may match where the real job would not, never the other way.
    """
    import classad2

    ad = classad2.ClassAd()
    clauses = []
    user = str(description.get("requirements") or "").strip()
    if user:
        clauses.append(f"({user})")
    for command, attr, clause in _REQUESTS:
        raw = str(description.get(command) or "").strip()
        try:
            amount = int(float(raw))
        except ValueError:
            continue
        if attr == "RequestGPUs" and amount <= 0:
            continue
        ad[attr] = amount
        clauses.append(f"({clause})")
    for key, text in description.items():
        name = key[3:] if key.startswith("MY.") else key[1:] if key.startswith("+") else None
        if name:
            try:
                ad[name] = classad2.ExprTree(str(text))
            except Exception:
                continue
    ad["Requirements"] = classad2.ExprTree(" && ".join(clauses) or "true")
    return ad


#: How long the pool's slot ads are reused (``q``, ``submit``, the Jupyter list):
#: slots come and go on the scale of minutes, and a site asks users not to poll
#: its collector more than about once a minute.
SLOT_CACHE_SECONDS = 60.0
_slot_memo: dict[str, tuple[float, set[str], list[Any]]] = {}


def _slot_cache_path(settings: Settings) -> Any:
    import hashlib

    from condor_nb.condor.bindings import condor_config_for

    key = f"{condor_config_for(settings)}|{settings.collector}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return settings.home / "cache" / f"slots-{digest}.ads"


def cached_slots(
    settings: Settings, jobs: Iterable[Any] = (), *, max_age: float = SLOT_CACHE_SECONDS
) -> list[Any]:
    """The pool's slot ads with what the analysis of ``jobs`` reads
    (:func:`fetch_slots_for`), asked of the collector at most once per ``max_age``
    seconds (kept in this process and in a file of the condor_nb home, so a series
    of ``q`` or ``submit`` commands asks once; asked again sooner only when a job
    reads an attribute the cached ads lack). Raises as :func:`fetch_slots`."""
    import os
    import time

    import classad2

    path = _slot_cache_path(settings)
    needed = slot_projection(jobs)
    now = time.time()
    memo = _slot_memo.get(str(path))
    if memo is not None and now - memo[0] < max_age and needed <= memo[1]:
        return memo[2]
    try:
        stamp = path.stat().st_mtime
        if 0 <= now - stamp < max_age:
            head, _, body = path.read_text().partition("\n")
            known = set(head.removeprefix("# projection: ").split())
            if needed <= known:
                ads = list(classad2.parseAds(body, classad2.ParserType.New))
                _slot_memo[str(path)] = (stamp, known, ads)
                return ads
    except (OSError, ValueError, RuntimeError) as exc:
        log.debug("slot cache %s unreadable: %s", path, exc)
    ads, known = fetch_slots_for(settings, jobs)
    _slot_memo[str(path)] = (now, known, ads)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        lines = [f"# projection: {' '.join(sorted(known))}", *(str(ad) for ad in ads)]
        tmp.write_text("\n".join(lines))
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home: the answer is still good
        log.debug("slot cache %s not written: %s", path, exc)
    return ads


def forget_cached_slots(settings: Settings) -> None:
    """Drop the cached slot ads (the next :func:`cached_slots` asks the collector)."""
    path = _slot_cache_path(settings)
    _slot_memo.pop(str(path), None)
    path.unlink(missing_ok=True)


def job_ads(
    settings: Settings, constraint: str, ids: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], Any]:
    """Whole job ads of these (cluster, proc) that match ``constraint`` (already scoped
    to the user's jobs), in one query: (cluster, proc) -> ad."""
    wanted = " || ".join(f"(ClusterId == {int(c)} && ProcId == {int(p)})" for c, p in ids)
    if not wanted:
        return {}
    ads = client_for(settings).query(f"({constraint}) && ({wanted})", [])
    return {(int(ad["ClusterId"]), int(ad["ProcId"])): ad for ad in ads}
