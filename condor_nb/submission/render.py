"""Spec + site profile -> HTCondor submit description (pure: no I/O, no bindings).

``condor_nb render`` prints exactly what :func:`render` returns. User strings reach
the description only through :mod:`condor_nb.spec.quoting`, so none can add or change a
submit command or a job attribute. A sweep is one description whose per-proc
values (id, index, parameters) come from itemdata: :func:`render_sweep`.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from condor_nb import __version__
from condor_nb.contract import names as attr
from condor_nb.contract.layout import OUT_DIR, PROCS_DIR, JobFiles
from condor_nb.contract.names import (
    EVENT_LOG,
    EXIT_CODES,
    JOB_JSON,
    POST_NAME,
    STDERR,
    STDOUT,
    WRAPPER_NAME,
)
from condor_nb.settings import Settings
from condor_nb.spec import notify, quoting
from condor_nb.spec.job import NotebookJob
from condor_nb.spec.usage import WALL_TIME_GRACE as _WALL_TIME_GRACE
from condor_nb.submission.templates import Template

# Parameters are stored in the job ad (for rebuilding the registry) up to this size.
_MAX_PARAMS_IN_AD = 8192
# The wrapper's "bad input" exit: retrying cannot help.
_NO_RETRY_EXIT = EXIT_CODES["input_error"]
# HTCondor's own limit stays this far behind the wrapper's, so that the wrapper
# (which saves the partial notebook) is the one that stops an overlong job.
# itemdata keys of a sweep (one value per proc).
ITEM_ID, ITEM_INDEX, ITEM_PARAMS = "condor_nb_id", "condor_nb_index", "condor_nb_params"


def job_config(job: NotebookJob, *, job_id: str, notebook_name: str) -> dict[str, object]:
    """The worker wrapper's input (``condor_nb_job.json``)."""
    return {
        "job_id": job_id,
        "notebook": notebook_name,
        "parameters": dict(job.parameters),
        "kernel": job.kernel,
        "cell_timeout": job.cell_timeout,
        "wall_time": job.wall_time,
        "autosave_seconds": 30,
        "report": True,
        "log_output": True,
        "name": job.name,
        "notify": notify.worker_config(job.notify, job_id),
    }


def params_attr(parameters: Mapping[str, Any]) -> str | None:
    """The parameters as the (encoded) content of ``CondorNbParams``, if small enough."""
    text = json.dumps(dict(parameters), sort_keys=True, ensure_ascii=False)
    return quoting.encode_text(text) if len(text) <= _MAX_PARAMS_IN_AD else None


def _attributes(job: NotebookJob, job_id: str, files: JobFiles) -> dict[str, str]:
    attrs = {
        f"MY.{attr.ID_ATTR}": quoting.encode_attr(job_id),
        f"MY.{attr.NAME_ATTR}": quoting.encode_attr(job.name),
        f"MY.{attr.NOTEBOOK_ATTR}": quoting.encode_attr(str(job.notebook)),
        f"MY.{attr.PROFILE_ATTR}": quoting.encode_attr(job.profile),
        f"MY.{attr.VERSION_ATTR}": quoting.encode_attr(__version__),
        f"MY.{attr.SUBMIT_HOST_ATTR}": quoting.encode_attr(socket.gethostname()),
        f"MY.{attr.JOB_DIR_ATTR}": quoting.encode_attr(str(files.job_dir)),
        f"MY.{attr.HASH_ATTR}": quoting.encode_attr(job.content_hash),
        "MY.WantIOProxy": "true",
    }
    encoded = params_attr(job.parameters)
    if encoded is not None:
        attrs[f"MY.{attr.PARAMS_ATTR}"] = f'"{encoded}"'
    return attrs


def _merge_template(template: Template, ours: dict[str, str]) -> dict[str, str]:
    """Template commands first (as defaults), then ours; a key we set wins."""
    taken = {key.lower() for key in ours}
    merged = {key: value for key, value in template.commands if key.lower() not in taken}
    merged.update(ours)
    return merged


def _uses_image_macro(template: Template) -> bool:
    return any("CONDOR_NB_IMAGE" in value for _, value in template.commands)


def _limits(job: NotebookJob) -> dict[str, str]:
    out: dict[str, str] = {}
    if job.retries:
        out["max_retries"] = str(job.retries)
        out["retry_until"] = f"ExitCode == {_NO_RETRY_EXIT}"
    if job.wall_time:
        out["allowed_execute_duration"] = str(int(job.wall_time) + _WALL_TIME_GRACE)
    return out


