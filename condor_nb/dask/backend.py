"""A session's worker jobs on the schedd: submit a batch, remove, beat, look (synchronous).

Everything goes through condor_nb's :class:`~condor_nb.condor.schedd.ScheddClient`
(remote schedd, spooling, the user's credentials): no ``condor_submit`` or
``condor_rm`` binary is needed. Submitted workers are also written to the
registry, so ``condor_nb q`` and the Jupyter job list show them at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from condor_nb.condor import constraints, schedd
from condor_nb.condor.status import JobState
from condor_nb.contract import names
from condor_nb.dask import description
from condor_nb.dask.options import WorkerOptions
from condor_nb.settings import Settings
from condor_nb.store import tracking
from condor_nb.store.registry import JobRecord, Registry, registry_for
from condor_nb.submission import preflight, templates
from condor_nb.submission import submit as chokepoint
from condor_nb.submission.submit import new_job_id
from condor_nb.submission.templates import Template

log = logging.getLogger("condor_nb.dask")

#: A site may ship dask-specific defaults as a profile of this name (layered on top).
DASK_PROFILE = "dask-worker"
PROJECTION = tuple(dict.fromkeys((
    *tracking.PROJECTION,
    names.KIND_ATTR, names.DASK_SESSION_ATTR, names.DASK_SCHEDULER_ATTR, names.DASK_CLIENT_ATTR,
    names.HEARTBEAT_ATTR, "DaskWorkerName", "RemoteHost", "ServerTime",
    "LastRemoteHost", "JobCurrentStartDate", "RemoteWallClockTime",
)))  # fmt: skip


@dataclass(frozen=True)
class SubmittedWorker:
    name: str  # the dask worker name
    condor_nb_id: str
    cluster: int
    proc: int

    @property
    def job_id(self) -> str:
        return f"{self.cluster}.{self.proc}"


def load_templates(profile: str) -> list[Template]:
    """The site profile, then the ``dask-worker`` profile when one is installed."""
    found = [templates.load(profile)]
    if profile != DASK_PROFILE and DASK_PROFILE in templates.available():
        found.append(templates.load(DASK_PROFILE))
    return found


class WorkerJobs:
    """One session's worker jobs. Thread-safe: calls to the schedd are serialized."""

    def __init__(
        self,
        settings: Settings,
        options: WorkerOptions,
        *,
        client: schedd.ScheddClient | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.settings = settings
        self.options = options
        self.client = client or schedd.client_for(settings)
        self.registry = registry or registry_for(settings)
        self.templates = load_templates(options.profile)
        self.staging_dir = settings.home / "dask"
        self.client_id = f"{socket.gethostname()}:{os.getpid()}"
        self._lock = threading.Lock()
        self._clock_offset = self._measure_clock_offset()

    @property
    def session_id(self) -> str:
        return self.options.session_id

    @property
    def constraint(self) -> str:
        """This session's worker jobs, of our Owner, from this condor_nb home."""
        return tracking.mine(description.session_constraint(self.session_id), self.settings)

    def _measure_clock_offset(self) -> float:
        """Heartbeats are compared with the schedd's clock: learn how far ours is."""
        with self._lock:
            server = self.client.summary(self.constraint).get("ServerTime")
        return float(server) - time.time() if server else 0.0

    def schedd_now(self) -> int:
        return int(time.time() + self._clock_offset)

    # -- submit ----------------------------------------------------------
    def render(self, command: str, names: Sequence[str], scheduler: str) -> dict[str, str]:
        context = description.BatchContext(
            scheduler=scheduler,
            client=self.client_id,
            staging_dir=str(self.staging_dir),
            heartbeat=self.schedd_now(),
        )
        return description.render_batch(
            self.options,
            command=description.batch_command(command, names[0]),
            templates=self.templates,
            context=context,
        )

    #: Worker jobs are checked like notebook jobs (the credential: validity and
    #: scopes; the image path; the site profile's container image; no BEARER_TOKEN
    #: copied into the job by getenv), except the environment manifest: a worker runs
    #: no notebook to parse imports from, nothing is staged to record it in, and the
    #: session compares the workers' packages with this side itself once they connect
    #: (condor_nb.dask.checks).
    PREFLIGHT = preflight.Checks(manifest=False)

    def submit(self, command: str, names: Sequence[str], scheduler: str) -> list[SubmittedWorker]:
        """Submit these workers (same command but for the name) as one spooled cluster.

        Through the one chokepoint (:mod:`condor_nb.submission.submit`), with
        :attr:`PREFLIGHT`; nothing is staged (the workers' folder is only their
        ``initialdir``), and a submission that fails leaves no cluster behind.
        """
        if not names:
            return []
        sub = self.render(command, names, scheduler)
        ids = [new_job_id() for _ in names]
        items = description.itemdata(list(zip(names, ids, strict=True)))
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        now = time.time()

        def remember(cluster: int, _: str) -> None:
            self.registry.upsert_many(
                self._record(name, job_id, cluster, proc, now)
                for proc, (name, job_id) in enumerate(zip(names, ids, strict=True))
            )

        submission = chokepoint.Submission(
            kind=f"dask workers of session {self.session_id}", description=sub,
            target=preflight.Target(None, self.options.image), itemdata=items, spool=True,
            checks=self.PREFLIGHT, on_submitted=remember,
        )  # fmt: skip
        with self._lock:
            done = chokepoint.submit(submission, self.settings, client=self.client)
        cluster, procs = done.cluster, done.procs
        if procs != len(names):
            log.warning("asked for %d worker jobs, the schedd made %d", len(names), procs)
        return [
            SubmittedWorker(name, job_id, cluster, proc)
            for proc, (name, job_id) in enumerate(zip(names, ids, strict=True))
        ]

    def _record(self, name: str, job_id: str, cluster: int, proc: int, now: float) -> JobRecord:
        return JobRecord(
            id=job_id, name=name, notebook=f"dask session {self.session_id}",
            profile=self.options.profile, schedd=self.client.name, cluster=cluster, proc=proc,
            job_dir=None, params_json=None, content_hash=None, state=JobState.QUEUED.value,
            reason=None, failure_class=None, exit_code=None, submitted_at=now, started_at=None,
            finished_at=None, updated_at=now, in_queue=1,
        )  # fmt: skip

    # -- remove, beat, look ----------------------------------------------
    def remove(self, condor_nb_ids: Sequence[str], reason: str) -> int:
        if not condor_nb_ids:
            return 0
        with self._lock:
            constraint = tracking.mine(tracking.id_constraint(condor_nb_ids), self.settings)
            return self.client.act("remove", constraint, reason)

    def remove_session(self, reason: str) -> int:
        """Remove every job of the session still in the queue (the final sweep)."""
        with self._lock:
            constraint = f"{self.constraint} && {constraints.not_removed()}"
            return self.client.act("remove", constraint, reason)

    def beat(self) -> int:
        """Tell the schedd the session is alive (its jobs' removal policy reads this)."""
        with self._lock:
            return self.client.edit(
                self.constraint, description.HEARTBEAT_ATTR, str(self.schedd_now())
            )

    def queue_ads(self) -> list[Mapping[str, Any]]:
        with self._lock:
            return self.client.query(self.constraint, PROJECTION)

    def history_ads(self, limit: int = 50) -> list[Mapping[str, Any]]:
        with self._lock:
            return self.client.history(self.constraint, PROJECTION, match=limit)


class Heartbeat:
    """A daemon thread that beats every ``interval`` seconds until stopped.

    If the process dies (kernel killed, notebook server gone) the beats stop and
    the schedd removes the worker jobs ``heartbeat_timeout`` seconds later.
    """

    def __init__(self, jobs: WorkerJobs, interval: float) -> None:
        self._jobs = jobs
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"condor_nb-dask-heartbeat-{jobs.session_id}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._jobs.beat()
            except Exception as exc:  # the next beat tries again; say why meanwhile
                log.warning("dask session %s: heartbeat failed: %s", self._jobs.session_id, exc)
