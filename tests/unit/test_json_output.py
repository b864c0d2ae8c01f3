"""The --json serializer stays stable for scripts; HTCondor ids name jobs and sweeps."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from condor_nb.cli import json_output
from condor_nb.cli.main import main
from condor_nb.condor.status import JobState
from condor_nb.errors import JobNotFoundError
from condor_nb.store import condor_ids
from condor_nb.store.registry import JobRecord, Registry

T0 = 1_700_000_000.0


def record(job_id: str, **changes: Any) -> JobRecord:
    values: dict[str, Any] = {
        "id": job_id, "name": f"job {job_id}", "notebook": "/home/user/fit.ipynb",
        "profile": "personal", "schedd": "schedd@example.org", "cluster": 100, "proc": 0,
        "job_dir": f"/home/user/.local/share/condor_nb/jobs/{job_id}",
        "params_json": '{"alpha": 0.5}', "content_hash": "sha256:00", "state": "QUEUED",
        "reason": None, "failure_class": None, "exit_code": None, "submitted_at": T0,
        "started_at": None, "finished_at": None, "updated_at": T0,
    }  # fmt: skip
    values.update(changes)
    return JobRecord(**values)


# The document of one job, as scripts read it (a change here breaks them: bump SCHEMA).
GOLDEN_JOB = {
    "schema": 1,
    "kind": "job",
    "id": "0a1b2c3d",
    "name": "job 0a1b2c3d",
    "notebook": "/home/user/fit.ipynb",
    "state": "FAILED",
    "reason": "a cell raised an error",
    "failure_class": "cell_error",
    "exit_code": 3,
    "schedd": "schedd@example.org",
    "cluster": 100,
    "proc": 0,
    "condor_id": "100.0",
    "profile": "personal",
    "parameters": {"alpha": 0.5},
    "sweep_id": None,
    "sweep_index": None,
    "submitted_at": "2023-11-14T22:13:20Z",
    "started_at": "2023-11-14T22:13:30Z",
    "finished_at": "2023-11-14T22:14:20Z",
    "retrieved_at": None,
    "fetched_to": None,
    "job_dir": "/home/user/.local/share/condor_nb/jobs/0a1b2c3d",
    "content_hash": "sha256:00",
    "runtime_s": None,
    "usage": None,
}


def _failed() -> JobRecord:
    return record("0a1b2c3d", state=JobState.FAILED.value, reason="a cell raised an error",
                  failure_class="cell_error", exit_code=3, started_at=T0 + 10,
                  finished_at=T0 + 60, ad_signature="x", in_queue=1, cache_key="k")  # fmt: skip


def test_a_job_document_is_the_golden_one_in_its_order() -> None:
    text = json_output.document("job", **json_output.job(_failed()))
    assert json.loads(text) == GOLDEN_JOB
    assert list(json.loads(text)) == list(GOLDEN_JOB)  # the order too
    assert list(GOLDEN_JOB)[2 : 2 + len(json_output.JOB_CORE)] == list(json_output.JOB_CORE)


def test_fields_added_to_the_record_flow_in_after_the_core() -> None:
    @dataclasses.dataclass(slots=True)
    class Tomorrow(JobRecord):  # a field another part adds to the record
        running_cell: str | None = None
        ended_at: float | None = None

    fields = {f.name: getattr(_failed(), f.name) for f in dataclasses.fields(JobRecord)}
    later = Tomorrow(**{**fields, "usage_json": '{"memory_mb": 812}'},
                     running_cell="cell 3 of 7", ended_at=T0)  # fmt: skip
    shown = json_output.job(later)
    assert list(shown)[: len(json_output.JOB_CORE)] == list(json_output.JOB_CORE)
    assert shown["running_cell"] == "cell 3 of 7"
    assert shown["usage"] == {"memory_mb": 812} and "usage_json" not in shown
    assert shown["ended_at"] == "2023-11-14T22:13:20Z"
    assert not {"ad_signature", "in_queue", "cache_key", "updated_at", "params_json"} & set(shown)


def test_values_become_plain_json() -> None:
    class Color(json_output.enum.Enum):
        RED = "red"

    @dataclasses.dataclass
    class Inner:
        path: Path
        seen_at: float

    assert json_output.plain({"a": Color.RED, "b": float("nan"), "c": (1, 2), "d": None}) == {
        "a": "red", "b": None, "c": [1, 2], "d": None
    }  # fmt: skip
    # A mapping's keys are kept as they are (a parameter may well be called "start_at").
    assert json_output.plain({"start_at": 5.0}) == {"start_at": 5.0}
    assert json_output.plain(Inner(Path("/x"), T0)) == {
        "path": "/x", "seen_at": "2023-11-14T22:13:20Z"
    }  # fmt: skip
    assert json_output.iso_time(None) is None and json_output.iso_time(0) is None


def test_a_job_never_submitted_has_no_condor_id_and_empty_parameters() -> None:
    shown = json_output.job(record("ffff0000", cluster=None, proc=None, params_json=None))
    assert shown["condor_id"] is None and shown["cluster"] is None
    assert shown["parameters"] == {}


def test_sweeps_of_the_queue_group_their_procs() -> None:
    procs = [record(f"a{i}", sweep_id="s123", sweep_index=i, proc=i, name=f"fit[{i}]",
                    state="COMPLETED" if i else "FAILED") for i in range(3)]  # fmt: skip
    (only,) = json_output.sweeps_of([record("b1"), *procs])
    assert only == {"id": "s123", "name": "fit", "notebook": "/home/user/fit.ipynb",
                    "counts": {"FAILED": 1, "COMPLETED": 2}, "clusters": [100],
                    "job_ids": ["a0", "a1", "a2"],
                    "submitted_at": "2023-11-14T22:13:20Z"}  # fmt: skip


def test_an_error_is_a_document_with_its_exit_code() -> None:
    exc = JobNotFoundError("no job with id 'x'", hint="`condor_nb q` lists your jobs")
    assert json.loads(json_output.error(exc, exc.exit_code)) == {
        "schema": 1, "kind": "error",
        "error": {"type": "JobNotFoundError", "message": "no job with id 'x'",
                  "hint": "`condor_nb q` lists your jobs", "exit_code": 7},
    }  # fmt: skip


def test_an_unknown_state_is_refused_listing_the_states(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["q", "--state", "BOGUS", "--json"])
    assert ended.value.code == 2
    out, err = capsys.readouterr()
    error = json.loads(out)["error"]
    assert error["exit_code"] == 2
    assert "unknown state 'BOGUS'" in error["message"] and "QUEUED, RUNNING" in err
    with pytest.raises(SystemExit) as ended:
        main(["q", "--json", "-q"])
    assert ended.value.code == 2 and "--json and -q cannot be given together" in (
        capsys.readouterr().err
    )


@pytest.fixture
def registry(tmp_path: Path) -> Any:
    reg = Registry(tmp_path / "registry.sqlite")
    yield reg
    reg.close()


def test_condor_ids_name_a_job_a_sweep_or_nothing(registry: Registry) -> None:
    registry.insert_many([
        record("0000000a", cluster=13, proc=0),
        record("0000000b", cluster=14, proc=0, sweep_id="s1", sweep_index=0),
        record("0000000c", cluster=14, proc=1, sweep_id="s1", sweep_index=1),
        record("0000000d", cluster=20, proc=0, schedd="one@example.org"),
        record("0000000e", cluster=20, proc=0, schedd="two@example.org"),
    ])  # fmt: skip
    assert condor_ids.resolve(registry, "13").job.id == "0000000a"  # type: ignore[union-attr]
    assert condor_ids.resolve(registry, "13.0").job.id == "0000000a"  # type: ignore[union-attr]
    assert condor_ids.resolve(registry, "14") == condor_ids.CondorIdMatch(sweep_id="s1")
    assert condor_ids.resolve(registry, "14.1").job.id == "0000000c"  # type: ignore[union-attr]
    for nothing in ("13.5", "99", "0000000a", "13.", "s1", ""):
        assert condor_ids.resolve(registry, nothing) is None, nothing
    with pytest.raises(JobNotFoundError, match=r"ambiguous.*one@example\.org, two@example\.org"):
        condor_ids.resolve(registry, "20")
