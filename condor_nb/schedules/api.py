"""Schedules: a notebook that HTCondor runs on a cron schedule, living on the schedd.

One schedule is one spooled HTCondor cron job (``cron_minute`` ... with
``on_exit_remove = false``): the schedd fires it by the execute machine's clock
with no condor_nb process alive. Every firing runs the ordinary job wrapper and
files that run's outputs in a cumulative archive the job carries from run to run
(:mod:`condor_nb.worker.cron`), so :func:`runs` can retrieve every kept run at
any time while the schedule keeps going. Shared by the Python API, the CLI
(``condor_nb schedule``) and the Jupyter scheduler backend::

    s = condor_nb.schedule("report.ipynb", "0 6 * * *", parameters={"day": "today"})
    condor_nb.schedules.pause(s.id); condor_nb.schedules.resume(s.id)
    for run in condor_nb.schedules.runs(s.id): print(run.run_id, run.state, run.files)
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets as secrets_module
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Unpack

from condor_nb.condor import constraints, schedd
from condor_nb.contract import names
from condor_nb.contract.layout import IN_DIR, OUT_DIR, JobFiles, worker_notebook_name
from condor_nb.errors import JobNotFoundError, SpecError
from condor_nb.schedules import cron as schedules_cron
from condor_nb.schedules.missed import HELD as SYSTEM_HOLD
from condor_nb.schedules.missed import PAUSED as PAUSED_HOLD
from condor_nb.schedules.missed import Hold, MissedRun, RunTimes, format_log, missed_runs, parse_log
from condor_nb.schedules.runs import ARCHIVE, Run, runs_from_index, unpack
from condor_nb.schedules.state import (
    DELETED,
    PAUSED,
    PROJECTION,
    Schedule,
    from_ad,
    newest_per_id,
)
from condor_nb.settings import Settings, load_settings
from condor_nb.spec import quoting
from condor_nb.spec.job import NotebookJob, build, secrets_as_given
from condor_nb.spec.options import JobOptions, ScheduleKwargs, document, names_for
from condor_nb.store import tracking
from condor_nb.submission import preflight, staging, templates
from condor_nb.submission import submit as chokepoint
from condor_nb.submission.executor import wanted
from condor_nb.submission.render import render
from condor_nb.worker import CRON_PATH

CRON_SCRIPT = names.CRON_NAME
SPEC_FILE = "schedule.json"
#: Seconds before a run that HTCondor may claim a slot and send the inputs.
PREP_TIME = 60
#: Seconds after the planned time that a run may still start; later, the start is missed.
WINDOW = 120
#: HoldReasonCode 18: "the job missed its deferred execution time". The next run goes on.
MISSED_START_RELEASE = "HoldReasonCode =?= 18"

__all__ = [
    "MissedRun",
    "Run",
    "Schedule",
    "delete",
    "get",
    "history",
    "list_schedules",
    "missed",
    "pause",
    "resume",
    "runs",
    "schedule",
    "update",
]


def _dir(settings: Settings, schedule_id: str) -> Path:
    return settings.home / "schedules" / schedule_id


def home_constraint(settings: Settings) -> str:
    """Every schedule of our Owner created from this condor_nb home."""
    return _constraint(settings)


def _constraint(settings: Settings, schedule_id: str | None = None) -> str:
    """Our schedules: of our Owner, created from this condor_nb home (as for jobs)."""
    return constraints.schedule(tracking.owner(settings), settings.home, schedule_id)


def _job_of(current: Schedule, settings: Settings) -> str:
    """The schedule's current job, scoped like every schedule constraint."""
    where = f"ClusterId == {current.cluster} && ProcId == {current.proc}"
    return f"{_constraint(settings, current.id)} && {where}"


