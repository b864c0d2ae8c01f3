"""Every shipped site profile renders a description the real schedd accepts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from condor_nb import api
from condor_nb.condor import schedd
from condor_nb.errors import ConfigError, SpecError
from condor_nb.submission import staging, templates

pytestmark = pytest.mark.pool

SHIPPED = ["personal", "campus", "ospool", "dask-worker"]
#: Attributes each profile must leave in the stored job ad.
EXPECTED: dict[str, dict[str, Any]] = {
    "personal": {"JobUniverse": 5},
    "campus": {"JobUniverse": 5},
    "ospool": {
        "JobDurationCategory": "Medium",
        "ContainerImage": "/cvmfs/singularity.opensciencegrid.org/htc/rocky:9",
    },
    "dask-worker": {"IsDaskWorker": True, "JobMaxVacateTime": 10},
}


def test_every_packaged_profile_is_listed(cnb: Any) -> None:
    proc = cnb.run("profiles", check=True)
    for name in SHIPPED:
        assert name in proc.stdout
    assert "packaged" in proc.stdout


@pytest.mark.parametrize("profile", SHIPPED)
def test_profile_is_accepted_by_the_schedd_on_hold(cnb: Any, profile: str) -> None:
    from condor_nb.spec.job import notebook_job

    nb = cnb.notebook("p.ipynb", ["print(x)"], params="x = 1")
    settings = cnb.settings(profile=profile)
    image = EXPECTED[profile].get("ContainerImage")
    spec = notebook_job(nb, {"x": 2}, settings=settings, profile=profile, image=image)
    job_id = api.new_job_id()
    files, description = api.prepare(spec, settings, job_id)
    staging.stage_job(spec, files, job_id)  # initialdir and inputs exist, as at a real submission
    # Accepted, stored, never run. The schedd refuses `hold = true` with spooling
    # ("Cannot set hold to 'true' when using -remote or -spool"), so this one submission
    # is not spooled: no inputs are needed by a job that never runs.
    description = {**description, "hold": "true"}
    client: Any = schedd.client_for(settings)
    client.summary("false")  # a retried call first: renews a session a pool restart made stale
    bindings = schedd.configure_bindings(settings)
    result = client._schedd.submit(bindings.Submit(description), spool=False)
    cluster = int(result.cluster())
    try:
        assert result.num_procs() == 1
        ads = client.query(f"ClusterId == {cluster}", [])
        assert ads, "the schedd did not store the job"
        ad = ads[0]
        assert ad["JobStatus"] == 5  # held, as asked
        for key, value in EXPECTED[profile].items():
            assert ad.get(key) == value, (key, ad.get(key))
        assert ad["CondorNbProfile"] == profile
    finally:
        client.act("remove", f"ClusterId == {cluster}", "condor_nb profile test")


def test_ospool_without_image_is_refused_before_submitting(cnb: Any) -> None:
    nb = cnb.notebook("p.ipynb", ["print(1)"])
    proc = cnb.run("submit", str(nb), "--profile", "ospool")
    assert proc.returncode == SpecError.exit_code
    assert "expected an image, got none" in proc.stderr
    assert "--image /cvmfs/" in proc.stderr


def test_unknown_profile_lists_the_available_ones(cnb: Any) -> None:
    nb = cnb.notebook("p.ipynb", ["print(1)"])
    proc = cnb.run("submit", str(nb), "--profile", "nosuchsite")
    assert proc.returncode == ConfigError.exit_code
    assert "unknown site profile 'nosuchsite'" in proc.stderr
    assert "campus, dask-worker, ospool, personal" in proc.stderr


def test_template_syntax_error_names_file_and_line(cnb: Any, tmp_path: Path) -> None:
    folder = tmp_path / "site-profiles"
    folder.mkdir()
    (folder / "broken.sub").write_text(
        "# broken: a site profile with a mistake\nuniverse = vanilla\n\nrequest_cpus 4\n"
    )
    nb = cnb.notebook("p.ipynb", ["print(1)"])
    env_path = {"CONDOR_NB_PROFILES_PATH": str(folder)}
    cnb.env.update(env_path)
    proc = cnb.run("submit", str(nb), "--profile", "broken")
    assert proc.returncode == ConfigError.exit_code
    assert f"{folder / 'broken.sub'}:4: expected 'command = value'" in proc.stderr
    listed = cnb.run("profiles", check=True).stdout
    assert "broken" in listed and "CONDOR_NB_PROFILES_PATH" in listed and "BROKEN" in listed


def test_user_profile_shadows_a_packaged_one(cnb: Any, tmp_path: Path) -> None:
    config_home = tmp_path / "xdg"
    (config_home / "condor_nb" / "profiles").mkdir(parents=True)
    mine = config_home / "condor_nb" / "profiles" / "campus.sub"
    mine.write_text("# campus: my department's pool\nuniverse = vanilla\n")
    cnb.env["XDG_CONFIG_HOME"] = str(config_home)
    listed = cnb.run("profiles", check=True).stdout
    line = next(row for row in listed.splitlines() if row.startswith("campus"))
    assert "user" in line and str(mine) in line and "my department's pool" in line


def test_nonexistent_image_path_is_refused(cnb: Any) -> None:
    nb = cnb.notebook("p.ipynb", ["print(1)"])
    missing = "/nonexistent/images/analysis.sif"
    proc = cnb.run("submit", str(nb), "--image", missing)
    assert proc.returncode == SpecError.exit_code
    assert f"image {missing}: expected an existing image file or folder" in proc.stderr
    assert "hint:" in proc.stderr
    assert not os.path.exists(missing)
    assert templates.available()["personal"][0] == "packaged"
