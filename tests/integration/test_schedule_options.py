"""A schedule takes the job options a single job takes (wall time, input files, secrets,
...): the schedd's job ad holds them, on create and after an update (no run needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import Cnb

pytestmark = pytest.mark.pool

SECRET_VALUE = "s3cr3t-value-never-in-an-ad"


def _ad(cnb: Cnb, schedule_id: str) -> dict[str, Any]:
    from condor_nb.condor import schedd

    client = schedd.client_for(cnb.settings())
    ads = client.query(f'CondorNbScheduleId == "{schedule_id}" && JobStatus =!= 3', [])
    assert len(ads) == 1, ads
    return dict(ads[0])


def test_schedule_create_and_update_pass_every_option_to_the_job(cnb: Cnb) -> None:
    from condor_nb.schedules import api as schedules

    cnb.notebook("daily.ipynb", ["print(open('data.csv').read())"], params="n = 1")
    (cnb.workdir / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    cnb.env["NB_TOKEN"] = SECRET_VALUE
    made = cnb.run(
        "schedule", "create", "daily.ipynb", "--cron", "0 0 1 1 *", "--wall-time", "10m",
        "--files", "data.csv", "--secret", "NB_TOKEN", "--memory", "512MB", "--gpus", "0",
        "-f", str(_params_file(cnb.workdir)), check=True,
    )  # fmt: skip
    schedule_id = made.stdout.split()[2]
    try:
        ad = _ad(cnb, schedule_id)
        # The wall time: the wrapper's alarm, and HTCondor's own limit 300 s behind it.
        assert ad["AllowedExecuteDuration"] == 600 + 300
        inputs = [Path(p.strip()).name for p in str(ad["TransferInput"]).split(",")]
        assert "data.csv" in inputs and "condor_nb_secrets.json" in inputs, inputs
        assert "condor_nb_secrets.json" in str(ad["EncryptInputFiles"])
        assert ad["RequestMemory"] == 512
        assert SECRET_VALUE not in repr(ad)
        folder = cnb.settings().home / "schedules" / schedule_id
        assert not (folder / "in" / "condor_nb_secrets.json").exists()  # the schedd has it
        job_json = (folder / "in" / "condor_nb_job.json").read_text(encoding="utf-8")
        assert '"wall_time": 600.0' in job_json
        assert schedules.get(schedule_id).parameters == {"n": 7}  # from -f params.yaml

        # An update changes what it names and keeps the rest (files, secrets).
        cnb.run("schedule", "update", schedule_id, "--wall-time", "20m", check=True)
        ad = _ad(cnb, schedule_id)
        assert ad["AllowedExecuteDuration"] == 1200 + 300
        inputs = [Path(p.strip()).name for p in str(ad["TransferInput"]).split(",")]
        assert "data.csv" in inputs and "condor_nb_secrets.json" in inputs, inputs
        assert ad["RequestMemory"] == 512

        # A schedule has no --retries (its next firing is its next run): a usage error.
        refused = cnb.run("schedule", "create", "daily.ipynb", "--cron", "0 0 1 1 *",
                          "--retries", "2")  # fmt: skip
        assert refused.returncode == 2 and "next firing" in refused.stderr, refused.stderr
    finally:
        cnb.run("schedule", "delete", schedule_id)


def _params_file(workdir: Path) -> Path:
    path = workdir / "params.yaml"
    path.write_text("n: 7\n", encoding="utf-8")
    return path
