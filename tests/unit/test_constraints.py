"""The constraint builders: every one scoped to our Owner and this condor_nb home."""

from __future__ import annotations

import doctest

import pytest

from condor_nb.condor import constraints

HOME = "/home/jovyan/.local/share/condor_nb"
SCOPE = 'substr(CondorNbJobDir, 0, 36) == "/home/jovyan/.local/share/condor_nb/"'


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (constraints.ours("alice", HOME),
         f'CondorNbId isnt undefined && {SCOPE} && Owner == "alice"'),
        (constraints.ours(None, HOME + "/"), f"CondorNbId isnt undefined && {SCOPE}"),
        (constraints.scoped("ClusterId == 3", "bob", HOME),
         f'(ClusterId == 3) && CondorNbId isnt undefined && {SCOPE} && Owner == "bob"'),
        (constraints.sweep("s1a2b3c4", "alice", HOME),
         f'(CondorNbSweep == "s1a2b3c4") && CondorNbId isnt undefined && {SCOPE}'
         ' && Owner == "alice"'),
        (constraints.schedule("alice", HOME, "c0ffee00"),
         f'CondorNbScheduleId isnt undefined && {SCOPE} && Owner == "alice"'
         ' && CondorNbScheduleId == "c0ffee00"'),
        (constraints.job_ids(["ab", "cd"]), 'member(CondorNbId, {"ab", "cd"})'),
        (constraints.not_uploading(), "HoldReasonCode =!= 16"),
        (constraints.not_removed(), "JobStatus =!= 3"),
        (constraints.changed_since("B", 100.7),
         "B && (EnteredCurrentStatus >= 100 || QDate >= 100 || JobStatus == 2"
         " || (JobStatus == 5 && HoldReasonCode == 16))"),
    ],
)  # fmt: skip
def test_builders(built: str, expected: str) -> None:
    assert built == expected


def test_a_sweep_id_cannot_escape_its_string() -> None:
    built = constraints.sweep('x" || true || "', "alice", HOME)
    assert built.startswith('(CondorNbSweep == "x%22 || true || %22") && ')
    assert built.endswith('Owner == "alice"')


def test_doctests() -> None:
    assert doctest.testmod(constraints).failed == 0
