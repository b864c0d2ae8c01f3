"""Why is a job not running: its requirements against the pool's slots, clause by clause.

For an idle job, the job's ``Requirements`` is split at its top-level ``&&`` and each
clause is evaluated against every slot ad the collector has (as the negotiator does,
see :mod:`condor_nb.condor.analysis`), as ``condor_q -better-analyze`` does: how many
slots satisfy each clause, which clause no slot satisfies, said in plain words for the
usual ones (memory, disk, CPUs, GPUs, OS, architecture, containers, OSPool attributes).
For a held job: the hold reason in plain words, what to change and the command.

Inputs are ads (the job ad, the slot ads), so this is tested with tables of real ads
captured from a pool. :func:`never_matches` is what a submit path calls to refuse a
job no slot can ever match.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from condor_nb.condor import analysis
from condor_nb.condor import status as job_status
from condor_nb.settings import Settings

#: Clause text -> what it asks, in words, and the slot attribute to show the largest of.
_RESOURCES: tuple[tuple[str, str, str, str], ...] = (
    # (slot attribute, job attribute, submit command, unit)
    ("Memory", "RequestMemory", "request_memory", "MB"),
    ("Disk", "RequestDisk", "request_disk", "KB"),
    ("Cpus", "RequestCpus", "request_cpus", ""),
    ("GPUs", "RequestGPUs", "request_gpus", ""),
)
_CONTAINER_ATTRS = ("HAS_SINGULARITY", "HasSingularity", "HasContainer", "HasSandboxImage",
                    "HasDocker", "SingularityImage")  # fmt: skip
_OSPOOL_ATTRS = ("OSGVO_OS_STRING", "OSGVO_OS_NAME", "OSGVO_OS_VERSION", "IS_GLIDEIN",
                 "GLIDEIN_Site", "GLIDEIN_ResourceName", "OSG_GLIDEIN_VERSION")  # fmt: skip
_GPU_CAPABILITY = ("CUDACapability", "GPUs_Capability", "CUDA_Capability")
_MICROARCH = ("Microarch", "microarch")
_CMD = "condor_nb"


@dataclass(frozen=True)
class Clause:
    """One clause of the job's requirements and how many slots satisfy it."""

    text: str
    matched: int  # slot ads satisfying it now
    ever: int  # machines (non-dynamic slots, taken empty) satisfying it
    words: str  # the plain sentence


@dataclass
class Why:
    """The answer to "why is this job not running", for the CLI, the API and JSON."""

    job: str
    state: str
    summary: str  # one line: what status shows
    details: list[str] = field(default_factory=list)
    clauses: list[Clause] = field(default_factory=list)
    slots: int = 0  # slot ads in the pool (all, dynamic ones included)
    machines: int = 0  # non-dynamic slots (what better-analyze's summary counts)
    matching: int = 0  # machines (taken whole) meeting the job's requirements
    rejecting: int = 0  # of those, the ones whose own requirements (START) reject the job
    available: int = 0  # machines with room for it now, both ways, not claimed
    command: str | None = None
    short: str = ""  # a few words: the REASON ``q`` and the Jupyter job list show

    def text(self) -> str:
        lines = [f"{self.job}: {self.summary}"]
        lines += [f"  {line}" for line in self.details]
        if self.clauses:
            lines.append(f"  requirements, clause by clause ({self.slots} slots):")
            width = max(len(str(c.matched)) for c in self.clauses)
            for c in self.clauses:
                lines.append(f"    {c.matched:>{width}}  {c.text}")
        if self.command:
            lines.append(f"  do: {self.command}")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def split_conjunction(text: str) -> list[str]:
    """The clauses of a top-level ``&&`` (outer parentheses removed).

    >>> split_conjunction('(A == 1) && ((B || C)) && D')
    ['A == 1', 'B || C', 'D']
    """
    text = _unwrap(text.strip())
    parts: list[str] = []
    start = 0
    for i, depth in _outside_strings(text):
        if depth == 0 and i >= start and text.startswith("&&", i):
            parts.append(text[start:i])
            start = i + 2
    parts.append(text[start:])
    clauses = [_unwrap(p.strip()) for p in parts if p.strip()]
    if len(clauses) == 1 and clauses[0] != text:
        return split_conjunction(clauses[0])
    return clauses


def _unwrap(text: str) -> str:
    """``(x)`` -> ``x`` while the outer parentheses enclose everything."""
    while text.startswith("(") and text.endswith(")") and _closes_at_end(text):
        text = text[1:-1].strip()
    return text


