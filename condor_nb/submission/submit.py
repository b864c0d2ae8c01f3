"""THE chokepoint: every kind of job reaches the schedd through :func:`submit`.

A single job (:func:`condor_nb.api.submit_job`), a sweep and its retries
(:mod:`condor_nb.sweeps.submit`), a schedule and its updates
(:mod:`condor_nb.schedules.api`) and a dask session's workers
(:mod:`condor_nb.dask.backend`) each build a :class:`Submission` (their rendered
description, how to stage their folder, how to record what the schedd made) and
hand it here. The steps are always the same, in this order:

1. preflight (:mod:`condor_nb.submission.preflight`): the credential, the image,
   the description, the environment manifest; nothing is staged or sent before
   they pass;
2. stage (:mod:`condor_nb.submission.staging`), through the submission's callback;
3. the schedd client's submit (with spooling when the description says so);
4. record: ``on_submitted(cluster, schedd name)`` as soon as the schedd has made the cluster
   (the registry row exists even if the upload then fails), then ``after(cluster)``.

On any exception (a failed check, staging, the schedd refusing the job, an
interrupt) what was staged is removed, any cluster already created is removed from
the queue, ``on_failure`` marks what was recorded, then the exception is re-raised
(HTMap's ``create_map`` rule). A folder that existed before (a schedule update
restages its own folder; a sweep retry reuses the sweep's) is never deleted.
Secrets staged for a spooled submission are deleted once the schedd has them.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from condor_nb.condor import schedd
from condor_nb.settings import Settings
from condor_nb.submission import nomatch, preflight
from condor_nb.submission.render import is_spooled

log = logging.getLogger(__name__)


def new_job_id() -> str:
    return secrets.token_hex(4)


def _nothing(_: int) -> None:
    return None


def _no_record(_: int, __: str) -> None:
    return None


@dataclass
class Submission:
    """One submission, of any kind: what is sent and what happens around it.

    ``stage`` writes the job's folder ``job_dir`` (None: nothing is staged);
    ``on_submitted(cluster, schedd name)`` records the jobs as soon as the schedd made the cluster;
    ``after(cluster)`` runs once the submit returned (a failure there still removes
    the cluster); ``on_failure(exc)`` marks what was recorded when the submission
    failed after ``on_submitted``. ``secrets`` is the file of secret values staged,
    deleted once the schedd has them (spooled).
    """

    kind: str  # "job", "sweep", "sweep retry", "schedule", "dask workers"
    description: Mapping[str, str]
    target: preflight.Target
    stage: Callable[[], None] | None = None
    itemdata: Sequence[Mapping[str, str]] | None = None
    spool: bool | None = None  # None: as the description says (is_spooled)
    checks: preflight.Checks = preflight.ALL
    wall_time: float | None = None
    on_submitted: Callable[[int, str], None] = _no_record
    after: Callable[[int], None] = _nothing
    on_failure: Callable[[BaseException], None] | None = None
    secrets: Path | None = None
    environ: Mapping[str, str] | None = None
    warnings: list[str] = field(default_factory=list)
    allow_no_match: bool = False  # submit even when no slot of the pool can run it

    @property
    def spooled(self) -> bool:

        return is_spooled(self.description) if self.spool is None else self.spool


@dataclass(frozen=True)
class Submitted:
    cluster: int
    procs: int
    schedd: str


def submit(
    sub: Submission, settings: Settings, *, client: schedd.ScheddClient | None = None
) -> Submitted:
    """Preflight, stage, submit, record; on any exception undo all that, then re-raise."""
    job_dir = sub.target.job_dir
    new_folder = job_dir is not None and not job_dir.exists()
    cluster: int | None = None
    recorded = False

    def remember(value: int) -> None:
        nonlocal cluster, recorded
        cluster = value
        assert client is not None
        sub.on_submitted(value, client.name)
        recorded = True

    try:
        sub.warnings = preflight.run(
            settings, sub.target, sub.description, wall_time=sub.wall_time,
            environ=sub.environ, checks=sub.checks,
        )  # fmt: skip
        sub.warnings += nomatch.check(settings, sub.description, allow=sub.allow_no_match)
        if sub.stage is not None:
            sub.stage()
        client = client or schedd.client_for(settings)  # finding the schedd can fail
        log.debug("submitting %s: %s", sub.kind, dict(sub.description))
        made, procs = client.submit(
            sub.description,
            spool=sub.spooled,
            itemdata=list(sub.itemdata) if sub.itemdata else None,
            on_submitted=remember,
        )
        cluster = made
        sub.after(made)
    except BaseException as exc:
        _undo(sub, client, cluster, new_folder, exc, recorded)
        raise
    if sub.spooled and sub.secrets is not None:
        sub.secrets.unlink(missing_ok=True)  # the schedd has them now
    # Not spooled: the shadow reads them from in/ when the job starts (and again if it
    # is rescheduled); they go when the job has finished (Job.mark_retrieved/remove).
    return Submitted(made, procs, client.name)


def _undo(
    sub: Submission,
    client: schedd.ScheddClient | None,
    cluster: int | None,
    new_folder: bool,
    exc: BaseException,
    recorded: bool,
) -> None:
    """Remove the cluster (the client removes one whose submit failed; not one whose
    later step did), mark the records, remove what was staged."""
    if cluster is not None and client is not None:
        with contextlib.suppress(Exception):
            client.act("remove", f"ClusterId == {cluster}", f"condor_nb: {sub.kind} not created")
    if recorded and sub.on_failure is not None:
        with contextlib.suppress(Exception):
            sub.on_failure(exc)
    if sub.secrets is not None:
        sub.secrets.unlink(missing_ok=True)
    job_dir = sub.target.job_dir
    if new_folder and job_dir is not None:
        shutil.rmtree(job_dir, ignore_errors=True)
    log.debug("%s not submitted (%s): staged files and cluster removed", sub.kind, exc)
