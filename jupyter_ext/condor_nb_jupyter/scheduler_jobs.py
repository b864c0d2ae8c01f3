"""What condor_nb knows of a jupyter-scheduler job, for its Job Detail page.

GET /condor_nb/scheduler-jobs/<jupyter-scheduler job id> ->
    {"job_id", "id" (condor_nb's), "cluster" ("123.0"), "state" (condor_nb's: QUEUED
     RUNNING COMPLETED FAILED HELD REMOVED), "reason" (why it waits or was held),
     "failure" (why it failed), "schedule", "run"}

404 for a job that is not a condor_nb job (unknown id). A run of a schedule has no
condor_nb job of its own: ``id`` and ``cluster`` are null, ``schedule`` and ``run`` say
which schedule and run it is, ``state`` is the run's.
"""

from __future__ import annotations

import re
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from condor_nb_jupyter import tasks
from condor_nb_jupyter.errors import BadRequest
from condor_nb_jupyter.handlers import CondorNbHandler

_SCHEDULER_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")
#: jupyter-scheduler status of a schedule's run -> condor_nb state.
_RUN_STATE = {"COMPLETED": "COMPLETED", "FAILED": "FAILED", "STOPPED": "REMOVED"}


def describe(info: dict[str, Any]) -> dict[str, Any]:
    """Contract C's fields from a condor_nb job (``tasks.job_detail``'s answer)."""
    state = info.get("state")
    reason = info.get("reason")
    return {
        "id": info.get("id"),
        "cluster": info.get("condor_id") if info.get("cluster") is not None else None,
        "state": state,
        "reason": reason if state in ("QUEUED", "HELD", "REMOVED") else None,
        "failure": reason if state == "FAILED" else None,
    }


class SchedulerJobHandler(CondorNbHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        if not _SCHEDULER_ID.match(job_id):
            raise BadRequest(
                f"job id: expected a jupyter-scheduler job id (a UUID); got {job_id!r:.80}",
                hint="GET /scheduler/jobs lists the jobs and their job_id",
            )
        scheduler = self.settings.get("scheduler")
        links = getattr(scheduler, "links", None)
        link = links.job(job_id) if links is not None else None
        if link is None:
            raise BadRequest(
                f"job {job_id}: not a condor_nb job (no such job, or made before condor_nb "
                "was the Notebook Jobs backend)",
                hint="GET /scheduler/jobs lists the jobs and their job_id",
                status=404,
            )
        out: dict[str, Any] = {"job_id": job_id, "schedule": link.schedule_id, "run": link.run_id}
        if link.condor_nb_id:
            info = await self.run(tasks.scheduler_job, self.overrides, link.condor_nb_id)
            out.update(describe(info))
        else:
            row = _row(scheduler, job_id)
            status = str(row.status) if row is not None else None
            out.update(
                id=None,
                cluster=None,
                state=_RUN_STATE.get(status or ""),
                reason=row.status_message if row is not None and status != "FAILED" else None,
                failure=row.status_message if row is not None and status == "FAILED" else None,
            )
        self.reply(out)


def _row(scheduler: Any, job_id: str) -> Any:
    from jupyter_scheduler.orm import Job

    with scheduler.db_session() as session:
        return session.query(Job).filter(Job.job_id == job_id).one_or_none()


def routes(base_url: str) -> list[tuple[str, type[CondorNbHandler]]]:
    from jupyter_server.utils import url_path_join as join

    return [(join(base_url, "condor_nb", "scheduler-jobs", r"([^/]+)"), SchedulerJobHandler)]