def _closes_at_end(text: str) -> bool:
    last = len(text) - 1
    return all(depth or i == last for i, depth in _outside_strings(text) if text[i] in ")]}")


def _outside_strings(text: str) -> Iterator[tuple[int, int]]:
    """Each character outside string literals: its index and the bracket depth after it."""
    depth, quote, i = 0, "", 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        else:
            depth += (ch in "([{") - (ch in ")]}")
            yield i, depth
        i += 1


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _amount(value: float, unit: str) -> str:
    if unit == "KB":
        mb = value / 1024
        return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"
    shown = f"{value:g}"
    return f"{shown} {unit}".strip() if unit else shown


def _largest(machines: Sequence[Any], attr: str) -> float | None:
    values = [_number(analysis.value(m, attr)) for m in machines]
    found = [v for v in values if v is not None]
    return max(found) if found else None


def _describe(
    clause: str, job: Any, slots: Sequence[Any], machines: Sequence[Any], matched: int, ever: int
) -> str:
    """The plain sentence for one clause (``machines`` are the slots taken empty)."""
    bare = re.sub(r"\b(TARGET|MY)\.", "", clause)
    refs = analysis.target_refs(job, clause)
    n = len(machines)
    for slot_attr, job_attr, command, unit in _RESOURCES:
        if re.fullmatch(rf"\s*{slot_attr}\s*>=\s*{job_attr}\s*", bare, re.IGNORECASE):
            asked = _number(analysis.value(job, job_attr)) or 0
            most = _largest(machines, slot_attr)
            have = "none has any" if most is None else f"the largest has {_amount(most, unit)}"
            noun = {"Memory": "that much", "Disk": "that much disk"}.get(slot_attr, "that many")
            return (f"{command} {_amount(asked, unit)}: {ever} of {n} slots have {noun}; "
                    f"{have}")  # fmt: skip
    for name in ("OpSys", "Arch", "OpSysAndVer", "OpSysMajorVer"):
        if re.fullmatch(rf"\s*{name}\s*==.*", bare):
            seen = ", ".join(analysis.first_values(machines, name))
            return f"{bare}: {ever} of {n} slots; the slots have {name} {seen}"
    if any(a in refs for a in _CONTAINER_ATTRS):
        return (f"a container runtime (the job has an image: container_image / --image): "
                f"{ever} of {n} slots offer one ({bare})")  # fmt: skip
    if any(a in refs for a in _MICROARCH):
        seen = ", ".join(analysis.first_values(machines, "Microarch"))
        return f"microarchitecture {bare}: {ever} of {n} slots; the slots have {seen}"
    if any(a in refs for a in _GPU_CAPABILITY):
        name = next(a for a in refs if a in _GPU_CAPABILITY)
        seen = ", ".join(analysis.first_values(machines, name))
        return f"GPU capability {bare}: {ever} of {n} slots; the slots have {seen}"
    if any(a in refs for a in _OSPOOL_ATTRS):
        return (
            f"an OSPool execute point ({bare}): {ever} of {n} slots are one "
            "(the ospool profile asks for one; use another --profile on other pools)"
        )
    unknown = [r for r in refs if all(analysis.value(s, r) is None for s in slots)]
    if unknown and ever == 0:
        return f"{bare}: no slot defines {', '.join(unknown)}"
    return f"{bare}: {ever} of {n} slots"


