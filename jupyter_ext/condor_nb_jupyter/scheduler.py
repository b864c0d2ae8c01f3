"""A jupyter-scheduler backend on condor_nb: "Create Notebook Job" submits to HTCondor.

jupyter-scheduler keeps its rows (the UI reads them); the schedd is the truth for
their state. Every list/get refreshes the rows whose job is not finished, in a
worker process, so a job submitted before a server restart shows its true state.
Configured by the extension's jupyter-config file::

    c.SchedulerApp.scheduler_class = "condor_nb_jupyter.scheduler.CondorScheduler"
"""

from __future__ import annotations

import os
import shutil
import uuid
from typing import Any

from jupyter_scheduler.models import (
    CreateJob,
    DescribeJob,
    DescribeJobDefinition,
    ListJobsQuery,
    ListJobsResponse,
    Status,
    UpdateJob,
)
from jupyter_scheduler.orm import Job
from jupyter_scheduler.scheduler import Scheduler
from jupyter_scheduler.utils import get_utc_timestamp
from traitlets import Type as TType

from condor_nb_jupyter import environments, form, joblist, paths, tasks
from condor_nb_jupyter.config import CondorNbJupyter
from condor_nb_jupyter.definitions import DefinitionsMixin
from condor_nb_jupyter.errors import BadRequest
from condor_nb_jupyter.links import JobLink, Links
from condor_nb_jupyter.worker import shared_worker

STATUS = joblist.STATUS
OPEN = (Status.CREATED, Status.QUEUED, Status.IN_PROGRESS, Status.STOPPING)


def _ms(seconds: float | None) -> int | None:
    return int(seconds * 1000) if seconds else None


