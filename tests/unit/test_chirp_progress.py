"""The worker's progress reporter: immediate set_job_attr, coalesced to one per interval.

A stand-in condor_chirp records its calls; the real one is exercised against the pool
in tests/integration/test_live_progress.py.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

import pytest

import condor_nb.worker as remote


def _report() -> Any:
    spec = importlib.util.spec_from_file_location("condor_nb_report_progress", remote.REPORT_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _calls(log: Path, n: int) -> list[str]:
    for _ in range(200):  # a bound on waiting for the child processes, not a timing
        lines = log.read_text().splitlines() if log.exists() else []
        if len(lines) >= n:
            return lines
        time.sleep(0.05)
    return log.read_text().splitlines() if log.exists() else []


def test_updates_are_immediate_then_coalesced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "condor_chirp"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    (tmp_path / ".chirp.config").write_text("127.0.0.1 1 cookie\n")
    monkeypatch.setenv("_CONDOR_CHIRP_CONFIG", str(tmp_path / ".chirp.config"))
    chirp = _report().Chirp(every=0.5)

    chirp.update("cell 1 of 4")  # the first: at once
    assert _calls(log, 1) == ['set_job_attr CondorNbProgress "cell 1 of 4"']
    chirp.update("cell 2 of 4")  # too soon: kept...
    chirp.update("cell 3 of 4")  # ...and replaced by the latest
    assert _calls(log, 2)[1:] == ['set_job_attr CondorNbProgress "cell 3 of 4"']
    chirp.update("cell 3 of 4", force=True)  # unchanged: nothing sent
    time.sleep(0.6)
    chirp.update("done", force=True)
    assert _calls(log, 3)[2:] == ['set_job_attr CondorNbProgress "done"']
    assert len(_calls(log, 4)) == 3


def test_condor_chirp_is_found_next_to_condor_bin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The starter sets _CONDOR_BIN (e.g. /usr/bin) but puts libexec on no PATH."""
    exe = tmp_path / "usr" / "libexec" / "condor" / "condor_chirp"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("_CONDOR_BIN", str(tmp_path / "usr" / "bin"))
    assert _report().find_chirp() == str(exe)
