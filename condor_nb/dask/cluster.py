"""``CondorNbCluster``: dask-jobqueue's HTCondorCluster with condor_nb underneath.

What it adds to ``HTCondorCluster``: jobs submitted and removed through condor_nb
(:mod:`condor_nb.dask.jobs`), a heartbeat that the jobs' removal policy reads, a
final sweep of the session's jobs on close, a parity check of every connecting
worker, and ``wait_for_workers`` that explains what is missing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from dask_jobqueue.htcondor import HTCondorCluster
from distributed.diagnostics.plugin import SchedulerPlugin
from distributed.versions import get_versions

from condor_nb.dask import checks
from condor_nb.dask.backend import Heartbeat, WorkerJobs
from condor_nb.dask.errors import DaskSessionError, EnvironmentMismatchError
from condor_nb.dask.jobs import Batcher, CondorNbJob

log = logging.getLogger("condor_nb.dask")

#: Longest pause between two looks at the session's jobs while waiting for workers.
LOOK_INTERVAL = 10.0


class _ParityPlugin(SchedulerPlugin):  # type: ignore[misc,unused-ignore]
    name = "condor_nb-parity"

    def __init__(self, checker: checks.ParityChecker, seen: set[str]) -> None:
        self.checker = checker
        self.seen = seen

    def add_worker(self, scheduler: Any, worker: str) -> None:
        state = scheduler.workers.get(worker)
        if state is not None:
            self.seen.add(str(state.name))
            self.checker.check(str(state.name), worker, state.versions or {})


class CondorNbCluster(HTCondorCluster):  # type: ignore[misc,unused-ignore]
    """A dask cluster whose workers are condor_nb jobs of one session."""

    job_cls = CondorNbJob  # type: ignore[assignment,unused-ignore]

    def __init__(
        self,
        *,
        jobs: WorkerJobs,
        workers_are_local: bool,
        scheduler_options: Mapping[str, Any],
        **job_kwargs: Any,
    ) -> None:
        options = jobs.options
        self.session_id = options.session_id
        self.worker_jobs = jobs
        self.batcher = Batcher(jobs)
        self.parity = checks.ParityChecker(get_versions(), options.python)
        #: Names of every worker that ever connected (a worker that left still counts).
        self.ever_connected: set[str] = set()
        self._heartbeat = Heartbeat(jobs, options.heartbeat_interval)
        super().__init__(
            n_workers=0,
            name=f"cnb-{options.session_id}",
            cores=options.cpus,
            memory=f"{options.memory_mib}MiB",
            disk=f"{options.disk_mib}MiB",
            python=options.python,
            death_timeout=options.death_timeout,
            scheduler_options=dict(scheduler_options),
            batcher=self.batcher,
            **job_kwargs,
        )
        try:
            checks.check_contact_address(
                listen=self.listen_address,
                contact=self.contact_address,
                workers_are_local=workers_are_local,
                profile=options.profile,
            )
        except BaseException:
            self.close()
            raise
        plugin = _ParityPlugin(self.parity, self.ever_connected)
        self._scheduler.add_plugin(plugin, name=_ParityPlugin.name)
        self._heartbeat.start()

    # -- addresses -------------------------------------------------------
    @property
    def _scheduler(self) -> Any:
        """The scheduler object (it runs in this process)."""
        if self.scheduler is None:
            raise DaskSessionError(f"dask session {self.session_id} has no scheduler (closed?)")
        return self.scheduler

    @property
    def contact_address(self) -> str:
        """The address the workers are told to connect to."""
        sched = self._scheduler
        return str(getattr(sched, "contact_address", None) or sched.address)

    @property
    def listen_address(self) -> str:
        sched = self._scheduler
        return str(getattr(sched, "listen_address", None) or sched.address)

    # -- what the workers are doing ----------------------------------------
    def worker_job_ads(self) -> list[Mapping[str, Any]]:
        """The session's worker jobs in the queue (one constrained, projected query)."""
        return self.worker_jobs.queue_ads()

    def connected_workers(self) -> int:
        return len(self._scheduler.workers)

    def wait_for_workers(self, n_workers: int, timeout: float | None = None) -> None:
        """Wait for ``n_workers``; then check parity.

        Raises :class:`DaskSessionError` saying why workers are missing: at once when a
        worker job runs but its worker cannot connect back (a firewall, a wrong
        address: waiting longer would not help), else at ``timeout``.
        """
        start = time.monotonic()
        grace = checks.connect_grace(self.worker_jobs.options.death_timeout)
        interval = min(LOOK_INTERVAL, grace / 3)
        next_look = start + interval
        while self.connected_workers() < n_workers:
            now = time.monotonic()
            if timeout is not None and now - start >= timeout:
                raise DaskSessionError(self.explain(n_workers))
            if now >= next_look:
                self.raise_if_unreachable(grace)
                next_look = now + interval
            time.sleep(0.2)
        self.check_parity()

    def raise_if_unreachable(self, grace: float | None = None) -> None:
        """Raise if a worker job ran without its worker connecting: one still running
        after ``grace`` seconds, or one that gave up trying and exited."""
        if grace is None:
            grace = checks.connect_grace(self.worker_jobs.options.death_timeout)
        connected = set(self.ever_connected)
        queue = self.worker_jobs.queue_ads()
        stuck = checks.never_connected(
            queue, connected_names=connected, now=self.worker_jobs.schedd_now(), grace=grace
        )
        if len(queue) < len(self.workers):  # a worker job left the queue: gave up?
            stuck += checks.exited_without_connecting(
                self.worker_jobs.history_ads(limit=2 * len(self.workers)),
                connected_names=connected,
            )
        if stuck:
            raise DaskSessionError(
                checks.cannot_connect_message(stuck, self.contact_address),
                hint=checks.CANNOT_CONNECT_HINT,
            )

    def explain(self, wanted: int) -> str:
        """Why fewer than ``wanted`` workers are connected (asks the schedd)."""
        return checks.explain_missing_workers(
            self.worker_jobs.queue_ads(),
            self.worker_jobs.history_ads(),
            wanted=wanted,
            connected=self.connected_workers(),
            scheduler=self.contact_address,
            python=self.worker_jobs.options.python,
            connected_names=set(self.ever_connected),
        )

    def check_parity(self) -> None:
        """Raise :class:`EnvironmentMismatchError` if a worker's environment differs."""
        report = self.parity.report()
        if report:
            raise EnvironmentMismatchError(report)

    @property
    def batch_sizes(self) -> Sequence[int]:
        """How many workers each HTCondor cluster submitted held, oldest first."""
        return list(self.batcher.batches)

    # -- closing ---------------------------------------------------------
    async def _close(self) -> None:
        try:
            await super()._close()  # type: ignore[no-untyped-call,unused-ignore]
        finally:
            self._heartbeat.stop()
            reason = f"condor_nb: dask session {self.session_id} closed"
            try:
                # Directly, not in a thread: this may run at interpreter exit.
                self.worker_jobs.remove_session(reason)
            except Exception as exc:
                log.warning(
                    "dask session %s: removing its worker jobs failed (%s); the schedd "
                    "removes them %d s after the last heartbeat, or `condor_nb dask down %s`",
                    self.session_id, exc, self.worker_jobs.options.heartbeat_timeout,
                    self.session_id,
                )  # fmt: skip
