"""A job back in the queue after a run: what status says (pure table)."""

from __future__ import annotations

import pytest

from condor_nb.condor.status import JobState, classify


@pytest.mark.parametrize(
    ("ad", "words"),
    [
        ({"JobStatus": 1, "NumJobStarts": 0}, None),
        ({"JobStatus": 1, "NumJobStarts": 1}, ["waiting to restart"]),
        (
            {"JobStatus": 1, "NumJobStarts": 1, "LastRemoteHost": "slot1_1@ep1.example.edu"},
            ["waiting to restart: its run on ep1.example.edu ended unfinished", "from the start"],
        ),
        (
            {"JobStatus": 1, "NumJobStarts": 1, "LastRemoteHost": "slot1_1@ep1.example.edu",
             "JobDisconnectedDate": 1796620060, "JobLeaseDuration": 60},
            ["the access point lost contact with ep1.example.edu",
             "for longer than the job lease (60 s)",
             "runs again from the start"],
        ),
    ],
)  # fmt: skip
def test_restart_reason(ad: dict[str, object], words: list[str] | None) -> None:
    info = classify(ad)
    assert info.state is JobState.QUEUED
    if words is None:
        assert info.reason is None
    else:
        assert info.reason is not None and all(w in info.reason for w in words), info.reason
