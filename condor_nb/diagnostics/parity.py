"""Environment parity: does the worker run what the notebook server runs?

Both sides record a manifest of the same shape: the worker writes
``_condor_nb_manifest.json`` (condor_nb/worker/report.py), and at submission
condor_nb writes ``submit_manifest.json`` into the job's staging folder with the very
same functions, run here: Python, the Jupyter packages, and the versions of what the
notebook imports (parsed, never imported). The staging folder is also where
``submit --check-env`` finds "the last job that ran in that image": the newest job
whose submit manifest names the image and whose worker manifest came back.

Also here: the default image (the container the notebook server itself runs in). The
check that an image path exists and the submit manifest itself are part of every
submission's preflight (:mod:`condor_nb.submission.preflight`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from condor_nb.settings import Settings
from condor_nb.store.manifests import (
    SUBMIT_MANIFEST,
    last_worker_manifest,
    read_json,
    worker_manifest,
)
from condor_nb.submission.preflight import check_image as check_image  # (moved there)
from condor_nb.submission.preflight import image_problem as image_problem
from condor_nb.submission.preflight import submit_manifest

#: Apptainer / Singularity set these inside a container to the image's path.
IMAGE_VARIABLES = ("APPTAINER_CONTAINER", "SINGULARITY_CONTAINER")


@dataclass(frozen=True)
class Difference:
    what: str  # "python", "package papermill", "import numpy", "kernel"
    submit: str
    worker: str

    def __str__(self) -> str:
        return f"{self.what}: here {self.submit}, on the worker {self.worker}"


def default_image(environ: Mapping[str, str] | None = None) -> str | None:
    """The image this process runs in (Apptainer/Singularity), if any."""
    env = os.environ if environ is None else environ
    for name in IMAGE_VARIABLES:
        if env.get(name):
            return env[name]
    return None


def _import_version(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return "not recorded"
    if entry.get("stdlib"):
        return "standard library"
    if entry.get("version"):
        return str(entry["version"])
    if entry.get("local_file"):
        return "a local file"
    if entry.get("helper"):
        return str(entry["helper"])
    return "not installed"


def compare(submit: Mapping[str, Any], worker: Mapping[str, Any]) -> list[Difference]:
    """What differs between the two manifests (hosts and paths are expected to differ)."""
    diffs: list[Difference] = []
    s_py, w_py = submit.get("python") or {}, worker.get("python") or {}
    if not isinstance(w_py, dict):  # a placeholder manifest holds only a version string
        w_py = {"version": w_py}
    for key in ("implementation", "version"):
        a, b = s_py.get(key), w_py.get(key)
        if a and b and a != b:
            diffs.append(Difference(f"python {key}", str(a), str(b)))
    s_pk, w_pk = submit.get("packages") or {}, worker.get("packages") or {}
    for name in sorted(set(s_pk) | set(w_pk)):
        a, b = s_pk.get(name), w_pk.get(name)
        if a != b and name in w_pk:
            diffs.append(Difference(f"package {name}", a or "not installed", b or "not installed"))
    diffs.extend(_executor_difference(s_pk, worker))
    s_im, w_im = submit.get("imports") or {}, worker.get("imports") or {}
    for module in sorted(set(s_im) & set(w_im)):  # one side not recorded: nothing to compare
        s_entry, w_entry = s_im[module], w_im[module]
        if w_entry.get("helper") and module == "condor_nb":
            continue  # the notebook's condor_nb.record() worked through the shipped helper
        a, b = _import_version(s_entry), _import_version(w_entry)
        if a != b:
            diffs.append(Difference(f"import {module}", a, b))
    s_k, w_k = submit.get("kernel") or {}, worker.get("kernel") or {}
    if w_k.get("fallback") or (
        s_k.get("requested") and w_k.get("name") not in (None, s_k["requested"])
    ):
        diffs.append(Difference("kernel", str(s_k.get("requested")), str(w_k.get("name"))))
    return diffs


def _executor_difference(
    submit_packages: Mapping[str, Any], worker: Mapping[str, Any]
) -> list[Difference]:
    """The worker ran the papermill condor_nb shipped with the job (it has none of its own)."""
    executor = worker.get("executor") or {}
    if executor.get("source") != "shipped":
        return []
    here = f"installed {submit_packages.get('papermill') or '(version unknown)'}"
    why = f" ({executor['reason']})" if executor.get("reason") else ""
    there = f"{executor.get('papermill') or '?'} shipped by condor_nb{why}"
    return [Difference("papermill", here, there)]


@dataclass(frozen=True)
class ParityReport:
    job_id: str
    submit: dict[str, Any] | None
    worker: dict[str, Any] | None
    differences: list[Difference]

    def lines(self) -> list[str]:
        if self.submit is None:
            return [f"job {self.job_id}: no submit-side manifest (submitted before parity existed)"]
        if self.worker is None:
            return [
                f"job {self.job_id}: the worker's manifest is not back yet "
                f"(`condor_nb wait {self.job_id}`)"
            ]
        if not self.differences:
            py = (self.worker.get("python") or {}).get("version", "?")
            return [f"job {self.job_id}: no differences (Python {py}, same packages and imports)"]
        return [f"job {self.job_id}: {len(self.differences)} difference(s)"] + [
            f"  {d}" for d in self.differences
        ]


def for_job(job_id: str, job_dir: Path) -> ParityReport:
    submit = read_json(job_dir / SUBMIT_MANIFEST)
    worker = worker_manifest(job_dir)
    diffs = compare(submit, worker) if submit and worker else []
    return ParityReport(job_id, submit, worker, diffs)


def check_env(
    settings: Settings, notebook: Path, image: str | None, kernel: str | None
) -> list[str]:
    """``submit --check-env``: this side vs. the last worker that ran in the same image."""
    found = last_worker_manifest(settings, image)
    where = f"image {image}" if image else "the pool's own environment (no image)"
    if found is None:
        return [f"check-env: no finished job has run in {where} yet; nothing to compare"]
    job_id, worker = found
    diffs = compare(submit_manifest(notebook, image, kernel), worker)
    if not diffs:
        return []
    head = f"check-env: {len(diffs)} difference(s) with the worker of job {job_id} ({where}):"
    return [head, *(f"  {d}" for d in diffs)]