def analyse_idle(
    job: Any, slots: Sequence[Any], *, priorities: Mapping[str, float] | None = None
) -> Why:
    """Why an idle job does not start: its requirements against ``slots`` (slot ads)."""
    job_id = _condor_id(job)
    requirements = analysis.expression_text(job, "Requirements") or "true"
    machines_now = [s for s in slots if not analysis.is_dynamic(s)]
    empty = [analysis.as_empty_machine(s) for s in machines_now]
    clauses: list[Clause] = []
    for text in split_conjunction(requirements):
        try:
            test = analysis.clause_matcher(job, text)
            matched = sum(test(s) for s in slots)
            ever = sum(test(m) for m in empty)
        except Exception as exc:  # a clause classad2 cannot parse: show it, do not fail
            clauses.append(Clause(text, 0, 0, f"{text}: cannot be evaluated ({exc})"))
            continue
        words = _describe(text, job, slots, empty, matched, ever)
        clauses.append(Clause(text, matched, ever, words))
    # Machine by machine, partitionable slots taken whole (as better-analyze's summary
    # counts them); "available": room for it now, both ways, on a slot nobody claimed.
    whole = analysis.clause_matcher(job, requirements)
    fits = [m for m in empty if whole(m)]
    welcome = [m for m in fits if analysis.slot_accepts(m, job)]
    available = [
        s for s in machines_now
        if whole(s) and analysis.slot_accepts(s, job)
        and str(analysis.value(s, "State")) in ("Unclaimed", "None")
    ]  # fmt: skip
    why = Why(job_id, "QUEUED", "", slots=len(slots), machines=len(machines_now),
              matching=len(fits), rejecting=len(fits) - len(welcome), available=len(available),
              clauses=clauses)  # fmt: skip
    never = [c for c in clauses if c.ever == 0]
    if not slots:
        why.summary = "the pool has no slots at all (no execute point is up)"
    elif never:
        why.summary = "no slot can ever run it: " + "; ".join(c.words for c in never)
        why.details = [c.words for c in clauses if c not in never and c.ever < len(empty)]
        why.command = "change what the job asks for, then submit it again (`condor_nb rm` this one)"
    elif not fits:  # every clause alone is met somewhere, never all on one slot
        why.summary = (
            "no slot satisfies all its requirements at once (each alone is met somewhere): "
            + "; ".join(c.words for c in clauses if c.ever < len(empty))
        )
        why.command = "change what the job asks for, then submit it again"
    elif not welcome:
        why.summary = (
            f"{len(fits)} slot(s) match its requirements but their own policy (START) "
            "rejects the job"
        )
        why.details = _slot_side_hints(job, fits)
    elif available:
        why.summary = (
            f"{len(available)} slot(s) have room for it now: it should start at the next "
            "negotiation cycle"
        )
    else:
        rooms = [_room(job, s) for s in machines_now if _room(job, s)]
        why.summary = (
            f"waiting for room: {len(welcome)} slot(s) can run it once the jobs running "
            "there end" + (f" ({rooms[0]})" if rooms else "")
        )
        why.details = rooms[1:5]
    why.details += _priority_lines(job, priorities)
    why.short = _short(why, job, empty, never, fits, welcome, available)
    return why


def short_amount(value: float, unit: str) -> str:
    if unit == "MB":
        return f"{value / 1024:.3g} GB" if value >= 1024 else f"{value:g} MB"
    if unit == "KB":
        return short_amount(value / 1024, "MB")
    return f"{value:g}"


def _short_never(clause: Clause, job: Any, machines: Sequence[Any]) -> str:
    """ "no slot has 100 GB memory (largest 8 GB)" for a clause no slot meets."""
    bare = re.sub(r"\b(TARGET|MY)\.", "", clause.text)
    for slot_attr, job_attr, _command, unit in _RESOURCES:
        if re.fullmatch(rf"\s*{slot_attr}\s*>=\s*{job_attr}\s*", bare, re.IGNORECASE):
            asked = _number(analysis.value(job, job_attr)) or 0
            most = _largest(machines, slot_attr)
            noun = {"Memory": "memory", "Disk": "disk", "Cpus": "CPUs", "GPUs": "GPUs"}[slot_attr]
            largest = "none" if most is None else short_amount(most, unit)
            return f"no slot has {short_amount(asked, unit)} {noun} (largest {largest})"
    return f"no slot meets {bare}"


def _short(
    why: Why,
    job: Any,
    machines: Sequence[Any],
    never: Sequence[Clause],
    fits: Sequence[Any],
    welcome: Sequence[Any],
    available: Sequence[Any],
) -> str:
    """The REASON of an idle job in ``q``: the analysis in a few words."""
    if not why.slots:
        return "the pool has no slots"
    if never:
        return "; ".join(_short_never(c, job, machines) for c in never)
    if not fits:
        return "no slot meets all its requirements at once"
    if not welcome:
        return f"{len(fits)} slot(s) match but their START policy rejects it"
    if available:
        return f"{len(available)} slot(s) free: starts at the next negotiation"
    return f"waiting for room on {len(welcome)} matching slot(s)"


def _room(job: Any, slot: Any) -> str:
    """What a partitionable slot has left now against what the job asks."""
    if analysis.value(slot, "PartitionableSlot") is not True:
        return ""
    parts = []
    for slot_attr, job_attr, command, unit in _RESOURCES:
        asked = _number(analysis.value(job, job_attr))
        left = _number(analysis.value(slot, slot_attr))
        if asked and left is not None and left < asked:
            parts.append(f"{command} {_amount(asked, unit)}, {_amount(left, unit)} free")
    name = analysis.value(slot, "Name")
    return f"{name}: {'; '.join(parts)}" if parts else ""