def _check_keep(keep_runs: int) -> int:
    if isinstance(keep_runs, bool) or not isinstance(keep_runs, int) or not 1 <= keep_runs <= 500:
        raise SpecError(
            f"keep_runs: expected a whole number from 1 to 500; got {keep_runs!r}",
            hint="it is how many of the newest runs keep their files on the schedd",
        )
    return keep_runs


def _files(spec: Any, settings: Settings, job_dir: Path) -> JobFiles:

    ship = wanted(settings, spec.image, procs=1)
    return JobFiles(job_dir, worker_notebook_name(spec.notebook), executor=ship)


def _description(
    spec: Any, schedule_id: str, cron: str, keep_runs: int, settings: Settings, files: JobFiles
) -> dict[str, str]:

    try:
        desc = render(
            spec,
            job_id=schedule_id,
            files=files,
            template=templates.load(spec.profile),
            settings=settings,
        )
    except ValueError as exc:
        raise SpecError(f"cannot build the schedule's submit description: {exc}") from None
    desc.pop(f"MY.{names.ID_ATTR}", None)  # not a one-off job: `condor_nb q` does not list it
    # Always spooled, shared filesystem or not: the runs archive lives in the spool, and
    # a schedule must keep firing whatever happens to the notebook host's folders.
    desc.pop(f"MY.{names.SPOOLED_ATTR}", None)
    python = quoting.plain_value(settings.worker_python, what="worker_python")
    extra_inputs = [files.in_dir / CRON_SCRIPT, files.in_dir / ARCHIVE]
    desc["transfer_input_files"] += "".join(
        ", " + quoting.transfer_path(str(p)) for p in extra_inputs
    )
    desc.update(schedules_cron.submit_commands(cron))
    desc.update(
        {
            "arguments": f"{python} {CRON_SCRIPT}",
            "on_exit_remove": "false",
            "cron_prep_time": str(PREP_TIME),
            "cron_window": str(WINDOW),
            "periodic_release": MISSED_START_RELEASE,
            f"MY.{names.SCHEDULE_ID_ATTR}": quoting.encode_attr(schedule_id),
            f"MY.{names.CRON_ATTR}": quoting.encode_attr(cron),
            f"MY.{names.KEEP_RUNS_ATTR}": str(keep_runs),
        }
    )
    return desc


def _submit(
    spec: Any,
    schedule_id: str,
    cron: str,
    keep_runs: int,
    settings: Settings,
    request: Mapping[str, Any],
    archive: Path | None = None,
    holds: str = "",
) -> Schedule:
    """Through the one chokepoint: the same preflight as a single job (a schedule fires
    for months: an expired credential or a missing image is refused now), the one
    staging (plus the cron runner and the runs archive), and on failure neither a new
    folder nor a cluster left behind (an update restages the schedule's own folder,
    which stays)."""
    job_dir = _dir(settings, schedule_id)
    files = _files(spec, settings, job_dir)
    desc = _description(spec, schedule_id, cron, keep_runs, settings, files)
    if holds:  # an update carries the pause history over (schedules_missed)
        desc[f"MY.{names.HOLDS_ATTR}"] = f'"{holds}"'
    saved = {**request, "cron": cron, "keep_runs": keep_runs}

    def stage() -> None:
        extra = [(CRON_SCRIPT, CRON_PATH), (ARCHIVE, archive)]
        staging.stage_job(spec, files, job_dir.name, config_extra={"keep_runs": keep_runs},
                          extra_inputs=extra)  # fmt: skip
        (job_dir / SPEC_FILE).write_text(json.dumps(saved, default=str), encoding="utf-8")

    ads: list[Mapping[str, Any]] = []

    def look(cluster: int) -> None:
        ads.extend(schedd.client_for(settings).query(f"ClusterId == {cluster}", PROJECTION))

    sub = chokepoint.Submission(
        kind=f"schedule {schedule_id}", description=desc, spool=True,
        target=preflight.Target(spec.notebook, spec.image, spec.kernel, job_dir),
        stage=stage, wall_time=getattr(spec, "wall_time", None), secrets=files.secrets,
        after=look, allow_no_match=bool(getattr(spec, "allow_no_match", False)),
    )  # fmt: skip
    done = chokepoint.submit(sub, settings)
    if not ads:
        raise JobNotFoundError(
            f"schedule {schedule_id} (cluster {done.cluster}) left the queue at once"
        )
    return from_ad(ads[0])


