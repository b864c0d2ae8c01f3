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


def status_message(condor_nb_id: str, info: dict[str, Any]) -> str | None:
    """The Job Detail page's message for a condor_nb job (None: nothing to say)."""
    state, reason = info.get("state"), info.get("reason")
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
    how many. A job the UI is submitting right now is linked before this writes (the
    links are read again after the worker answers), so it is never listed twice."""
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
            if job["id"] in known:
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


_OPEN = (Status.CREATED, Status.QUEUED, Status.IN_PROGRESS, Status.STOPPING)


def job_files(sched: Any, model: DescribeJob) -> None:
    """The detail page's files: the outputs, and "Files" (the download folder, with
    every file `condor_nb fetch` brings) once downloaded; never the unexecuted input,
    which is not an output (it stays in the user's notebook)."""
    files = [f for f in model.job_files if f.file_format != "input"]
    if model.job_id and sched.links.job(model.job_id) is not None:
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