def _slot_side_hints(job: Any, slots: Sequence[Any]) -> list[str]:
    """OSPool execute points check project and duration category in their START."""
    lines = []
    for attr, advice in (
        ("ProjectName", "set your project: CONDOR_NB_PROJECT (the ospool profile's "
         "MY.ProjectName)"),
        ("JobDurationCategory", 'MY.JobDurationCategory must be "Medium" or "Long"'),
    ):  # fmt: skip
        start = " ".join(str(analysis.expression_text(s, n) or "") for s in slots
                         for n in ("Start", "Requirements"))  # fmt: skip
        if attr in start and analysis.value(job, attr) is None:
            lines.append(f"the slots' policy reads {attr}, which the job does not set: {advice}")
    return lines


def _priority_lines(job: Any, priorities: Mapping[str, float] | None) -> list[str]:
    if not priorities:
        return []
    owner = str(analysis.value(job, "Owner") or "")
    for name, prio in priorities.items():
        if name.split("@", 1)[0] == owner or name == owner:
            return [f"your user priority is {prio:.2f} (lower is better; shared with your "
                    "other jobs)"]  # fmt: skip
    return []


#: Failure class of a held job -> what to change (the command is added with the id).
_HELD_ADVICE: dict[str, tuple[str, str]] = {
    "held_by_user": ("it was put on hold (by you or an admin)", "{cmd} release {id}"),
    "out_of_memory": ("ask for more memory (--memory)", "{cmd} rm {id}; submit again with "
                      "--memory 2x what it asked"),
    "wall_time": ("ask for a longer wall time or a longer JobDurationCategory",
                  "{cmd} rm {id}; submit again with a larger --wall-time"),
    "missing_input": ("an input file could not be sent: check --files paths exist and are "
                      "readable", "{cmd} rm {id}; fix the files, submit again"),
    "output_transfer": ("the outputs could not come back", "{cmd} release {id}"),
    "image": ("check --image: the path must exist on the execute points "
              "(/cvmfs/... on the OSPool)", "{cmd} rm {id}; submit again with a working --image"),
    "python_missing": ("the worker's Python could not be started: check --image",
                       "{cmd} rm {id}; submit again with another --image"),
    "never_uploaded": ("the inputs never arrived (the submitting process stopped)",
                       "{cmd} rm {id}; submit again"),
    "not_shared": ("the access point cannot see the staging folder",
                   "{cmd} rm {id}; turn shared_filesystem off, submit again"),
}  # fmt: skip


#: What site policies (the OSPool's among them) write in HoldReason -> advice, command.
_HOLD_TEXTS: tuple[tuple[str, tuple[str, str]], ...] = (
    (r"JobDurationCategory|duration categor|max(imum)? (allowed )?(wall|run) ?time", (
        'the job ran longer than its duration category allows (OSPool: "Medium" 20 h, '
        '"Long" 40 h): split the work, or ask your facilitator for "Long"',
        "{cmd} rm {id}; submit shorter runs (a sweep) or with a longer category")),
    (r"memory", ("it used more memory than it asked for: ask for more (--memory)",
                 "{cmd} rm {id}; submit again with a larger --memory")),
    (r"disk", ("it used more disk than it asked for: ask for more (--disk)",
               "{cmd} rm {id}; submit again with a larger --disk")),
    (r"ProjectName|project", ("the site needs your project: set CONDOR_NB_PROJECT (the ospool "
                              "profile's MY.ProjectName)", "{cmd} rm {id}; set the project, "
                              "submit again")),
)  # fmt: skip


def analyse_held(job: Any, job_id: str | None = None) -> Why:
    """A held job: the hold reason in plain words, what to change, the command."""
    ad = {
        name: analysis.value(job, name)
        for name in ("JobStatus", "HoldReasonCode", "HoldReason", "HoldReasonSubCode",
                     "EnteredCurrentStatus", "CondorNbSpooled")
    }  # fmt: skip
    info = job_status.classify(ad)
    shown = job_id or _condor_id(job)
    klass = info.failure_class or "held_by_policy"
    advice, command = _HELD_ADVICE.get(
        klass, ("a site or job policy held it; the reason says which",
                "{cmd} release {id} (once the cause is fixed)"),
    )  # fmt: skip
    raw = str(ad.get("HoldReason") or "").strip()
    for pattern, better in _HOLD_TEXTS:
        if klass == "held_by_policy" and re.search(pattern, raw, re.IGNORECASE):
            advice, command = better
            break
    details = [f"what to change: {advice}"]
    if raw:
        details.append(f"HTCondor says: {raw} (code {ad.get('HoldReasonCode')})")
    return Why(shown, "HELD", info.reason or "held", details=details,
               command=command.format(cmd=_CMD, id=shown))  # fmt: skip


