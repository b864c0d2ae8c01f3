"""Job definitions = condor_nb schedules (HTCondor cron jobs that live on the schedd).

Create submits the schedule; pause/resume hold/release its job; an update replaces
the job (same schedule id, run history carried over); delete removes it. Each run
the schedule made becomes a jupyter-scheduler job under its definition, with that
run's own executed notebook and report, picked up on list (see :meth:`sync_runs`).
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

from jupyter_scheduler.models import (
    CreateJob,
    CreateJobDefinition,
    CreateJobFromDefinition,
    DescribeJob,
    DescribeJobDefinition,
    Status,
    UpdateJobDefinition,
)
from jupyter_scheduler.orm import Job, JobDefinition

from condor_nb_jupyter import form, joblist, paths, tasks
from condor_nb_jupyter.errors import BadRequest

SYNC_INTERVAL = 5.0  # seconds between two retrievals of one schedule's runs
#: A firing that did not run (condor_nb.schedules.missed) -> its job's status and label.
_FIRING_STATUS = {"MISSED": (Status.FAILED, "Missed"), "STOPPED": (Status.STOPPED, "Paused")}


def _check_schedule(cron: str | None, timezone: str | None) -> None:
    """Cron and time zone checked here (pure, no HTCondor): a bad one is a 400 at once."""
    from condor_nb.errors import SpecError
    from condor_nb.schedules import cron as schedules_cron

    try:
        if cron:
            schedules_cron.normalize(cron)
        schedules_cron.check_timezone(timezone)
    except SpecError as exc:
        raise BadRequest(exc.message, exc.hint) from None


class DefinitionsMixin:
    """Mixed into CondorScheduler (which provides db_session, worker, links...)."""

    root_dir: str
    staging_path: str
    worker: Any
    links: Any

    @property
    def overrides(self) -> dict[str, Any]:
        raise NotImplementedError

    _synced: dict[str, float]

    # Provided by jupyter_scheduler's Scheduler.
    db_session: Any
    get_staging_paths: Any
    create_job: Any
    delete_job: Any
    _options: Any
    _check_input: Any
    _create_job: Any
    _make_folder: Any
    _remove_folder: Any

    async def create_job_definition(self, model: CreateJobDefinition) -> str:
        source = self._check_input(model.input_uri)
        options = self._options(
            model.runtime_environment_name,
            model.runtime_environment_parameters,
            model.name,
            kind="schedule",
        )
        _check_schedule(model.schedule, model.timezone)
        model.output_formats = paths.output_formats(model.output_formats)
        model.input_filename = paths.safe_name(model.input_filename)
        if not model.schedule:
            raise BadRequest(
                "schedule: expected a cron expression such as '0 6 * * *'; got none",
                hint="use Create Job for a one-off run",
            )
        with self.db_session() as session:
            definition = JobDefinition(**model.dict(exclude_none=True, exclude={"input_uri"}))
            session.add(definition)
            session.commit()
            describe = DescribeJobDefinition.from_orm(definition)
            definition_id = definition.job_definition_id
        try:
            staged = self.get_staging_paths(describe)["input"]
            self._make_folder(definition_id)
            paths.copy_confined(self.root_dir, source, staged)
            shown = {staged: form.shown_path(self.root_dir, source)}
            with form.naming_user_paths(self.root_dir, shown):
                created = await self.worker.call(
                    tasks.create_schedule,
                    self.overrides,
                    staged,
                    model.schedule,
                    form.given_parameters(model.parameters),
                    model.timezone,
                    options,
                )
        except BaseException:
            self._drop_definition_row(definition_id, describe)
            raise
        self.links.add_definition(definition_id, created["id"])
        return str(definition_id)

    def _drop_definition_row(self, definition_id: str, describe: DescribeJobDefinition) -> None:
        self._remove_folder(definition_id)
        with self.db_session() as session:
            session.query(JobDefinition).filter(
                JobDefinition.job_definition_id == definition_id
            ).delete()
            session.commit()
        self.links.drop_definition(definition_id)

    def _definition(self, definition_id: str) -> DescribeJobDefinition:
        with self.db_session() as session:
            row = (
                session.query(JobDefinition)
                .filter(JobDefinition.job_definition_id == definition_id)
                .one()
            )
            return DescribeJobDefinition.from_orm(row)

    async def update_job_definition(self, definition_id: str, model: UpdateJobDefinition) -> None:
        _check_schedule(model.schedule, model.timezone)
        if model.output_formats is not None:
            model.output_formats = paths.output_formats(model.output_formats)
        source = self._check_input(model.input_uri) if model.input_uri else None
        current = self._definition(definition_id)
        schedule_id = self.links.schedule_of(definition_id)
        updates = model.dict(exclude_none=True, exclude={"input_uri", "url"})
        if schedule_id is not None:
            changed = (
                (model.schedule is not None and model.schedule != current.schedule)
                or (model.parameters is not None and model.parameters != current.parameters)
                or bool(model.input_uri)
            )
            if changed:
                staged = self.get_staging_paths(current)["input"]
                if source is not None:
                    paths.copy_confined(self.root_dir, source, staged)
                shown = form.shown_path(self.root_dir, source) if source else current.input_filename
                with form.naming_user_paths(self.root_dir, {staged: shown}):
                    await self.worker.call(
                        tasks.update_schedule,
                        self.overrides,
                        schedule_id,
                        staged,
                        model.schedule or current.schedule,
                        form.given_parameters(
                            model.parameters if model.parameters is not None else current.parameters
                        ),
                        model.timezone,
                    )
            if model.active is not None and model.active != current.active:
                action = "resume" if model.active else "pause"
                await self.worker.call(tasks.schedule_call, self.overrides, action, schedule_id)
        with self.db_session() as session:
            session.query(JobDefinition).filter(
                JobDefinition.job_definition_id == definition_id
            ).update(updates)
            session.commit()

    async def delete_job_definition(self, definition_id: str) -> None:
        describe = self._definition(definition_id)
        schedule_id = self.links.schedule_of(definition_id)
        if schedule_id is not None:
            try:
                await self.worker.call(tasks.schedule_call, self.overrides, "delete", schedule_id)
            except tasks.TaskError as exc:
                if exc.status != 404:  # gone already (JobNotFoundError or a subclass)
                    raise
        with self.db_session() as session:
            ids = [
                j.job_id
                for j in session.query(Job.job_id)
                .filter(Job.job_definition_id == definition_id)
                .all()
            ]
        for job_id in ids:
            await self.delete_job(job_id)
        self._drop_definition_row(definition_id, describe)

    async def create_job_from_definition(
        self, definition_id: str, model: CreateJobFromDefinition
    ) -> str:
        definition = self._definition(definition_id)
        attributes = definition.dict(exclude={"schedule", "timezone"}, exclude_none=True)
        attributes.update(model.dict(exclude_none=True))
        staged = self.get_staging_paths(definition)["input"]  # confined to its folder
        attributes["input_uri"] = definition.input_filename
        folder = paths.staging_folder(self.staging_path, definition_id)
        return str(await self._create_job(CreateJob(**attributes), staged, folder))

    async def list_job_definitions(self, query: Any) -> Any:
        """The rows, with ``active`` as the schedd says (a pause from the CLI shows too);
        schedules made with the CLI or the API are listed too."""
        try:
            await joblist.adopt_definitions(self)
        except tasks.TaskError as exc:
            self.log.warning("condor_nb: schedules not listed: %s", exc)  # type: ignore[attr-defined]
        linked = self.links.definitions()
        if linked:
            try:
                found = await self.worker.call(
                    tasks.schedule_call, self.overrides, "list_schedules"
                )
            except tasks.TaskError:
                found = []
            paused = {s["id"]: s["state"] == "PAUSED" for s in found}
            with self.db_session() as session:
                for def_id, schedule_id in linked.items():
                    if schedule_id in paused:
                        session.query(JobDefinition).filter(
                            JobDefinition.job_definition_id == def_id
                        ).update({"active": not paused[schedule_id]})
                session.commit()
        return super().list_job_definitions(query)  # type: ignore[misc]

    # -- runs -> jobs ------------------------------------------------------------
    async def sync_runs(self, definition_id: str | None = None) -> None:
        """Turn the schedules' new runs into jobs under their definitions."""
        linked = self.links.definitions()
        if definition_id is not None:
            linked = {k: v for k, v in linked.items() if k == definition_id}
        now = time.monotonic()
        for def_id, schedule_id in linked.items():
            if now - self._synced.get(schedule_id, -SYNC_INTERVAL) < SYNC_INTERVAL:
                continue
            self._synced[schedule_id] = now
            try:
                history = await self.worker.call(
                    tasks.schedule_history, self.overrides, schedule_id
                )
            except tasks.TaskError:
                continue  # deleted on the schedd, or unreachable: keep what is shown
            known = self.links.runs_of(schedule_id)
            for run in history["runs"]:
                if run["run_id"] not in known:
                    self._add_run(def_id, schedule_id, run)
            for firing in history["missed"]:
                # A firing skipped while paused is what pausing means: not a job. A run
                # that a pause stopped is a STOPPED job, a missed firing a FAILED one.
                if firing["state"] in _FIRING_STATUS and _missed_id(firing) not in known:
                    self._add_missed(def_id, schedule_id, firing)

    def _run_job(
        self, definition_id: str, name: str, status: Status, message: str | None,
        span: tuple[float, float], with_outputs: bool,
    ) -> DescribeJob:  # fmt: skip
        """A jupyter-scheduler job row under the definition, for one firing."""
        definition = self._definition(definition_id)
        started, finished = int(span[0] * 1000), int(span[1] * 1000)
        with self.db_session() as session:
            job = Job(
                name=f"{definition.name} {name}",
                job_definition_id=definition_id,
                input_filename=definition.input_filename,
                runtime_environment_name=definition.runtime_environment_name,
                output_formats=(definition.output_formats or []) if with_outputs else [],
                parameters=definition.parameters,
                status=status,
                status_message=message,
                start_time=started,
                end_time=finished,
                create_time=started,
                update_time=finished,
            )
            session.add(job)
            session.commit()
            return DescribeJob.from_orm(job)

    def _add_missed(self, definition_id: str, schedule_id: str, firing: dict[str, Any]) -> None:
        """A firing that did not run to its end: a FAILED job (missed) or a STOPPED one
        (stopped by a pause), with the reason, and no files."""
        planned = float(firing["planned"])
        status, label = _FIRING_STATUS[firing["state"]]
        describe = self._run_job(
            definition_id, f"{firing['run_id']} ({label.lower()})", status,
            f"{label}: {firing['reason']}", (planned, planned), with_outputs=False,
        )  # fmt: skip
        self.links.add_job(describe.job_id, schedule_id=schedule_id, run_id=_missed_id(firing))

    def _add_run(self, definition_id: str, schedule_id: str, run: dict[str, Any]) -> None:
        definition = self._definition(definition_id)
        status = Status.COMPLETED if run["state"] == "COMPLETED" else Status.FAILED
        describe = self._run_job(
            definition_id, run["run_id"], status, run.get("reason"),
            (run["started"], run["finished"]), with_outputs=True,
        )  # fmt: skip
        staged = self.get_staging_paths(describe)
        folder = self._make_folder(describe.job_id)
        shutil.copyfile(self.get_staging_paths(definition)["input"], staged["input"])
        files = run.get("files") or {}
        for fmt, kept in (("ipynb", "output.ipynb"), ("html", "report.html")):
            if fmt in staged and kept in files:
                shutil.copyfile(files[kept], staged[fmt])
        for kept in ("stdout.txt", "stderr.txt", "result.json"):
            if kept in files:
                shutil.copyfile(files[kept], os.path.join(folder, kept))
        self.links.add_job(describe.job_id, schedule_id=schedule_id, run_id=run["run_id"])


def _missed_id(firing: dict[str, Any]) -> str:
    """The link's run id of a missed firing (never a run's id: those are start times)."""
    return f"missed-{firing['run_id']}"