class CondorScheduler(DefinitionsMixin, Scheduler):  # type: ignore[misc]
    """Jobs and job definitions (schedules) on HTCondor through condor_nb."""

    # Schedules live on the schedd: no in-server cron runner.
    task_runner_class = TType(
        allow_none=True,
        default_value=None,
        config=True,
        klass="jupyter_scheduler.task_runner.BaseTaskRunner",
    )

    def __init__(
        self,
        root_dir: str,
        environments_manager: Any,
        db_url: str,
        config: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            root_dir=root_dir,
            environments_manager=environments_manager,
            db_url=db_url,
            config=config,
            **kwargs,
        )
        self.cnb = CondorNbJupyter(config=config)
        self.worker = shared_worker(self.cnb.worker_processes)
        self.links = Links(db_url)
        self._synced: dict[str, float] = {}

    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self.cnb.overrides())

    # -- helpers ---------------------------------------------------------------
    def _options(
        self, env_name: str, params: dict[str, Any] | None, name: str, kind: Any = "job"
    ) -> dict[str, Any]:
        """The job's options from the form's text (runtime environment parameters), as
        :class:`JobOptions` keyword arguments; validated when submitted, as the CLI's."""
        profile, image = environments.resolve(env_name)
        options: dict[str, Any] = {"profile": profile, "name": name or None}
        if image:
            options["image"] = image
        try:
            options.update(form.job_options(dict(params or {}), self.root_dir, kind=kind))
            if "secrets" in options:
                options["secrets"] = form._secret_files(options["secrets"], self.root_dir)
        except form.FieldError as exc:
            raise BadRequest(exc.message, hint=exc.hint) from None
        return options

    def _stage_map(self, model: DescribeJob) -> dict[str, str]:
        staged = self.get_staging_paths(model)
        where = {"dir": paths.staging_folder(self.staging_path, model.job_id)}
        where.update({fmt: staged[fmt] for fmt in ("ipynb", "html") if fmt in staged})
        return where

    # -- paths: read from root_dir, write and delete in the staging area --------
    def _check_input(self, input_uri: object) -> str:
        """The real path of a request's input notebook, inside the server's root_dir."""
        return paths.resolve_input(self.root_dir, input_uri)

    def get_staging_paths(self, model: DescribeJob | DescribeJobDefinition) -> dict[str, str]:
        """jupyter-scheduler's staging paths, each confined to the model's own folder."""
        folder_id = model.job_id if isinstance(model, DescribeJob) else model.job_definition_id
        return paths.staging_paths(
            self.staging_path,
            folder_id,
            model.input_filename,
            model.create_time,
            model.output_formats,
        )

    def _staging(
        self, job_id: str, input_filename: str, create_time: int, output_formats: list[str] | None
    ) -> dict[str, str]:
        """:meth:`get_staging_paths` without a model."""
        return paths.staging_paths(
            self.staging_path, job_id, input_filename, create_time, output_formats
        )

    def _make_folder(self, folder_id: str) -> str:
        """Make a job's (or definition's) staging folder, and record that we made it."""
        folder = paths.staging_folder(self.staging_path, folder_id)
        os.makedirs(self.staging_path, exist_ok=True)
        os.mkdir(folder)  # never an existing folder: that one is not ours to fill or delete
        self.links.add_folder(folder)
        return folder

    def _remove_folder(self, folder_id: str) -> None:
        """Delete a staging folder only if we made it and it is still a plain folder there."""
        try:
            folder = paths.staging_folder(self.staging_path, folder_id)
        except paths.PathRefused:
            return
        if not self.links.made_folder(folder):
            if os.path.exists(folder):
                self.log.info("condor_nb: kept %s (not made by condor_nb)", folder)
            return
        if paths.removable(self.staging_path, folder):
            shutil.rmtree(folder, ignore_errors=True)
        elif os.path.lexists(folder):
            self.log.warning("condor_nb: kept %s (no longer a folder in the staging area)", folder)
        self.links.drop_folder(folder)

    # -- jobs ------------------------------------------------------------------

    async def create_job(self, model: CreateJob) -> str:
        """A job from a notebook in the server's root_dir."""
        return await self._create_job(model, self._check_input(model.input_uri), self.root_dir)

    async def _create_job(self, model: CreateJob, source: str, base: str) -> str:
        """Stage ``source`` (a file in ``base``), submit, then one database commit for the
        row and its link."""
        options = self._options(
            model.runtime_environment_name, model.runtime_environment_parameters, model.name
        )
        model.output_formats = paths.output_formats(model.output_formats)
        model.input_filename = paths.safe_name(model.input_filename)
        job_id, now = str(uuid.uuid4()), get_utc_timestamp()
        staged = self._staging(job_id, model.input_filename, now, model.output_formats)
        self._make_folder(job_id)
        shown = {staged["input"]: form.shown_path(base, source)}
        try:
            paths.copy_confined(base, source, staged["input"])
            with form.naming_user_paths(self.root_dir, shown):
                submitted = await self.worker.call(
                    tasks.submit, self.overrides, staged["input"],
                    form.given_parameters(model.parameters),
                    options,
                )  # fmt: skip
        except BaseException:
            self._remove_folder(job_id)
            raise
        fields = model.dict(exclude_none=True, exclude={"input_uri"})
        with self.db_session() as session:
            session.add(
                Job(**fields, job_id=job_id, create_time=now, update_time=now, status=Status.QUEUED)
            )
            session.add(JobLink(job_id=job_id, condor_nb_id=submitted["id"]))
            session.commit()
        return job_id

    def _drop_row(self, job_id: str) -> None:
        self._remove_folder(job_id)
        with self.db_session() as session:
            session.query(Job).filter(Job.job_id == job_id).delete()
            session.commit()
        self.links.drop_job(job_id)

    async def _refresh(self, job_ids: list[str] | None = None) -> None:
        """Bring open rows (all, or these) in line with the schedd; write only changes."""
        cols = (
            Job.job_id,
            Job.status,
            Job.status_message,
            Job.start_time,
            Job.end_time,
            Job.input_filename,
            Job.create_time,
            Job.output_formats,
            JobLink.condor_nb_id,
        )
        with self.db_session() as session:
            q = session.query(*cols).join(JobLink, JobLink.job_id == Job.job_id)
            q = q.filter(Job.status.in_([s.value for s in OPEN]), JobLink.condor_nb_id.isnot(None))
            if job_ids is not None:
                q = q.filter(Job.job_id.in_(job_ids))
            rows = {r.condor_nb_id: r for r in q.all()}
        if not rows:
            return
        stage = {}
        for cid, r in rows.items():
            try:
                where = self._staging(r.job_id, r.input_filename, r.create_time, r.output_formats)
            except paths.PathRefused:
                continue  # a row written before names were checked: its state, no files
            stage[cid] = {
                "dir": paths.staging_folder(self.staging_path, r.job_id),
                **{f: where[f] for f in ("ipynb", "html") if f in where},
            }
        fresh = await self.worker.call(tasks.refresh, self.overrides, list(rows), stage)
        changes = {}
        for cid, info in fresh.items():
            status = STATUS.get(info["state"])
            if status is None:
                continue
            new = {
                "status": status.value,
                "status_message": joblist.status_message(cid, info, stage.get(cid, {}).get("dir")),
                "start_time": _ms(info.get("started_at")),
                "end_time": _ms(info.get("finished_at")) if status not in OPEN else None,
            }
            old = rows[cid]
            if any(getattr(old, k) != v for k, v in new.items()):
                changes[old.job_id] = new
        if changes:
            with self.db_session() as session:
                for job_id, new in changes.items():
                    session.query(Job).filter(Job.job_id == job_id).update(new)
                session.commit()

    def add_job_files(self, model: DescribeJob) -> None:
        super().add_job_files(model)
        joblist.job_files(self, model)

    async def list_jobs(self, query: ListJobsQuery) -> ListJobsResponse:
        await self.sync_runs(query.job_definition_id)
        if query.job_definition_id is None:
            await joblist.adopt(self)
        await self._refresh()
        return super().list_jobs(query)

    async def get_job(self, job_id: str, job_files: bool | None = True) -> DescribeJob:
        await self._refresh([job_id])
        return super().get_job(job_id, job_files)

    async def count_jobs(self, query: Any) -> int:
        await joblist.adopt(self)
        await self._refresh()
        return int(super().count_jobs(query))

    async def update_job(self, job_id: str, model: UpdateJob) -> None:
        if model.status is not None and model.status not in (Status.STOPPED, Status.STOPPING):
            raise BadRequest(
                f"status: only STOPPED can be requested; got {model.status.value}",
                hint="HTCondor decides the other states",
            )
        super().update_job(job_id, model)

    async def stop_job(self, job_id: str) -> None:
        link = self.links.job(job_id)
        super().get_job(job_id, False)  # 404 when unknown
        if link is not None and link.condor_nb_id:
            await self.worker.call(tasks.act, self.overrides, link.condor_nb_id, "remove")
        with self.db_session() as session:
            session.query(Job).filter(Job.job_id == job_id).update(
                {
                    "status": Status.STOPPED,
                    "status_message": "removed from HTCondor (stopped)",
                    "end_time": get_utc_timestamp(),
                }
            )
            session.commit()

    async def delete_job(self, job_id: str) -> None:
        super().get_job(job_id, False)  # 404 when unknown
        link = self.links.job(job_id)
        if link is not None and link.condor_nb_id:
            await self.worker.call(tasks.forget, self.overrides, link.condor_nb_id)
        self._drop_row(job_id)
