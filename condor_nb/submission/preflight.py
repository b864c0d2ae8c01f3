"""The checks every submission runs first (fast; no daemon is contacted).

A submission that cannot work is refused here, before anything is staged or
reaches the schedd: an expired credential or one without the scopes to submit
(:mod:`condor_nb.credentials.policy`), an image path that does not exist, a site
profile that runs jobs in a container given no image, a description that would
copy the ``BEARER_TOKEN`` environment variable into the job (getenv). A credential
that may expire before the job ends is a warning. Once everything passed, the
submit side's environment manifest is recorded in the job's folder, for
``condor_nb parity`` and ``submit --check-env`` (:mod:`condor_nb.diagnostics.parity`).

Every kind of job goes through :func:`run` (from :mod:`condor_nb.submission.submit`);
``condor_nb doctor`` reports the same credential and image checks.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from condor_nb.condor import credential_in_use
from condor_nb.contract.names import PROFILE_ATTR
from condor_nb.credentials import policy as credentials_policy
from condor_nb.errors import CredentialsError, SpecError
from condor_nb.settings import Settings
from condor_nb.store.manifests import SUBMIT_MANIFEST, read_json

#: Image references that are fetched by the worker, not checkable here.
REMOTE_IMAGE_PREFIXES = ("docker://", "oras://", "library://", "shub://", "http://", "https://")
CVMFS = Path("/cvmfs")


@dataclass(frozen=True)
class Checks:
    """Which checks a kind of job runs (all of them unless it says why not)."""

    credentials: bool = True
    image: bool = True
    secret_in_description: bool = True
    manifest: bool = True


ALL = Checks()


def image_problem(image: str | None) -> str | None:
    """What is wrong with an image path, when it can be checked from here; else None."""
    if not image or image.startswith(REMOTE_IMAGE_PREFIXES):
        return None
    path = Path(image)
    if path.is_absolute() and CVMFS in path.parents:
        repo = CVMFS / path.relative_to(CVMFS).parts[0]
        if not repo.is_dir():  # CVMFS not mounted on this host: the worker will tell
            return None
    if not path.exists():
        return f"image {image}: expected an existing image file or folder, found nothing there"
    return None


def check_image(image: str | None) -> None:
    problem = image_problem(image)
    if problem:
        raise SpecError(
            problem,
            hint="pass --image with an existing path, e.g. "
            "/cvmfs/singularity.opensciencegrid.org/ORG/IMAGE:TAG, or a docker:// reference; "
            "`condor_nb doctor` checks the configured image",
        )


def image_given(description: Mapping[str, str]) -> None:
    """A profile that runs jobs in a container needs an image to run them in."""
    image = next((v for k, v in description.items() if k.lower() == "container_image"), None)
    if image is not None:
        image = image.replace("$(CONDOR_NB_IMAGE)", description.get("CONDOR_NB_IMAGE", ""))
    if image is not None and not image.strip():
        profile = description.get(f"MY.{PROFILE_ATTR}", "this profile").strip('"')
        raise SpecError(
            f"the site profile {profile} runs jobs in a container: expected an image, got none",
            hint="pass --image /cvmfs/singularity.opensciencegrid.org/ORG/IMAGE:TAG "
            "(or set image in ~/.config/condor_nb/config.toml)",
        )


def no_secret_in(description: Mapping[str, str], environ: Mapping[str, str]) -> None:
    """getenv would copy BEARER_TOKEN into the job's environment (and its ad)."""
    getenv = next((v for k, v in description.items() if k.lower() == "getenv"), "false")
    secret = environ.get("BEARER_TOKEN", "")
    leaks = getenv.strip().lower() not in ("false", "no", "") and bool(secret)
    if leaks or (secret and any(secret in value for value in description.values())):
        raise CredentialsError(
            "the submit description would copy the BEARER_TOKEN environment variable into "
            f"the job (getenv = {getenv})",
            hint="remove getenv from the site profile, or keep the token in a file "
            "($XDG_RUNTIME_DIR/bt_u$UID) and unset BEARER_TOKEN",
        )


def credentials_ok(
    settings: Settings, environ: Mapping[str, str], wall_time: float | None
) -> list[str]:
    """Refuse an unusable credential (CredentialsError); returns the warnings."""
    report = credential_in_use.discover(settings, environ)
    verdict = credentials_policy.assess(report, wall_time=wall_time, now=time.time())
    credentials_policy.enforce(verdict)
    return list(verdict.warnings)


def submit_manifest(notebook: Path, image: str | None, kernel: str | None) -> dict[str, Any]:
    """This side's manifest, built like the worker's (report.start_manifest)."""
    import importlib

    # The worker's own module (standard library only), untyped: loaded, not type-checked.
    report: Any = importlib.import_module("condor_nb.worker.report")
    nb = read_json(notebook) or {}
    spec = nb.get("metadata", {}).get("kernelspec", {})
    requested = kernel or spec.get("name")
    manifest: dict[str, Any] = dict(report.start_manifest(nb, "submit-side"))
    manifest.update(
        side="submit",
        complete=True,
        image=image,
        kernel={"requested": requested, "name": requested, "language": spec.get("language")},
    )
    return manifest


def record_submit_manifest(
    job_dir: Path, notebook: Path, image: str | None, kernel: str | None
) -> Path:
    job_dir.mkdir(parents=True, exist_ok=True)
    path = job_dir / SUBMIT_MANIFEST
    path.write_text(
        json.dumps(submit_manifest(notebook, image, kernel), indent=1), encoding="utf-8"
    )
    return path


@dataclass(frozen=True)
class Target:
    """What a submission is checked for: the notebook (None for a dask worker), the
    image, the kernel, and the folder the manifest goes to (None: nothing staged)."""

    notebook: Path | None
    image: str | None
    kernel: str | None = None
    job_dir: Path | None = None


def run(
    settings: Settings,
    target: Target,
    description: Mapping[str, str],
    *,
    wall_time: float | None = None,
    environ: Mapping[str, str] | None = None,
    checks: Checks = ALL,
) -> list[str]:
    """Refuse a submission that cannot work; warn about one that may not last.

    Returns the warnings (also emitted as CredentialWarning). Records the submit
    side's environment manifest in ``target.job_dir`` once everything passed.
    """
    env = os.environ if environ is None else environ
    warnings: list[str] = []
    if checks.credentials:
        warnings = credentials_ok(settings, env, wall_time)
    if checks.image:
        check_image(target.image)
        image_given(description)
    if checks.secret_in_description:
        no_secret_in(description, env)
    if checks.manifest and target.job_dir is not None and target.notebook is not None:
        record_submit_manifest(target.job_dir, target.notebook, target.image, target.kernel)
    return warnings
