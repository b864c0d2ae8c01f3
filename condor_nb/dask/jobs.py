"""dask-jobqueue's HTCondor job, submitted through condor_nb instead of condor_submit.

dask-jobqueue starts one ``condor_submit`` subprocess per worker and cancels with
``condor_rm``. Here :class:`CondorNbJob` overrides ``start``/``close`` (its
``_submit_job``/``_call`` are never used), and a :class:`Batcher` gathers the
workers that one scale-up starts together (``SpecCluster`` starts them
concurrently on its event loop) into one HTCondor cluster of N procs. Each
worker keeps its own ``job_id`` ("cluster.proc"), so dask-jobqueue's bookkeeping
(scale down, adaptive, close) is unchanged. Removals are batched the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from dask_jobqueue.htcondor import HTCondorJob
from distributed.core import Status
from distributed.deploy.spec import ProcessInterface

from condor_nb.dask import description
from condor_nb.dask.backend import SubmittedWorker, WorkerJobs

log = logging.getLogger("condor_nb.dask")


class Batcher:
    """Collect the submissions (and removals) of one event-loop turn; send each as one call."""

    def __init__(self, jobs: WorkerJobs) -> None:
        self.jobs = jobs
        self._to_submit: list[tuple[CondorNbJob, asyncio.Future[SubmittedWorker]]] = []
        self._to_remove: list[str] = []
        self._removal: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches: list[int] = []  # sizes of the clusters submitted, oldest first

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def submit(self, job: CondorNbJob) -> SubmittedWorker:
        future: asyncio.Future[SubmittedWorker] = asyncio.get_running_loop().create_future()
        self._to_submit.append((job, future))
        if len(self._to_submit) == 1:
            self._spawn(self._flush_submissions())
        return await future

    async def _flush_submissions(self) -> None:
        await asyncio.sleep(0)  # the other workers of this scale-up enqueue meanwhile
        batch, self._to_submit = self._to_submit, []
        groups: dict[tuple[str, str], list[tuple[CondorNbJob, Any]]] = defaultdict(list)
        for job, future in batch:
            groups[(job.batch_command(), str(job.scheduler))].append((job, future))
        for (_, scheduler), members in groups.items():
            names = [job.name for job, _ in members]
            command = members[0][0].command_template
            try:
                submitted = await asyncio.to_thread(self.jobs.submit, command, names, scheduler)
            except Exception as exc:
                for _, future in members:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches.append(len(submitted))
            for (_, future), worker in zip(members, submitted, strict=True):
                if not future.done():
                    future.set_result(worker)

    async def remove(self, condor_nb_id: str) -> None:
        self._to_remove.append(condor_nb_id)
        if self._removal is None:
            self._removal = asyncio.get_running_loop().create_future()
            self._spawn(self._flush_removals(self._removal))
        await asyncio.shield(self._removal)

    async def _flush_removals(self, done: asyncio.Future[None]) -> None:
        await asyncio.sleep(0)
        ids, self._to_remove, self._removal = self._to_remove, [], None
        reason = f"condor_nb: dask session {self.jobs.session_id} scaled down or closed"
        try:
            await asyncio.to_thread(self.jobs.remove, ids, reason)
        except Exception as exc:  # the session's final sweep and heartbeat policy remain
            log.warning("removing dask worker jobs %s failed: %s", ", ".join(ids), exc)
        done.set_result(None)

    def preview(self, job: CondorNbJob) -> str:
        """What one worker's submission looks like (``cluster.job_script()``)."""
        names = [job.name]
        sub = self.jobs.render(job.command_template, names, str(job.scheduler))
        return description.to_text(sub, description.itemdata([(job.name, "0123abcd")]))


class CondorNbJob(HTCondorJob):  # type: ignore[misc,unused-ignore]
    """One dask worker as one HTCondor job (a proc of its scale-up's cluster)."""

    config_name = "htcondor"

    def __init__(
        self, scheduler: Any = None, name: Any = None, *, batcher: Batcher, **kwargs: Any
    ) -> None:
        super().__init__(scheduler=scheduler, name=name, **kwargs)  # type: ignore[no-untyped-call,unused-ignore]
        self.batcher = batcher
        self.condor_nb_id: str | None = None

    @property
    def command_template(self) -> str:
        return str(self._command_template)

    def batch_command(self) -> str:
        """The command with the worker's name made a macro: equal for one batch."""
        return description.batch_command(self.command_template, str(self.name))

    def job_script(self) -> str:
        return self.batcher.preview(self)

    async def start(self) -> None:
        try:
            worker = await self.batcher.submit(self)
        except BaseException:
            self.status = Status.failed
            raise
        self.job_id = worker.job_id
        self.condor_nb_id = worker.condor_nb_id
        log.debug("dask worker %s is HTCondor job %s", self.name, self.job_id)
        await ProcessInterface.start(self)  # type: ignore[no-untyped-call,unused-ignore]

    async def close(self) -> None:
        if self.condor_nb_id is not None:
            await self.batcher.remove(self.condor_nb_id)
        await ProcessInterface.close(self)  # type: ignore[no-untyped-call,unused-ignore]
