"""Spec + site profile -> HTCondor submit description (pure: no I/O, no bindings).

``condor_nb render`` prints exactly what :func:`render` returns. User strings reach
the description only through :mod:`condor_nb.quoting`, so none can add or change a
submit command or a job attribute.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from condor_nb import __version__, quoting
from condor_nb.remote import JOB_JSON, WRAPPER_FILES, WRAPPER_NAME
from condor_nb.settings import Settings
from condor_nb.spec import NotebookJob
from condor_nb.templates import Template

STDOUT, STDERR, EVENT_LOG = "condor_nb.out", "condor_nb.err", "condor_nb.log"
# Parameters are stored in the job ad (for rebuilding the registry) up to this size.
_MAX_PARAMS_IN_AD = 8192
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._+@=:-]")


def worker_notebook_name(notebook: Path) -> str:
    """The notebook's file name on the worker: the user's name made transfer-safe."""
    stem = _UNSAFE_NAME.sub("_", notebook.stem) or "notebook"
    return f"{stem}.ipynb"


@dataclass(frozen=True)
class JobFiles:
    """Where a job's files live on the submit side (a per-job staging folder)."""

    job_dir: Path
    notebook_name: str

    @property
    def in_dir(self) -> Path:
        return self.job_dir / "in"

    @property
    def out_dir(self) -> Path:
        """The job's ``initialdir``: retrieved outputs land here."""
        return self.job_dir / "out"

    @property
    def notebook(self) -> Path:
        return self.in_dir / self.notebook_name

    @property
    def job_json(self) -> Path:
        return self.in_dir / JOB_JSON

    @property
    def wrapper(self) -> Path:
        return self.in_dir / WRAPPER_NAME

    @property
    def wrapper_files(self) -> list[Path]:
        """The worker wrapper's files, as staged under their worker names."""
        return [self.in_dir / name for name in WRAPPER_FILES]

    def input_paths(self, job: NotebookJob) -> list[Path]:
        return [*self.wrapper_files, self.job_json, self.notebook, *job.files]


def job_config(job: NotebookJob, *, job_id: str, notebook_name: str) -> dict[str, object]:
    """The worker wrapper's input (``condor_nb_job.json``)."""
    return {
        "job_id": job_id,
        "notebook": notebook_name,
        "parameters": dict(job.parameters),
        "kernel": job.kernel,
        "cell_timeout": job.cell_timeout,
        "autosave_seconds": 30,
        "report": True,
        "log_output": True,
    }


def _attributes(job: NotebookJob, job_id: str, files: JobFiles) -> dict[str, str]:
    params = json.dumps(dict(job.parameters), sort_keys=True, ensure_ascii=False)
    attrs = {
        "MY.CondorNbId": quoting.encode_attr(job_id),
        "MY.CondorNbName": quoting.encode_attr(job.name),
        "MY.CondorNbNotebook": quoting.encode_attr(str(job.notebook)),
        "MY.CondorNbProfile": quoting.encode_attr(job.profile),
        "MY.CondorNbVersion": quoting.encode_attr(__version__),
        "MY.CondorNbSubmitHost": quoting.encode_attr(socket.gethostname()),
        "MY.CondorNbJobDir": quoting.encode_attr(str(files.job_dir)),
        "MY.CondorNbHash": quoting.encode_attr(job.content_hash),
        "MY.WantIOProxy": "true",
    }
    if len(params) <= _MAX_PARAMS_IN_AD:
        attrs["MY.CondorNbParams"] = quoting.encode_attr(params)
    return attrs


def _merge_template(template: Template, ours: dict[str, str]) -> dict[str, str]:
    """Template commands first (as defaults), then ours; a key we set wins."""
    taken = {key.lower() for key in ours}
    merged: dict[str, str] = {}
    for key, value in template.commands:
        if key.lower() not in taken:
            merged[key] = value
    merged.update(ours)
    return merged


def _uses_image_macro(template: Template) -> bool:
    return any("CONDOR_NB_IMAGE" in value for _, value in template.commands)


def render(
    job: NotebookJob,
    *,
    job_id: str,
    files: JobFiles,
    template: Template,
    settings: Settings,
) -> dict[str, str]:
    """The complete submit description for one notebook job, as ordered commands."""
    inputs = ", ".join(quoting.transfer_path(str(p)) for p in files.input_paths(job))
    ours: dict[str, str] = {
        "CONDOR_NB_JOB_ID": job_id,
        "executable": "/usr/bin/env",
        "transfer_executable": "false",
        "arguments": f"{quoting.plain_value(settings.worker_python, what='worker_python')} "
        f"{WRAPPER_NAME}",
        "initialdir": quoting.transfer_path(str(files.out_dir)),
        "should_transfer_files": "YES",
        "when_to_transfer_output": "ON_EXIT",
        "transfer_input_files": inputs,
        "output": STDOUT,
        "error": STDERR,
        "log": EVENT_LOG,
        "request_cpus": str(job.resources.cpus),
        "request_memory": str(job.resources.memory_mib),
        "request_disk": str(job.resources.disk_mib * 1024),
    }
    if job.resources.gpus:
        ours["request_gpus"] = str(job.resources.gpus)
    if job.image:
        ours["CONDOR_NB_IMAGE"] = job.image
        if not _uses_image_macro(template):
            ours["container_image"] = job.image
    ours.update(_attributes(job, job_id, files))
    return _merge_template(template, ours)


def to_text(description: dict[str, str], *, queue: int = 1) -> str:
    """Submit-file text, as ``condor_submit`` would read it."""
    lines = [f"{key} = {value}" for key, value in description.items()]
    lines.append("queue" if queue == 1 else f"queue {queue}")
    return "\n".join(lines) + "\n"
