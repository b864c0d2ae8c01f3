"""jupyter-scheduler's job list as condor_nb sees it: one registry, three front ends.

- :func:`status_message`: the message jupyter-scheduler's Job Detail page shows for a
  row (it has no HELD status: a held job stays "Queued" and the message says HELD,
  why, and which condor_nb job and HTCondor cluster it is);
- :func:`adopt`: jobs submitted with the CLI or the Python API (in the registry, not
  yet rows of jupyter-scheduler) become rows linked to their condor_nb id, so that
  the list, the detail page and downloads show them with their real state;
- :func:`job_files`: the files the detail page offers, without the unexecuted input
  and with the folder where every fetched output lands.
"""

from __future__ import annotations

import json
import os
from typing import Any

from jupyter_scheduler.models import DescribeJob, JobFile, Status

from condor_nb_jupyter import paths, tasks

#: condor_nb state -> jupyter-scheduler status. A held job is not finished: it waits.
STATUS = {
    "QUEUED": Status.QUEUED,
    "RUNNING": Status.IN_PROGRESS,
    "COMPLETED": Status.COMPLETED,
    "FAILED": Status.FAILED,
    "HELD": Status.QUEUED,
    "REMOVED": Status.STOPPED,
}
#: The CLI's advice in a hold reason; the detail page has a Release button instead.
_CLI_RELEASE = "; release it with `condor_nb release`"


def status_message(
    condor_nb_id: str, info: dict[str, Any], staging_dir: str | None = None
) -> str | None:
    """The Job Detail page's message for a condor_nb job (None: nothing to say); the
    job's staging folder, if a reason names it, in words."""
    state, reason = info.get("state"), info.get("reason")
    if reason and staging_dir:
        reason = reason.replace(staging_dir, "the job's staging folder")
    cluster = info.get("cluster")
    which = f"condor_nb job {condor_nb_id}" + (f", HTCondor job {cluster}" if cluster else "")
    if state == "HELD":
        why = (reason or "no reason given").replace(_CLI_RELEASE, "")
        return (
            f"HELD ({which}): {why}. It stays in the queue until released: the Release "
            f"button, or `condor_nb release {condor_nb_id}` in a terminal."
        )
    if not reason:
        return None
    return f"{reason} ({which})"


def _ms(seconds: float | None) -> int | None:
    return int(seconds * 1000) if seconds else None


