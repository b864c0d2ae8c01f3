"""The pure checks of the submit preflight (condor_nb.submission.preflight)."""

from __future__ import annotations

from pathlib import Path

import pytest

from condor_nb.errors import CredentialsError, SpecError
from condor_nb.submission import preflight

TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("description", "environ", "refused"),
    [
        ({"getenv": "true"}, {"BEARER_TOKEN": TOKEN}, True),
        ({"GetEnv": "True"}, {"BEARER_TOKEN": TOKEN}, True),
        ({"getenv": "false"}, {"BEARER_TOKEN": TOKEN}, False),
        ({"getenv": "true"}, {}, False),  # nothing to leak
        ({"environment": f"TOKEN={TOKEN}"}, {"BEARER_TOKEN": TOKEN}, True),  # copied by hand
        ({}, {"BEARER_TOKEN": TOKEN}, False),
    ],
)
def test_bearer_token_never_copied_into_the_job(
    description: dict[str, str], environ: dict[str, str], refused: bool
) -> None:
    if refused:
        with pytest.raises(CredentialsError) as caught:
            preflight.no_secret_in(description, environ)
        assert TOKEN not in caught.value.message and "BEARER_TOKEN" in caught.value.message
    else:
        preflight.no_secret_in(description, environ)


@pytest.mark.parametrize(
    ("description", "refused"),
    [
        ({"container_image": "$(CONDOR_NB_IMAGE)", "CONDOR_NB_IMAGE": ""}, True),
        ({"container_image": "$(CONDOR_NB_IMAGE)"}, True),
        ({"container_image": "$(CONDOR_NB_IMAGE)", "CONDOR_NB_IMAGE": "/cvmfs/x:1"}, False),
        ({"container_image": "docker://python:3.11"}, False),
        ({}, False),  # not a container profile
    ],
)
def test_container_profile_needs_an_image(description: dict[str, str], refused: bool) -> None:
    if refused:
        with pytest.raises(SpecError, match="expected an image, got none"):
            preflight.image_given({**description, "MY.CondorNbProfile": '"ospool"'})
    else:
        preflight.image_given(description)


def test_image_paths(tmp_path: Path) -> None:
    present = tmp_path / "img.sif"
    present.write_text("")
    assert preflight.image_problem(str(present)) is None
    assert preflight.image_problem("docker://python:3.11") is None
    assert preflight.image_problem(None) is None
    problem = preflight.image_problem(str(tmp_path / "missing.sif"))
    assert problem and "expected an existing image" in problem


def test_skipped_checks_are_skipped(tmp_path: Path) -> None:
    """A dask worker's preflight records no manifest (nothing staged, no notebook)."""
    target = preflight.Target(None, None, job_dir=tmp_path / "never")
    checks = preflight.Checks(credentials=False, manifest=False)
    assert preflight.run(None, target, {}, environ={}, checks=checks) == []  # type: ignore[arg-type]
    assert not (tmp_path / "never").exists()