@document("schedule")
def schedule(
    notebook: str | os.PathLike[str],
    cron: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    timezone: str | None = None,
    keep_runs: int = 10,
    settings: Settings | None = None,
    **options: Unpack[ScheduleKwargs],
) -> Schedule:
    """Run ``notebook`` on the cron schedule ``cron`` (execute machine's clock, UTC).

    ``keep_runs``: how many of the newest runs keep their files. The options of every
    run (those of :func:`condor_nb.submit`, but ``retries``: a schedule's next run is
    its next firing):

        {job_options}

    Secrets are read now and kept in the schedule's spool on the access point, for
    every run; :func:`update` reads them again from where they came from.
    """
    given = JobOptions.from_kwargs(options, kind="schedule")
    cfg = settings or load_settings(profile=given.profile)
    expr = schedules_cron.normalize(cron)
    schedules_cron.check_timezone(timezone)
    spec = build(notebook, parameters, given, cfg)
    request = _request(spec, given, parameters)
    schedule_id = "s" + secrets_module.token_hex(4)
    with _secrets_forgotten(cfg, schedule_id):
        return _submit(spec, schedule_id, expr, _check_keep(keep_runs), cfg, request)


def _request(
    spec: NotebookJob, options: JobOptions, parameters: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What :func:`update` needs to build the schedule's job again (saved as schedule.json):
    the options as given, with paths made absolute (never a secret's value)."""
    request: dict[str, Any] = {
        "notebook": str(spec.notebook),
        "parameters": dict(parameters or {}),
        **{name: getattr(options, name) for name in names_for("schedule")},
    }
    request["files"] = [str(f) for f in spec.files]
    request["secrets"] = secrets_as_given(spec.secrets)
    return request


@contextlib.contextmanager
def _secrets_forgotten(settings: Settings, schedule_id: str) -> Iterator[None]:
    """The staged secret values go once the schedd has them (a schedule is always
    spooled), or when the submission failed."""
    try:
        yield
    finally:
        (_dir(settings, schedule_id) / IN_DIR / names.SECRETS_JSON).unlink(missing_ok=True)


def _ads(settings: Settings, schedule_id: str | None = None) -> dict[str, Any]:
    client = schedd.client_for(settings)
    return newest_per_id(list(client.query(_constraint(settings, schedule_id), PROJECTION)))


def list_schedules(*, settings: Settings | None = None) -> list[Schedule]:
    """Every schedule of this user on the schedd, oldest first."""
    cfg = settings or load_settings()
    found = [from_ad(ad) for ad in _ads(cfg).values()]
    return sorted((s for s in found if s.state != DELETED), key=lambda s: s.created_at)


def get(schedule_id: str, *, settings: Settings | None = None) -> Schedule:
    cfg = settings or load_settings()
    if not isinstance(schedule_id, str) or not schedule_id.isalnum():
        raise JobNotFoundError(
            f"schedule id: expected letters and digits such as s1a2b3c4d; got {schedule_id!r}",
            hint="`condor_nb schedule list` shows your schedules",
        )
    ad = _ads(cfg, schedule_id).get(schedule_id)
    if ad is None:
        raise JobNotFoundError(
            f"no schedule {schedule_id!r} in the queue of the schedd",
            hint="`condor_nb schedule list` shows your schedules",
        )
    return from_ad(ad)


def _live(schedule_id: str, cfg: Settings) -> Schedule:
    """The schedule, refusing one already deleted (its removed job may linger a moment)."""
    current = get(schedule_id, settings=cfg)
    if current.state == DELETED:
        raise JobNotFoundError(
            f"no schedule {schedule_id!r}: it was deleted",
            hint="`condor_nb schedule list` shows your schedules",
        )
    return current


def _act(
    schedule_id: str, action: schedd.Action, reason: str, settings: Settings | None, extra: str = ""
) -> Schedule:
    cfg = settings or load_settings()
    current = _live(schedule_id, cfg)
    client = schedd.client_for(cfg)
    client.act(action, _job_of(current, cfg) + extra, reason)
    return get(schedule_id, settings=cfg) if action != "remove" else current


def pause(schedule_id: str, *, settings: Settings | None = None) -> Schedule:
    """Hold the schedule's job: no run starts until :func:`resume` (a running one stops)."""
    deadline = time.monotonic() + 30
    while get(schedule_id, settings=settings).reason == "uploading inputs":
        if time.monotonic() > deadline:
            break
        time.sleep(0.3)  # a hold placed during the upload hold is undone by the schedd
    return _act(schedule_id, "hold", f"paused by condor_nb user (schedule {schedule_id})", settings)


def _holds_until(current: Schedule, end: float | None) -> list[Hold]:
    """The schedule's pauses and holds so far; the current one ends at ``end`` (None:
    it goes on)."""
    holds = parse_log(current.hold_log)
    if current.held_since is not None:
        kind = PAUSED_HOLD if current.state == PAUSED else SYSTEM_HOLD
        holds.append(Hold(kind, current.held_since, end, current.reason or ""))
    return holds


def resume(schedule_id: str, *, settings: Settings | None = None) -> Schedule:
    cfg = settings or load_settings()
    current = _live(schedule_id, cfg)
    if current.held_since is not None:  # remember the pause: its firings were skipped
        log = format_log(_holds_until(current, time.time()))
        schedd.client_for(cfg).edit(_job_of(current, cfg), names.HOLDS_ATTR, f'"{log}"')
    extra = f" && {constraints.not_uploading()}"
    reason = f"resumed by condor_nb user (schedule {schedule_id})"
    return _act(schedule_id, "release", reason, cfg, extra)


def delete(schedule_id: str, *, keep_files: bool = False, settings: Settings | None = None) -> None:
    """Remove the schedule's job (and its local folder, unless ``keep_files``)."""
    cfg = settings or load_settings()
    client = schedd.client_for(cfg)
    get(schedule_id, settings=cfg)
    client.act("remove", _constraint(cfg, schedule_id), f"schedule {schedule_id} deleted")
    if not keep_files:
        shutil.rmtree(_dir(cfg, schedule_id), ignore_errors=True)


def runs(schedule_id: str, *, settings: Settings | None = None) -> list[Run]:
    """Every run so far (oldest first), with the files of the newest ``keep_runs`` runs.

    Retrieves the schedule's run archive from the schedd (the schedule keeps
    running) and unpacks new runs under ``<home>/schedules/<id>/runs/``.
    """
    cfg = settings or load_settings()
    return _runs_of(get(schedule_id, settings=cfg), cfg)


def _runs_of(current: Schedule, cfg: Settings) -> list[Run]:
    job_dir = Path(current.job_dir) if current.job_dir else _dir(cfg, current.id)
    (job_dir / OUT_DIR).mkdir(parents=True, exist_ok=True)
    client = schedd.client_for(cfg)
    client.retrieve(_job_of(current, cfg))
    index = unpack(job_dir / OUT_DIR / ARCHIVE, job_dir / "runs")
    return runs_from_index(current.id, index, job_dir / "runs")


def history(
    schedule_id: str, *, settings: Settings | None = None
) -> tuple[list[Run], list[MissedRun]]:
    """The runs so far and the firings that did not run (see :func:`missed`), together.

    The schedule is read before its runs are retrieved: a run that ends in between
    then cannot make its own firing look missed (the next planned time, read first,
    never runs ahead of the runs in hand).
    """
    cfg = settings or load_settings()
    current = get(schedule_id, settings=cfg)
    found = _runs_of(current, cfg)
    return found, _missed(current, found)


def missed(schedule_id: str, *, settings: Settings | None = None) -> list[MissedRun]:
    """The firings that did not run, oldest first, each with why (see schedules_missed).

    SKIPPED ones fell while the schedule was paused; MISSED ones should have run.
    """
    return history(schedule_id, settings=settings)[1]


def _missed(current: Schedule, found: list[Run]) -> list[MissedRun]:
    now = time.time()
    holds = _holds_until(current, None)
    if current.held_since is not None:  # held now: every firing until now is skipped
        horizon = None
    elif current.next_run is None:
        return []  # no firing planned yet (just submitted, or deleted)
    else:
        horizon = current.next_run
    times = [RunTimes(r.run_id, r.planned, r.started, r.finished) for r in found]
    return missed_runs(current.id, current.cron, created=current.created_at, runs=times,
                       holds=holds, next_planned=horizon, now=now)  # fmt: skip


@document("schedule")
def update(
    schedule_id: str,
    *,
    cron: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    notebook: str | os.PathLike[str] | None = None,
    timezone: str | None = None,
    keep_runs: int | None = None,
    settings: Settings | None = None,
    **options: Unpack[ScheduleKwargs],
) -> Schedule:
    """Change a schedule: its job is replaced (same id, run history carried over).

    Every argument left out (None) keeps its current value; the options are those of
    :func:`schedule`:

        {job_options}

    The schedule's secrets are read again, from the environment variables or files
    they came from.
    """
    changed = JobOptions.from_kwargs(options, kind="schedule").given()
    cfg = settings or load_settings()
    current = _live(schedule_id, cfg)
    spec_file = _dir(cfg, schedule_id) / SPEC_FILE
    if not spec_file.is_file():
        raise SpecError(
            f"schedule {schedule_id} was created on another machine: its settings are not here",
            hint="delete it and create it again from this machine",
        )
    request = json.loads(spec_file.read_text(encoding="utf-8"))
    schedules_cron.check_timezone(timezone)
    if options.get("allow_unknown_params") is False:
        changed["allow_unknown_params"] = False
    request.update(changed)
    if parameters is not None:
        request["parameters"] = dict(parameters)
    if notebook is not None:
        request["notebook"] = str(Path(notebook).expanduser().absolute())
    expr = schedules_cron.normalize(cron or current.cron)
    saved_keep = int(request.pop("keep_runs", current.keep_runs))
    keep = _check_keep(saved_keep if keep_runs is None else keep_runs)
    request.pop("cron", None)
    nb = request["notebook"] if Path(request["notebook"]).is_file() else None
    staged = _dir(cfg, schedule_id) / IN_DIR
    source = nb or next((p for p in staged.glob("*.ipynb")), None)
    if source is None:
        raise SpecError(
            f"schedule {schedule_id}: its notebook {request['notebook']} is gone",
            hint="pass notebook=... with the notebook to run",
        )
    merged = JobOptions.of("schedule", request)
    spec = build(source, request.get("parameters"), merged, cfg)
    request = {
        **_request(spec, merged, request.get("parameters")),
        "notebook": request["notebook"],
    }
    runs(schedule_id, settings=cfg)  # the newest archive, to carry the run history over
    archive = _dir(cfg, schedule_id) / OUT_DIR / ARCHIVE
    holds = format_log(_holds_until(current, time.time()))
    with _secrets_forgotten(cfg, schedule_id):
        fresh = _submit(spec, schedule_id, expr, keep, cfg, request, archive=archive, holds=holds)
    schedd.client_for(cfg).act(
        "remove", f"{_job_of(current, cfg)}", f"schedule {schedule_id} updated"
    )
    if current.state == "PAUSED":
        fresh = pause(schedule_id, settings=cfg)
    return fresh
