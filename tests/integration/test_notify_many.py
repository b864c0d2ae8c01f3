"""--notify carried into every job of a sweep and every run of a schedule, on the real
pool: each job (each run) POSTs its own payload to a loopback webhook by itself."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Cnb
from .notify_receiver import Receiver, serving

pytestmark = pytest.mark.pool


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as r:
        yield r


def hooks(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(body) for _, path, _, body in receiver.of("/hook") if path == "/hook"]


def test_each_job_of_a_sweep_notifies_for_itself(cnb: Cnb, receiver: Receiver) -> None:
    nb = cnb.notebook("fit.ipynb", ["if x == 2:\n    raise ValueError('set two fails')",
                                    "print('fitted', x)"], params="x = 0")  # fmt: skip
    hook = f"{receiver.base}/hook"
    proc = cnb.run("sweep", str(nb), "--grid", "x=1,2", "--notify", hook, "--no-cache", "--wait",
                   timeout=900)  # fmt: skip
    sweep_id = proc.stdout.split()[1].rstrip(":")
    assert sweep_id.startswith("s"), proc.stdout + proc.stderr
    table = json.loads(cnb.run("sweep", "results", sweep_id, "--json", check=True).stdout)
    rows = table["rows"] if isinstance(table, dict) else table
    states = {row["job_id"]: (row["x"], row["state"]) for row in rows}
    assert sorted(states.values()) == [(1, "COMPLETED"), (2, "FAILED")], rows

    got = hooks(receiver)
    assert len(got) == 2, got  # exactly one per job
    by_id = {body["id"]: body for body in got}
    assert set(by_id) == set(states), (by_id, states)
    for job_id, (x, state) in states.items():
        body = by_id[job_id]
        assert body["kind"] == "condor_nb.job.ended" and body["state"] == state, body
        assert body["parameters"] == {"x": x}, body
        assert body["run_id"] is None
        assert body["links"]["status"] == f"condor_nb status {job_id}"
    assert "set two fails" in next(b for b in got if b["state"] == "FAILED")["reason"]

    # Its retry (the failed set only) is a new job: it notifies under its new id.
    cnb.run("sweep", "retry", sweep_id, "--wait", timeout=900)
    table = json.loads(cnb.run("sweep", "results", sweep_id, "--json", check=True).stdout)
    rows = table["rows"] if isinstance(table, dict) else table
    (retried,) = [row["job_id"] for row in rows if row["x"] == 2]
    assert retried not in states
    again = hooks(receiver)[2:]
    assert [(b["id"], b["parameters"], b["state"]) for b in again] == [
        (retried, {"x": 2}, "FAILED")], again  # fmt: skip
    assert again[0]["links"]["status"] == f"condor_nb status {retried}", again
    assert again[0]["links"]["fetch"] == f"condor_nb fetch {retried}", again


def test_each_run_of_a_schedule_notifies_with_its_run_id(cnb: Cnb, receiver: Receiver) -> None:
    from condor_nb.schedules import api as schedules

    cnb.notebook("tick.ipynb", ["print('tick', n)"], params="n = 1")
    hook = f"{receiver.base}/hook"
    made = cnb.run("schedule", "create", "tick.ipynb", "--cron", "* * * * *", "-p", "n", "5",
                   "--notify", hook, check=True)  # fmt: skip
    schedule_id = made.stdout.split()[2]
    try:
        deadline = time.monotonic() + 240  # the first firing: within the next minute or two
        found: list[schedules.Run] = []
        while time.monotonic() < deadline and not found:
            time.sleep(5)
            found = schedules.runs(schedule_id)
    finally:
        cnb.run("schedule", "delete", schedule_id)
    assert found, "the schedule never fired"
    run = found[0]
    got = hooks(receiver)  # the run posts before it files its outputs: already here
    mine = [body for body in got if body["run_id"] == run.run_id]
    assert len(mine) == 1, (run.run_id, got)
    body = mine[0]
    assert body["id"] == schedule_id and body["state"] == run.state == "COMPLETED", body
    assert body["parameters"] == {"n": 5}, body
    assert all(b["id"] == schedule_id for b in got), got
    assert schedule_id not in cnb.run("schedule", "list", check=True).stdout