def explain(
    job: Any,
    slots: Sequence[Any],
    *,
    job_id: str | None = None,
    priorities: Mapping[str, float] | None = None,
) -> Why:
    """Why the job (its ad) is where it is; ``slots`` are the pool's slot ads."""
    ad = {n: analysis.value(job, n) for n in ("JobStatus", "HoldReasonCode", "NumJobStarts")}
    info = job_status.classify(ad)
    shown = job_id or _condor_id(job)
    if info.state is job_status.JobState.HELD:
        return analyse_held(job, shown)
    if info.state is job_status.JobState.QUEUED and info.reason == "uploading inputs":
        return Why(shown, "QUEUED", "its inputs are being uploaded (it waits on hold until then)")
    if info.state is job_status.JobState.QUEUED:
        why = analyse_idle(job, slots, priorities=priorities)
        why.job = shown
        return why
    return Why(shown, info.state.value, f"it is {info.state.value}, not waiting"
               + (f": {info.reason}" if info.reason else ""))  # fmt: skip


@dataclass(frozen=True)
class NeverMatch:
    """No slot of the pool can run the job, even with nothing else running."""

    reason: str  # the plain sentence(s), as ``why`` says them
    #: Every clause no slot meets reads an attribute no slot has (say, a custom one, or
    #: a GPU type): a machine of a new kind joining the pool could run it. Warn, then;
    #: otherwise (more memory than any machine has, an OS no slot runs) refuse.
    may_match_new_machines: bool
    #: Every clause no slot meets reads only the job's own attributes (``MY.X``, or a
    #: constant such as ``false``): not about the pool at all (the job's ad may be
    #: edited later, e.g. by condor_qedit); a submit path neither refuses nor warns.
    job_side_only: bool = False


def never_matches(job: Any, slots: Sequence[Any]) -> NeverMatch | None:
    """None if some slot of the pool could run ``job`` once free; else why none can.

    ``job`` is a job ad, or for a job not yet submitted the ad
    :func:`condor_nb.condor.analysis.job_ad_from_description` builds from its submit
    description; ``slots`` are the pool's slot ads
    (:func:`condor_nb.condor.analysis.fetch_slots`). Partitionable slots are taken
    with their whole resources, so a busy pool is never a reason. An empty pool
    answers None (nothing is known about it).
    """
    machines = [analysis.as_empty_machine(s) for s in slots if not analysis.is_dynamic(s)]
    if not machines:
        return None
    requirements = analysis.expression_text(job, "Requirements") or "true"
    whole = analysis.clause_matcher(job, requirements)
    if any(whole(m) for m in machines):
        return None
    answer = analyse_idle(job, slots)
    never = [c for c in answer.clauses if c.ever == 0] or answer.clauses
    unknown = all(
        any(all(analysis.value(s, ref) is None for s in slots)
            for ref in analysis.target_refs(job, c.text))
        for c in never
    )  # fmt: skip
    own = all(not analysis.slot_side_refs(job, c.text) for c in never)
    return NeverMatch(answer.summary, unknown, own)


def _condor_id(job: Any) -> str:
    return f"{analysis.value(job, 'ClusterId')}.{analysis.value(job, 'ProcId')}"


def for_condor_id(settings: Settings, condor_id: str, *, job_id: str | None = None) -> Why:
    """Ask the pool: the job ad from the schedd, and (for an idle job) the slot ads
    from the collector and the user's priority from the negotiator, if it answers."""
    cluster, _, proc = condor_id.partition(".")
    job = analysis.fetch_job(settings, int(cluster), int(proc or 0))
    shown = job_id or condor_id
    if job is None:
        return Why(shown, "UNKNOWN", f"the schedd knows no job {condor_id} (queue or history)")
    status = analysis.value(job, "JobStatus")
    if status != job_status.IDLE:
        return explain(job, [], job_id=shown)
    slots, _ = analysis.fetch_slots_for(settings, [job])
    owner = str(analysis.value(job, "Owner") or "")
    priorities = analysis.user_priorities(settings, [owner])
    return explain(job, slots, job_id=shown, priorities=priorities)
