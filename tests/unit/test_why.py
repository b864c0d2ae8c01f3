"""condor_nb why, on ads captured from the personal pool (condor_q -l, condor_status -l).

The slot ads are a snapshot: one partitionable slot (8 GB, 4 CPUs, all busy at the
time) and four dynamic slots. The clause counts below are the ones
``condor_q -better-analyze`` printed for the same job on the same pool.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from condor_nb.condor import analysis
from condor_nb.diagnostics import why

DATA = Path(__file__).parent / "data" / "why"


@pytest.fixture(scope="module")
def slots() -> list[object]:
    return analysis.parse_ads((DATA / "personal_slots.ads").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def big() -> object:
    return analysis.parse_ad((DATA / "job_big_memory.ad").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("(A == 1) && ((B || C)) && D", ["A == 1", "B || C", "D"]),
        ("((A && B))", ["A", "B"]),
        ('(Name == "a && b") && (x)', ['Name == "a && b"', "x"]),
        ("(A) || (B && C)", ["(A) || (B && C)"]),
        ("f(a && b, c) && g", ["f(a && b, c)", "g"]),
        ("true", ["true"]),
    ],
)
def test_split_conjunction(text: str, clauses: list[str]) -> None:
    assert why.split_conjunction(text) == clauses


def test_memory_no_slot_has_names_request_memory_and_the_largest_slot(
    slots: list[object], big: object
) -> None:
    answer = why.explain(big, slots)
    assert answer.summary.startswith("no slot can ever run it")
    assert "request_memory 102400 MB: 0 of 1 slots have that much" in answer.summary
    assert "the largest has 8192 MB" in answer.summary  # TotalSlotMemory, not what is left
    # The counts better-analyze printed for this job: 5 5 5 5 0 5.
    assert [c.matched for c in answer.clauses] == [5, 5, 5, 5, 0, 5]
    assert answer.clauses[0].text == "Foo isnt 7"  # unscoped: looked up in the slot too
    assert (answer.slots, answer.machines, answer.matching) == (5, 1, 0)
    assert answer.command and "submit it again" in answer.command
    never = why.never_matches(big, slots)
    assert never is not None and never.reason == answer.summary
    assert not never.may_match_new_machines  # more than any machine has: refuse


def test_a_job_that_fits_a_busy_machine_is_waiting_for_room(
    slots: list[object], big: object
) -> None:
    small = analysis.with_attributes(big, {"RequestMemory": "1024"})
    answer = why.explain(small, slots)
    assert why.never_matches(small, slots) is None
    assert answer.summary.startswith("waiting for room: 1 slot(s) can run it")
    assert answer.summary.endswith("(slot1@localhost: request_cpus 1, 0 free)")  # it was full
    assert (answer.machines, answer.matching, answer.rejecting, answer.available) == (1, 1, 0, 0)


def test_clauses_no_slot_meets_are_said_in_plain_words(slots: list[object], big: object) -> None:
    cases = {
        "HAS_SINGULARITY == true": "a container runtime",
        "(OSGVO_OS_STRING =!= undefined)": "an OSPool execute point",
        'Microarch == "x86_64-v9"': "the slots have x86_64-v4",
        "TARGET.CUDACapability >= 8.0": "GPU capability",
        "MyOwnAttribute == 3": "no slot defines MyOwnAttribute",
        'TARGET.OpSys == "WINDOWS"': "the slots have OpSys LINUX",
        "TARGET.Cpus >= RequestCpus && RequestCpus > 0": "",
    }
    for clause, words in cases.items():
        job = analysis.with_attributes(big, {"Requirements": clause, "RequestMemory": "1"})
        answer = why.explain(job, slots)
        if words:
            assert words in answer.summary, (clause, answer.summary)
            assert why.never_matches(job, slots) is not None
        else:
            assert why.never_matches(job, slots) is None


def test_requests_on_cpus_and_disk(slots: list[object], big: object) -> None:
    job = analysis.with_attributes(
        big, {"RequestMemory": "1", "RequestCpus": "64", "Requirements":
              "TARGET.Cpus >= RequestCpus && TARGET.Disk >= RequestDisk"},
    )  # fmt: skip
    assert (
        "request_cpus 64: 0 of 1 slots have that many; the largest has 4"
        in why.explain(job, slots).summary
    )


def test_held_job_says_the_reason_what_to_change_and_the_command(slots: list[object]) -> None:
    held = analysis.parse_ad((DATA / "job_held.ad").read_text(encoding="utf-8"))
    answer = why.explain(held, slots, job_id="abc")
    assert answer.state == "HELD"
    assert "Cannot access initial working directory" in answer.summary
    assert answer.command == "condor_nb release abc (once the cause is fixed)"
    by_user = analysis.with_attributes(
        held, {"HoldReasonCode": "1", "HoldReason": '"via condor_hold"'}
    )
    answer = why.explain(by_user, slots, job_id="abc")
    assert answer.command == "condor_nb release abc"
    assert "held by the user" in answer.summary
    oom = analysis.with_attributes(held, {"HoldReasonCode": "34"})
    assert "--memory" in why.explain(oom, slots, job_id="abc").text()


def test_an_empty_pool_is_never_a_reason_to_refuse(big: object) -> None:
    assert why.never_matches(big, []) is None
    assert "no slots at all" in why.explain(big, []).summary


#: What `condor_nb render` printed for a notebook (the parts matchmaking reads).
RENDERED = {
    "universe": "vanilla",
    "requirements": '(OpSys == "LINUX")',
    "request_cpus": "1",
    "request_memory": "3072",
    "request_disk": "1048576",
    "MY.CondorNbId": '"8bb7e990"',
    "MY.WantIOProxy": "true",
}


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ({}, None),
        ({"request_memory": "102400"}, "request_memory 102400 MB: 0 of 1 slots"),
        ({"request_cpus": "64"}, "request_cpus 64: 0 of 1 slots"),
        ({"request_gpus": "1"}, "request_gpus 1: 0 of 1 slots"),
        ({"request_disk": str(10**12)}, "request_disk 953674.3 GB: 0 of 1 slots"),
        ({"requirements": '(OpSys == "WINDOWS")'}, "the slots have OpSys LINUX"),
        ({"requirements": "(HAS_SINGULARITY == True)"}, "a container runtime"),
        ({"requirements": "(MY.ProjectName =!= undefined)", "MY.ProjectName": '"Hx"'}, None),
    ],
)
def test_never_matches_before_submitting(
    slots: list[object], changes: dict[str, str], verdict: str | None
) -> None:
    job = analysis.job_ad_from_description({**RENDERED, **changes})
    never = why.never_matches(job, slots)
    if verdict is None:
        assert never is None
    else:
        assert never is not None and verdict in never.reason, never


def test_an_attribute_no_slot_has_may_come_with_new_machines(slots: list[object]) -> None:
    job = analysis.job_ad_from_description({**RENDERED, "requirements": "(HasBigGPU == true)"})
    never = why.never_matches(job, slots)
    assert never is not None and never.may_match_new_machines
    assert "no slot defines HasBigGPU" in never.reason


@pytest.mark.parametrize(
    ("reason", "advice"),
    [
        ("Job exceeded the maximum runtime for its JobDurationCategory (20 hours)", '"Long"'),
        ("Job has gone over memory limit of 2048 megabytes.", "--memory"),
        ("Cannot access initial working directory /x", "the reason says which"),
    ],
)
def test_policy_holds_in_plain_words(slots: list[object], reason: str, advice: str) -> None:
    held = analysis.parse_ad((DATA / "job_held.ad").read_text(encoding="utf-8"))
    job = analysis.with_attributes(held, {"HoldReasonCode": "3", "HoldReason": f'"{reason}"'})
    answer = why.explain(job, slots, job_id="abc")
    assert advice in answer.text() and reason in answer.text()


def test_slots_whose_policy_wants_a_project_say_so(slots: list[object], big: object) -> None:
    ospool = [
        analysis.with_attributes(s, {"Start": "TARGET.ProjectName =!= undefined"}) for s in slots
    ]
    job = analysis.with_attributes(big, {"RequestMemory": "1024"})
    answer = why.explain(job, ospool)
    assert answer.summary == (
        "1 slot(s) match its requirements but their own policy (START) rejects the job"
    )
    assert (answer.matching, answer.rejecting) == (1, 1)
    assert "ProjectName" in answer.details[0] and "CONDOR_NB_PROJECT" in answer.details[0]
    with_project = analysis.with_attributes(job, {"ProjectName": '"Hx"'})
    assert "rejects" not in why.explain(with_project, ospool).summary