def _parameters(params_json: str | None) -> dict[str, str]:
    """jupyter-scheduler shows parameters as text: the typed values, as JSON text."""
    try:
        values = json.loads(params_json or "{}")
    except ValueError:
        return {}
    if not isinstance(values, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


async def adopt(sched: Any) -> int:
    """Add a row for each registry job no row links to yet (CLI and API jobs); returns
    how many. The UI's own jobs run a copy in jupyter-scheduler's staging area: those
    are never adopted, even while the UI is still submitting one (not linked yet)."""
    from jupyter_scheduler.orm import Job

    from condor_nb_jupyter.links import JobLink

    known = sched.links.condor_nb_ids()
    found = await sched.worker.call(tasks.unlisted_jobs, sched.overrides, sorted(known))
    if not found:
        return 0
    known = sched.links.condor_nb_ids()  # read again: no await from here on
    added = 0
    with sched.db_session() as session:
        for job in found:
            if job["id"] in known or _made_here(sched, job["notebook"]):
                continue
            try:
                filename = paths.safe_name(os.path.basename(job["notebook"] or ""))
            except paths.PathRefused:
                filename = "notebook.ipynb"
            status = STATUS.get(job["state"], Status.QUEUED)
            info = {**job, "cluster": job.get("condor_id")}
            created = _ms(job["submitted_at"]) or 0
            row = Job(
                name=job["name"] or os.path.splitext(filename)[0],
                input_filename=filename,
                runtime_environment_name=job["profile"] or "",
                output_formats=["ipynb", "html"],
                parameters=_parameters(job.get("params_json")),
                status=status,
                status_message=status_message(job["id"], info),
                create_time=created,
                update_time=_ms(job.get("updated_at")) or created,
                start_time=_ms(job.get("started_at")),
                end_time=_ms(job.get("finished_at")) if status not in _OPEN else None,
            )
            session.add(row)
            session.flush()
            session.add(JobLink(job_id=row.job_id, condor_nb_id=job["id"]))
            added += 1
        session.commit()
    return added


def _made_here(sched: Any, notebook: str | None) -> bool:
    """Was this job or schedule made by the UI (its notebook is a staged copy)?"""
    return bool(notebook) and paths.inside(sched.staging_path, str(notebook))


async def adopt_definitions(sched: Any) -> int:
    """A job definition for each schedule made with the CLI or the API (none links to
    it, and its notebook is not a staged copy); returns how many. Its notebook is copied
    into the definition's staging folder, as for the UI's: edits, Run now and its runs'
    files work the same. Deleting the definition deletes the schedule."""
    import shutil

    from jupyter_scheduler.models import DescribeJobDefinition
    from jupyter_scheduler.orm import JobDefinition

    linked = sched.links.definitions()
    found = await sched.worker.call(
        tasks.unlisted_schedules, sched.overrides, sorted(set(linked.values()))
    )
    known = set(sched.links.definitions().values())  # read again: no await from here on
    added = 0
    for item in found:
        if item["id"] in known or not item.get("source") or _made_here(sched, item["notebook"]):
            continue
        try:
            filename = paths.safe_name(os.path.basename(item["notebook"] or ""))
        except paths.PathRefused:
            filename = "notebook.ipynb"
        created = _ms(item.get("created_at")) or 0
        with sched.db_session() as session:
            row = JobDefinition(
                name=item["name"] or os.path.splitext(filename)[0],
                input_filename=filename,
                runtime_environment_name=item["profile"] or "",
                schedule=item["cron"],
                timezone="UTC",
                parameters=_parameters(json.dumps(item.get("parameters") or {})),
                output_formats=["ipynb", "html"],
                active=item["state"] != "PAUSED",
                create_time=created,
                update_time=created,
            )
            session.add(row)
            session.commit()
            describe = DescribeJobDefinition.from_orm(row)
            definition_id = str(row.job_definition_id)
        staged = sched.get_staging_paths(describe)["input"]
        sched._make_folder(definition_id)
        shutil.copyfile(item["source"], staged)
        sched.links.add_definition(definition_id, item["id"])
        added += 1
    return added


_OPEN = (Status.CREATED, Status.QUEUED, Status.IN_PROGRESS, Status.STOPPING)


def job_files(sched: Any, model: DescribeJob) -> None:
    """The detail page's files: the outputs, and "Files" (the download folder, with
    every file `condor_nb fetch` brings) once downloaded; never the unexecuted input,
    which is not an output (it stays in the user's notebook)."""
    files = [f for f in model.job_files if f.file_format != "input"]
    if files:  # a job with outputs (not a missed firing)
        folder = sched.get_local_output_path(model, root_dir_relative=True)
        present = [f for f in files if f.file_path]
        files.append(
            JobFile(
                display_name="Files",
                file_format="files",
                file_path=folder if present and sched.dir_exists(folder) else None,
            )
        )
    model.job_files = files
    model.downloaded = bool(files) and all(f.file_path for f in files)


def unstaged(exc: tasks.TaskError, staged: str, shown: str) -> tasks.TaskError:
    """The error with the staging copy's path replaced by the user's notebook (``shown``)
    and its folder by words: the staging area is jupyter-scheduler's, not the user's."""
    folder = os.path.dirname(staged) if staged else ""

    def fix(text: str | None) -> str | None:
        if text is None:
            return None
        if staged:
            text = text.replace(staged, shown)
        return text.replace(folder, "the job's staging folder") if folder else text

    return tasks.TaskError(exc.kind, fix(exc.message) or "", fix(exc.hint), exc.status)