def render(
    job: NotebookJob,
    *,
    job_id: str,
    files: JobFiles,
    template: Template,
    settings: Settings,
) -> dict[str, str]:
    """The complete submit description for one notebook job, as ordered commands."""
    shared = [*files.wrapper_files, files.notebook, *job.files]
    if job.secrets:
        shared.append(files.secrets)
    inputs = [quoting.transfer_path(str(p)) for p in shared]
    inputs.insert(len(files.wrapper_files), quoting.transfer_path(str(files.job_json)))
    if job.secrets:  # encrypted in transit whatever the pool's default (spool and worker)
        secret_inputs = {"encrypt_input_files": quoting.transfer_path(str(files.secrets))}
    else:
        secret_inputs = {}
    python = quoting.plain_value(settings.worker_python, what="worker_python")
    ours: dict[str, str] = {
        "CONDOR_NB_JOB_ID": job_id,
        "executable": "/usr/bin/env",
        "transfer_executable": "false",
        "arguments": f"{python} {WRAPPER_NAME}",
        # After the job, before the output transfer: no special file can hang it.
        "MY.PostCmd": '"/usr/bin/env"',
        "MY.PostArguments": f'"{python} {POST_NAME}"',
        "initialdir": quoting.transfer_path(str(files.out_dir)),
        "should_transfer_files": "YES",
        "when_to_transfer_output": "ON_EXIT",
        "transfer_input_files": ", ".join(inputs),
        "output": STDOUT,
        "error": STDERR,
        "log": EVENT_LOG,
        "request_cpus": str(job.resources.cpus),
        "request_memory": str(job.resources.memory_mib),
        "request_disk": str(job.resources.disk_mib * 1024),
        **_limits(job),
        **notify.submit_commands(job.notify),
        **secret_inputs,
    }
    if job.resources.gpus:
        ours["request_gpus"] = str(job.resources.gpus)
    if job.image:
        ours["CONDOR_NB_IMAGE"] = job.image
        if not _uses_image_macro(template):
            ours["container_image"] = job.image
    ours.update(_attributes(job, job_id, files))
    if settings.shared_filesystem:
        # Not spooled: the shadow writes outputs straight into initialdir and the job
        # leaves the queue when done. The registry (and a rebuild) must know.
        ours[f"MY.{attr.SPOOLED_ATTR}"] = "false"
    return _merge_template(template, ours)


@dataclass(frozen=True)
class SweepEntry:
    """One proc of a sweep: its index in the sweep, its job id, its parameters."""

    index: int
    job_id: str
    parameters: Mapping[str, Any]


def render_sweep(
    job: NotebookJob,
    *,
    sweep_id: str,
    files: JobFiles,
    entries: Sequence[SweepEntry],
    template: Template,
    settings: Settings,
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """One description for the whole sweep, and the itemdata (one dict per proc)."""
    description = render(job, job_id="", files=files, template=template, settings=settings)
    index = f"$({ITEM_INDEX})"
    per_proc_json = quoting.transfer_path(str(files.job_dir / PROCS_DIR)) + f"/{index}/{JOB_JSON}"
    inputs = description["transfer_input_files"].split(", ")
    inputs[len(files.wrapper_files)] = per_proc_json
    description.update(
        {
            "CONDOR_NB_JOB_ID": f"$({ITEM_ID})",
            "initialdir": quoting.transfer_path(str(files.job_dir / OUT_DIR)) + f"/{index}",
            "transfer_input_files": ", ".join(inputs),
            f"MY.{attr.ID_ATTR}": f'"$({ITEM_ID})"',
            f"MY.{attr.PARAMS_ATTR}": f'"$({ITEM_PARAMS})"',
            f"MY.{attr.SWEEP_ATTR}": quoting.encode_attr(sweep_id),
            f"MY.{attr.SWEEP_INDEX_ATTR}": index,
        }
    )
    itemdata = [
        {ITEM_ID: e.job_id, ITEM_INDEX: str(e.index), ITEM_PARAMS: params_attr(e.parameters) or ""}
        for e in entries
    ]
    return description, itemdata


def is_spooled(description: Mapping[str, str]) -> bool:
    """Whether this description is submitted with its inputs uploaded (spooled)."""
    return description.get(f"MY.{attr.SPOOLED_ATTR}") != "false"


def to_text(description: dict[str, str], *, queue: int = 1) -> str:
    """Submit-file text, as ``condor_submit`` would read it."""
    lines = [f"{key} = {value}" for key, value in description.items()]
    lines.append("queue" if queue == 1 else f"queue {queue}")
    return "\n".join(lines) + "\n"
