"""Schedules on the real pool, through the CLI and the Python API (one cron job, ~2 minutes)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from .conftest import Cnb

pytestmark = pytest.mark.pool


def test_schedule_lifecycle_through_the_cli(cnb: Cnb) -> None:
    from condor_nb.schedules import api as schedules

    cnb.notebook("tick.ipynb", ["import time; print('tick', n, time.time())",
                                "import os; print('token', os.environ['NB_TOKEN'][::-1])",
                                "print(open('data.csv').read())"], params="n = 1")  # fmt: skip
    (cnb.workdir / "data.csv").write_text("col\nfrom-the-input-file\n", encoding="utf-8")
    cnb.env["NB_TOKEN"] = "terces"
    bad = cnb.run("schedule", "create", "tick.ipynb", "--cron", "* 25 * * *")
    assert bad.returncode == 2 and "hour field" in bad.stderr, bad.stderr
    made = cnb.run(
        "schedule", "create", "tick.ipynb", "--cron", "* * * * *", "-p", "n", "5",
        "--secret", "NB_TOKEN", "--files", "data.csv", check=True,
    )  # fmt: skip
    schedule_id = made.stdout.split()[2]
    try:
        assert "ACTIVE" in cnb.run("schedule", "list", check=True).stdout
        # The schedule fires with no condor_nb process alive; wait for its first run.
        deadline = time.monotonic() + 200
        found: list[schedules.Run] = []
        while time.monotonic() < deadline and not found:
            time.sleep(10)
            found = schedules.runs(schedule_id)
        assert found, "the schedule never fired"
        run = found[0]
        assert run.state == "COMPLETED" and run.directory
        executed = Path(run.files["output.ipynb"]).read_text(encoding="utf-8")
        assert "tick 5" in json.dumps(json.loads(executed))
        # The run had its secret and its input file; the secret stays spooled for the
        # next firing (the run sent nothing back over it).
        assert "token secret" in executed and "from-the-input-file" in executed
        ad = _ad(schedule_id)
        assert "condor_nb_secrets.json" not in str(ad.get("SpooledOutputFiles", ""))

        updated = cnb.run(
            "schedule", "update", schedule_id, "-p", "n", "6", "--cron", "*/5 * * * *", check=True
        )
        assert "*/5 * * * *" in updated.stdout
        current = schedules.get(schedule_id)
        assert current.parameters == {"n": 6}
        assert [r.run_id for r in schedules.runs(schedule_id)][: len(found)] == [
            r.run_id for r in found
        ]  # the history survives the replacement

        assert "PAUSED" in cnb.run("schedule", "pause", schedule_id, check=True).stdout
        assert "ACTIVE" in cnb.run("schedule", "resume", schedule_id, check=True).stdout
    finally:
        cnb.run("schedule", "delete", schedule_id)
    assert schedule_id not in cnb.run("schedule", "list", check=True).stdout
    missing = cnb.run("schedule", "pause", schedule_id)
    assert missing.returncode == 7 and "no schedule" in missing.stderr


def _ad(schedule_id: str) -> dict[str, object]:
    from condor_nb.condor import schedd
    from condor_nb.settings import load_settings

    client = schedd.client_for(load_settings())
    ads = client.query(f'CondorNbScheduleId == "{schedule_id}"', ["SpooledOutputFiles"])
    assert ads, schedule_id
    return dict(ads[0])
