"""Worker options + site profile -> the submit description of a batch of dask workers.

Pure (no I/O, no bindings, no dask). One description serves a whole scale-up
batch: the per-worker values (its dask name and condor_nb id) are itemdata, so N
workers are one HTCondor cluster of N procs. User strings reach the description
only through :mod:`condor_nb.spec.quoting`.

The jobs carry ``CondorNb*`` attributes like notebook jobs (``condor_nb q`` lists
them, the registry can be rebuilt from them) plus ``CondorNbKind = "dask-worker"``
and ``CondorNbDaskSession``; and a policy so that none outlives its session:
``periodic_remove`` once the session's heartbeat is older than the timeout (or the
optional lifetime is over), and ``leave_in_queue = false`` so that a worker that
exits (its scheduler went away: ``--death-timeout``) leaves the queue at once
instead of waiting, as spooled jobs do, for its outputs to be retrieved.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from condor_nb import __version__
from condor_nb.condor.status import RUNNING
from condor_nb.contract import names
from condor_nb.dask.options import WorkerOptions
from condor_nb.spec import quoting
from condor_nb.submission.templates import Template

KIND = "dask-worker"
HEARTBEAT_ATTR, SESSION_ATTR = names.HEARTBEAT_ATTR, names.DASK_SESSION_ATTR
NAME_MACRO, ID_MACRO = "CnbWorkerName", "CnbId"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class BatchContext:
    """What every worker of a session shares, beyond its options."""

    scheduler: str  # the address the workers are told to connect to
    client: str  # "host:pid" of the process that holds the scheduler
    staging_dir: str  # the jobs' initialdir on the submit side
    heartbeat: int  # schedd time of the latest heartbeat


def session_constraint(session_id: str) -> str:
    """ClassAd constraint for one session's worker jobs (ids are [0-9a-f] only)."""
    return f'{SESSION_ATTR} == "{session_id}"'


def batch_command(command: str, worker_name: str) -> str:
    """dask-jobqueue's worker command with its ``--name`` made a per-proc macro.

    ``$`` in the command is made literal first, so only our macro expands.
    """
    if not _SAFE_NAME.fullmatch(worker_name):
        raise ValueError(f"worker name {worker_name!r} has characters HTCondor cannot carry")
    escaped = quoting.escape_macros(command)
    needle = f"--name {worker_name}"
    if escaped.count(needle) != 1:
        raise ValueError(f"the worker command does not contain {needle!r} exactly once")
    return escaped.replace(needle, f"--name $({NAME_MACRO})")


def quote_arguments(args: Sequence[str]) -> str:
    """HTCondor's "new" arguments syntax (double quotes around the whole list)."""
    quoted = []
    for arg in args:
        text = arg.replace("'", "''").replace('"', '""')
        if not text or any(c in text for c in " \t'"):
            text = f"'{text}'"
        quoted.append(text)
    return '"' + " ".join(quoted) + '"'


def removal_policy(options: WorkerOptions) -> str:
    """The schedd removes the job when the session stops beating (or its lifetime is over)."""
    policy = (
        f"({HEARTBEAT_ATTR} =!= undefined && time() - {HEARTBEAT_ATTR} > "
        f"{options.heartbeat_timeout})"
    )
    if options.lifetime is not None:
        policy += (
            f" || (JobStatus == {RUNNING}"
            f" && time() - JobCurrentStartDate > {int(options.lifetime) + 60})"
        )
    return policy


def _attributes(options: WorkerOptions, context: BatchContext) -> dict[str, str]:
    enc = quoting.encode_attr
    sid = options.session_id
    return {
        f"MY.{names.ID_ATTR}": f'"$({ID_MACRO})"',
        f"MY.{names.NAME_ATTR}": f'"$({NAME_MACRO})"',
        f"MY.{names.NOTEBOOK_ATTR}": enc(f"dask session {sid}"),
        f"MY.{names.PROFILE_ATTR}": enc(options.profile),
        f"MY.{names.VERSION_ATTR}": enc(__version__),
        f"MY.{names.SUBMIT_HOST_ATTR}": enc(socket.gethostname()),
        f"MY.{names.JOB_DIR_ATTR}": enc(context.staging_dir),
        f"MY.{names.KIND_ATTR}": enc(KIND),
        f"MY.{SESSION_ATTR}": enc(sid),
        f"MY.{names.DASK_SCHEDULER_ATTR}": enc(context.scheduler),
        f"MY.{names.DASK_CLIENT_ATTR}": enc(context.client),
        f"MY.{HEARTBEAT_ATTR}": str(int(context.heartbeat)),
        "MY.DaskWorkerName": f'"$({NAME_MACRO})"',
    }


def _merge(templates: Sequence[Template], ours: dict[str, str]) -> dict[str, str]:
    """Template commands first (a later template wins), then ours; a key we set wins."""
    taken = {key.lower() for key in ours}
    defaults: dict[str, tuple[str, str]] = {}
    for template in templates:
        for key, value in template.commands:
            if key.lower() not in taken:
                defaults[key.lower()] = (key, value)
    merged = dict(defaults.values())
    merged.update(ours)
    return merged


def _uses_image_macro(templates: Sequence[Template]) -> bool:
    return any("CONDOR_NB_IMAGE" in value for t in templates for _, value in t.commands)


def render_batch(
    options: WorkerOptions,
    *,
    command: str,
    templates: Sequence[Template],
    context: BatchContext,
) -> dict[str, str]:
    """The submit description shared by every worker of a batch (a shell runs ``command``)."""
    ours: dict[str, str] = {
        "CONDOR_NB_JOB_ID": f"$({ID_MACRO})",
        "executable": "/bin/sh",
        "transfer_executable": "false",
        "arguments": quote_arguments(["-c", command]),
        "initialdir": quoting.transfer_path(context.staging_dir),
        "should_transfer_files": "YES",
        "when_to_transfer_output": "ON_EXIT",
        "output": f"$({NAME_MACRO}).out",
        "error": f"$({NAME_MACRO}).err",
        "batch_name": f"dask-{options.session_id}",
        "request_cpus": str(options.cpus),
        "request_memory": str(options.memory_mib),
        "request_disk": str(options.disk_mib * 1024),
        "leave_in_queue": "false",
        "periodic_remove": removal_policy(options),
    }
    if options.gpus:
        ours["request_gpus"] = str(options.gpus)
    if options.image:
        ours["CONDOR_NB_IMAGE"] = options.image
        if not _uses_image_macro(templates):
            ours["container_image"] = options.image
    ours.update(_attributes(options, context))
    return _merge(templates, ours)


def itemdata(workers: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """One item per worker: (dask worker name, condor_nb id)."""
    for name, job_id in workers:
        if not _SAFE_NAME.fullmatch(name) or not re.fullmatch(r"[0-9a-f]+", job_id):
            raise ValueError(f"unsafe worker name or id: {name!r}, {job_id!r}")
    return [{NAME_MACRO: name, ID_MACRO: job_id} for name, job_id in workers]


def to_text(description: dict[str, str], items: Sequence[dict[str, str]]) -> str:
    """Submit-file text, as ``condor_submit`` would read it (for ``cluster.job_script()``)."""
    lines = [f"{key} = {value}" for key, value in description.items()]
    if items:
        keys = list(items[0])
        lines.append(f"queue {','.join(keys)} from (")
        lines.extend("  " + ", ".join(item[k] for k in keys) for item in items)
        lines.append(")")
    else:
        lines.append("queue")
    return "\n".join(lines) + "\n"
