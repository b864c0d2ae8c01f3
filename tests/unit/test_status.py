"""What HTCondor says about a job -> what condor_nb tells the user (one table)."""

from __future__ import annotations

from typing import Any

import pytest

from condor_nb.condor.status import (
    FAILURE_CLASSES,
    JobState,
    StatusInfo,
    classify,
    from_result_file,
    is_abandoned_upload,
)

NOW = 1_700_000_000.0
SPOOL_TIMEOUT = 600
# The reason tracking.py gives when it removes a job whose inputs never arrived.
ABANDONED_REMOVE_REASON = "condor_nb: inputs were never uploaded (the submitting process stopped)"

Q, R, C, F, H, X = (
    JobState.QUEUED,
    JobState.RUNNING,
    JobState.COMPLETED,
    JobState.FAILED,
    JobState.HELD,
    JobState.REMOVED,
)


def held(code: int, reason: str = "", **more: Any) -> dict[str, Any]:
    return {"JobStatus": 5, "HoldReasonCode": code, "HoldReason": reason, **more}


def exited(code: int) -> dict[str, Any]:
    return {"JobStatus": 4, "ExitBySignal": False, "ExitCode": code}


# (ad, state, failure_class, exit_code, substrings the reason must contain)
# exit_code / reason parts of None mean "not checked"; reason=() means "no reason".
CLASSIFY_CASES = [
    pytest.param({"JobStatus": 1}, Q, None, None, (), id="idle"),
    pytest.param({}, Q, None, None, (), id="no JobStatus yet"),
    pytest.param(
        {"JobStatus": 1, "NumJobStarts": 2}, Q, None, None, ("waiting to restart",),
        id="idle after an eviction",
    ),
    pytest.param(
        {"JobStatus": 2, "CondorNbProgress": "running 3/10 cells"}, R, None, None,
        ("running 3/10 cells",), id="running with progress",
    ),
    pytest.param({"JobStatus": 2}, R, None, None, (), id="running without progress"),
    pytest.param(
        {"JobStatus": 6, "CondorNbProgress": "completed 10/10"}, R, None, None,
        ("completed 10/10",), id="transferring output",
    ),
    pytest.param({"JobStatus": 7}, R, None, None, ("suspended",), id="suspended"),
    pytest.param(exited(0), C, None, 0, (), id="completed exit 0"),
    pytest.param(
        exited(3), F, "cell_error", 3, ("a cell raised an error",), id="exit 3 cell error"
    ),
    pytest.param(
        exited(4), F, "kernel_died", 4, ("kernel died", "out of memory", "--memory"),
        id="exit 4 kernel died",
    ),
    pytest.param(
        exited(5), F, "cell_timeout", 5, ("per-cell timeout",), id="exit 5 cell timeout"
    ),
    pytest.param(
        exited(6), F, "input_error", 6, ("the worker's Python could not be used",),
        id="exit 6 input error",
    ),
    pytest.param(
        exited(7), F, "internal_error", 7, ("wrapper failed", "please report"),
        id="exit 7 internal error",
    ),
    pytest.param(
        exited(8), F, "interrupted", 8, ("stopped while running",), id="exit 8 interrupted"
    ),
    pytest.param(
        exited(127), F, "python_missing", 127, ("Python could not be started", "--image"),
        id="exit 127 python missing",
    ),
    pytest.param(
        exited(126), F, "python_missing", 126, ("worker_python",), id="exit 126 not executable"
    ),
    pytest.param(
        exited(42), F, "unknown", 42, ("unexpected exit code", "(42)"), id="unknown exit 42"
    ),
    pytest.param(
        {"JobStatus": "4", "ExitCode": "3"}, F, "cell_error", 3, ("a cell raised an error",),
        id="string-valued ad attributes",
    ),
    pytest.param(
        {"JobStatus": 4, "ExitBySignal": True, "ExitSignal": 9, "ExitCode": None},
        F, "killed_by_signal", None, ("signal 9", "out of memory"), id="killed by SIGKILL",
    ),
    pytest.param(
        {"JobStatus": 4, "ExitBySignal": True, "ExitSignal": 11},
        F, "killed_by_signal", None, ("signal 11",), id="killed by SIGSEGV",
    ),
    pytest.param(
        held(1, "via condor_hold (by user alice)"), H, "held_by_user", None,
        ("held by the user", "condor_nb release", "via condor_hold (by user alice)"),
        id="held 1 by user",
    ),
    pytest.param(
        held(12, "Transfer output files failure at execute point"), H, "output_transfer",
        None, ("outputs could not be transferred", "Transfer output files failure"),
        id="held 12 output transfer",
    ),
    pytest.param(
        held(13, "Transfer input files failure: data.csv: No such file"), H, "missing_input",
        None, ("input file could not be transferred", "data.csv: No such file"),
        id="held 13 missing input",
    ),
    pytest.param(
        held(34, "Job has gone over cgroup memory limit of 1024 megabytes."), H,
        "out_of_memory", None, ("more memory than it requested", "--memory", "1024 megabytes"),
        id="held 34 out of memory",
    ),
    pytest.param(
        held(26, "Site policy: jobs may not run longer than 2 days"), H, "held_by_policy", None,
        ("site or job policy", "Site policy: jobs may not run longer than 2 days"),
        id="held 26 system policy",
    ),
    pytest.param(
        held(3, "periodic_hold expression became true"), H, "held_by_policy", None,
        ("policy", "periodic_hold expression became true"), id="held 3 job policy",
    ),
    pytest.param(
        held(999, "something new"), H, "held_by_policy", None, ("something new",),
        id="held with an unknown code",
    ),
    pytest.param(
        held(16, "Spooling input data files", EnteredCurrentStatus=NOW - 30), Q, None, None,
        ("uploading inputs",), id="held 16 recent: still uploading",
    ),
    pytest.param(
        held(16, "Spooling input data files", EnteredCurrentStatus=NOW - 3600), H,
        "never_uploaded", None, ("never uploaded", "removed automatically"),
        id="held 16 older than spool_timeout",
    ),
    pytest.param(
        {"JobStatus": 3, "RemoveReason": "removed by condor_nb user (job 0a1b2c3d)"}, X, None,
        None, ("removed by condor_nb user (job 0a1b2c3d)",), id="removed with its reason",
    ),
    pytest.param({"JobStatus": 3}, X, None, None, ("removed",), id="removed without a reason"),
    pytest.param(
        {"JobStatus": 3, "HoldReasonCode": 16, "RemoveReason": ABANDONED_REMOVE_REASON}, X,
        "never_uploaded", None, ("never uploaded",), id="removed abandoned upload",
    ),
    pytest.param(
        {"JobStatus": 3, "RemoveReason": "Spool timeout expired"}, X, "never_uploaded", None,
        ("never uploaded",), id="removed by a spool timeout",
    ),
    pytest.param(
        {"JobStatus": 9}, Q, None, None, ("unknown HTCondor JobStatus 9",),
        id="unknown JobStatus",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("ad", "state", "klass", "exit_code", "parts"), CLASSIFY_CASES)
def test_classify(
    ad: dict[str, Any],
    state: JobState,
    klass: str | None,
    exit_code: int | None,
    parts: tuple[str, ...],
) -> None:
    info = classify(ad, now=NOW, spool_timeout=SPOOL_TIMEOUT)
    assert info.state is state
    assert info.failure_class == klass
    if exit_code is not None:
        assert info.exit_code == exit_code
    if parts:
        assert info.reason is not None
        for part in parts:
            assert part in info.reason
    else:
        assert info.reason is None
    if klass is not None:
        assert klass in FAILURE_CLASSES


def test_held_16_without_a_clock_is_still_uploading() -> None:
    ad = held(16, "Spooling input data files", EnteredCurrentStatus=0)
    assert classify(ad) == StatusInfo(JobState.QUEUED, "uploading inputs")


def test_never_uploaded_does_not_repeat_the_schedds_spooling_text() -> None:
    ad = held(16, "Spooling input data files", EnteredCurrentStatus=NOW - 3600)
    info = classify(ad, now=NOW, spool_timeout=SPOOL_TIMEOUT)
    assert info.reason == FAILURE_CLASSES["never_uploaded"]


def test_every_failure_class_reads_as_a_sentence() -> None:
    for klass, sentence in FAILURE_CLASSES.items():
        assert sentence and sentence[0].islower() and not sentence.endswith("."), klass


@pytest.mark.parametrize(
    ("ad", "expected"),
    [
        pytest.param(held(16, EnteredCurrentStatus=NOW - 601), True, id="held 16 past timeout"),
        pytest.param(
            {
                "JobStatus": "5",
                "HoldReasonCode": "16",
                "EnteredCurrentStatus": str(int(NOW) - 9999),
            },
            True,
            id="string values",
        ),
        pytest.param(held(16, EnteredCurrentStatus=NOW - 600), False, id="exactly at timeout"),
        pytest.param(held(16, EnteredCurrentStatus=NOW - 10), False, id="recent"),
        pytest.param(held(16), False, id="no EnteredCurrentStatus"),
        pytest.param(held(13, EnteredCurrentStatus=NOW - 9999), False, id="other hold code"),
        pytest.param(
            {"JobStatus": 1, "HoldReasonCode": 16, "EnteredCurrentStatus": NOW - 9999},
            False,
            id="released (idle) with a stale code",
        ),
        pytest.param(
            {"JobStatus": 3, "HoldReasonCode": 16, "EnteredCurrentStatus": NOW - 9999},
            False,
            id="already removed",
        ),
    ],
)
def test_is_abandoned_upload(ad: dict[str, Any], expected: bool) -> None:
    assert is_abandoned_upload(ad, NOW, SPOOL_TIMEOUT) is expected


@pytest.mark.parametrize(
    ("result", "state", "klass", "exit_code", "parts"),
    [
        pytest.param(
            {"outcome": "completed", "exit_code": 0, "failed_cell": None, "error": None},
            C, None, 0, (), id="completed",
        ),
        pytest.param(
            {
                "outcome": "cell_error", "exit_code": 3, "failed_cell": 4,
                "error": {"name": "ZeroDivisionError", "value": "division by zero"},
            },
            F, "cell_error", 3,
            (
                "a cell raised an error",
                "in cell 5 of the executed notebook",
                "ZeroDivisionError: division by zero",
            ),
            id="cell error names the cell and the exception",
        ),
        pytest.param(
            {
                "outcome": "cell_timeout", "exit_code": 5, "failed_cell": 2,
                "error": {"name": "CellTimeoutError", "value": "cell ran longer than 60 s"},
            },
            F, "cell_timeout", 5,
            ("per-cell timeout", "in cell 3 of the executed notebook", "longer than 60 s"),
            id="cell timeout",
        ),
        pytest.param(
            {"outcome": "kernel_died", "exit_code": 4, "failed_cell": None, "error": None},
            F, "kernel_died", 4, ("kernel died",), id="kernel died without details",
        ),
        pytest.param(
            {"outcome": "input_error", "exit_code": 6, "error": {"name": "KeyError", "value": ""}},
            F, "input_error", 6, ("KeyError",), id="error without a cell",
        ),
        pytest.param(
            {"outcome": "weird", "exit_code": 99}, F, "unknown", 99, ("unexpected",),
            id="unknown outcome",
        ),
        pytest.param({}, F, "internal_error", None, ("wrapper failed",), id="empty result file"),
    ],
)  # fmt: skip
def test_from_result_file(
    result: dict[str, Any],
    state: JobState,
    klass: str | None,
    exit_code: int | None,
    parts: tuple[str, ...],
) -> None:
    info = from_result_file(result)
    assert info.state is state
    assert info.failure_class == klass
    assert info.exit_code == exit_code
    if parts:
        assert info.reason is not None
        for part in parts:
            assert part in info.reason
    else:
        assert info.reason is None


def test_error_without_a_cell_does_not_claim_one() -> None:
    info = from_result_file(
        {"outcome": "input_error", "error": {"name": "KeyError", "value": "'alpha'"}}
    )
    assert info.reason is not None
    assert " in cell" not in info.reason
    assert info.reason.endswith("KeyError: 'alpha'")


@pytest.mark.parametrize(
    ("state", "terminal"),
    [
        (JobState.QUEUED, False),
        (JobState.RUNNING, False),
        (JobState.HELD, False),
        (JobState.COMPLETED, True),
        (JobState.FAILED, True),
        (JobState.REMOVED, True),
    ],
)
def test_is_terminal(state: JobState, terminal: bool) -> None:
    assert state.is_terminal is terminal


def test_state_values_are_their_names() -> None:
    assert [s.value for s in JobState] == [s.name for s in JobState]
    assert JobState("FAILED") is JobState.FAILED


@pytest.mark.parametrize("code", [13, 14])
def test_a_shared_filesystem_the_access_point_lacks_says_so(code: int) -> None:
    text = "Cannot access initial working directory /home/u/jobs/1/out: No such file"
    info = classify(held(code, text, CondorNbSpooled=False))
    assert info.state is JobState.HELD and info.failure_class == "not_shared"
    assert info.reason is not None
    assert "does not see the job's staging folder" in info.reason and text in info.reason
    # The same codes for a spooled job keep their usual meaning.
    assert classify(held(code, text)).failure_class != "not_shared"
