"""After a submission condor_nb asks the schedd for a negotiation cycle, as condor_submit does.

``htcondor2.Schedd.submit()`` sends no reschedule. The pool's own cycles are 2 s
apart here, so the time to start cannot show it; what is checked is that the real
schedd accepted exactly one RESCHEDULE per submission (the bindings raise when the
command is not delivered), whether one job or a sweep of several procs. (A 23.9
schedd also reschedules by itself on new jobs, measured with D_FULLDEBUG: see
docs/developers.md; this keeps condor_nb's behaviour that of condor_submit on any
schedd.) Time to start is measured by benchmarks/bench_start.py.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

import condor_nb


def test_one_reschedule_per_submission(cnb: Any, caplog: pytest.LogCaptureFixture) -> None:
    nb = cnb.notebook("r.ipynb", ["print(a)"], params="a = 1")
    caplog.set_level(logging.DEBUG, logger="condor_nb.condor.schedd")

    job = condor_nb.submit(nb, parameters={"a": 7}, cache=False)
    sweep = condor_nb.sweep(nb, grid={"a": [1, 2, 3]}, cache=False)

    asked = [r for r in caplog.records if "to reschedule" in r.getMessage()]
    assert [r.levelno for r in asked] == [logging.DEBUG, logging.DEBUG], caplog.text
    assert all("asked schedd" in r.getMessage() for r in asked), caplog.text
    assert job.wait(timeout=300).state.value == "COMPLETED"
    assert sweep.wait(timeout=300).done
