"""A job in a state where the action makes no sense: exit 8 saying the state and what
to do; ``wait`` tells a held job (8) from a failed one (9).

Two real jobs: one that sleeps (fetched too early, released while not held, then held)
and one whose notebook raises.
"""

from __future__ import annotations

import re

import pytest

import condor_nb
from condor_nb.errors import JobHeldError

from .conftest import Cnb

pytestmark = pytest.mark.pool


def _submitted_id(out: str) -> str:
    match = re.search(r"submitted ([0-9a-f]{8}) ", out)
    assert match, out
    return match.group(1)


def test_fetch_release_and_wait_exit_by_the_jobs_state(cnb: Cnb) -> None:
    sleeper = cnb.notebook("sleeper.ipynb", ["import time; time.sleep(3600)"])
    failing = cnb.notebook("failing.ipynb", ["raise ValueError('boom from the notebook')"])
    sleep_id = _submitted_id(cnb.run("submit", str(sleeper), "--no-cache", check=True).stdout)
    fail_id = _submitted_id(cnb.run("submit", str(failing), "--no-cache", check=True).stdout)

    # fetch before the job finished: the state, and what to do
    early = cnb.run("fetch", sleep_id)
    assert early.returncode == 8, early.stdout + early.stderr
    assert re.search(
        rf"^error: job {sleep_id} is (QUEUED|RUNNING)\b.*: its outputs are not available "
        "until it finishes",
        early.stderr,
    ), early.stderr
    assert f"hint: wait for it with `condor_nb wait {sleep_id}`" in early.stderr
    assert "Traceback" not in early.stderr
    assert not list(cnb.workdir.glob("sleeper-*")), "fetch wrote something"

    # release of a job that is not held: refused, not a silent no-op
    released = cnb.run("release", sleep_id)
    assert released.returncode == 8, released.stdout + released.stderr
    assert "only a held job can be released; nothing changed" in released.stderr

    # held: wait ends at once with exit 8, fetch says it is held and how to go on
    assert "HELD" in cnb.run("hold", sleep_id, check=True).stdout
    waited = cnb.run("wait", sleep_id)
    assert waited.returncode == 8, waited.stdout + waited.stderr
    assert f"error: job {sleep_id} is HELD (held by the user" in waited.stderr, waited.stderr
    assert f"`condor_nb release {sleep_id}`" in waited.stderr
    held_fetch = cnb.run("fetch", sleep_id)
    assert held_fetch.returncode == 8, held_fetch.stderr
    assert "is HELD" in held_fetch.stderr and "only when it finishes" in held_fetch.stderr
    with pytest.raises(JobHeldError, match=f"job {sleep_id} is HELD"):
        condor_nb.get(sleep_id).wait(raise_on_failure=True)
    assert cnb.run("rm", sleep_id, check=True).returncode == 0  # not finished: no refusal

    # a notebook that raises: exit 9 (not 8, not 1), after fetching what it produced
    failed = cnb.run("wait", fail_id, "-o", "failed-out", timeout=900)
    assert failed.returncode == 9, failed.stdout + failed.stderr
    assert f"error: job {fail_id} FAILED" in failed.stderr, failed.stderr
    assert f"condor_nb logs {fail_id}" in failed.stderr
    executed = (cnb.workdir / "failed-out" / "failing.ipynb").read_text(encoding="utf-8")
    assert "boom from the notebook" in executed
    late_hold = cnb.run("hold", fail_id)
    assert late_hold.returncode == 8, late_hold.stdout + late_hold.stderr
    assert f"job {fail_id} is FAILED" in late_hold.stderr
    assert "only a queued or running job can be held; nothing changed" in late_hold.stderr


def test_release_of_a_sweep_with_nothing_held_exits_8(cnb: Cnb) -> None:
    nb = cnb.notebook("sweeper.ipynb", ["import time; time.sleep(s)"], params="s = 0")
    out = cnb.run("sweep", "run", str(nb), "--grid", "s=3600", check=True).stdout
    match = re.search(r"sweep (s[0-9a-f]{8}):", out)
    assert match, out
    sweep_id = match.group(1)
    released = cnb.run("release", sweep_id)
    assert released.returncode == 8, released.stdout + released.stderr
    assert f"sweep {sweep_id} has no held job" in released.stderr
    assert "nothing was released" in released.stderr
    cnb.run("hold", sweep_id, check=True)
    assert cnb.run("release", sweep_id).returncode == 0  # held: released
    cnb.run("rm", sweep_id, check=True)
