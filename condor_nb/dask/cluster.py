"""``CondorNbCluster``: dask-jobqueue's HTCondorCluster with condor_nb underneath.

What it adds to ``HTCondorCluster``: jobs submitted and removed through condor_nb
(:mod:`condor_nb.dask.jobs`), a heartbeat that the jobs' removal policy reads, a
final sweep of the session's jobs on close, a parity check of every connecting
worker, and ``wait_for_workers`` that explains what is missing.
"""

from __future__ import annotations

import logging
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


class _ParityPlugin(SchedulerPlugin):  # type: ignore[misc,unused-ignore]
    name = "condor_nb-parity"

    def __init__(self, checker: checks.ParityChecker) -> None:
        self.checker = checker

    def add_worker(self, scheduler: Any, worker: str) -> None:
        state = scheduler.workers.get(worker)
        if state is not None:
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
        self._scheduler.add_plugin(_ParityPlugin(self.parity), name=_ParityPlugin.name)
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
        """Wait for ``n_workers``; on timeout, say why they are missing; then check parity."""
        try:
            super().wait_for_workers(n_workers, timeout=timeout)
        except TimeoutError as exc:
            raise DaskSessionError(self.explain(n_workers)) from exc
        self.check_parity()

    def explain(self, wanted: int) -> str:
        """Why fewer than ``wanted`` workers are connected (asks the schedd)."""
        return checks.explain_missing_workers(
            self.worker_jobs.queue_ads(),
            self.worker_jobs.history_ads(),
            wanted=wanted,
            connected=self.connected_workers(),
            scheduler=self.contact_address,
            python=self.worker_jobs.options.python,
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
