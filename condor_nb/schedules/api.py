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
import secrets
import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from condor_nb.condor import constraints, schedd
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
from condor_nb.store import tracking
from condor_nb.submission import quoting
from condor_nb.worker import CRON_PATH

CRON_SCRIPT = "condor_nb_cron.py"
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


def _description(
    spec: Any, schedule_id: str, cron: str, keep_runs: int, settings: Settings, job_dir: Path
) -> dict[str, str]:
    from condor_nb.submission import templates
    from condor_nb.submission.executor import wanted
    from condor_nb.submission.render import JobFiles, render, worker_notebook_name

    ship = wanted(settings, spec.image, procs=1)
    files = JobFiles(job_dir, worker_notebook_name(spec.notebook), executor=ship)
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
    desc.pop("MY.CondorNbId", None)  # not a one-off job: `condor_nb q` does not list it
    # Always spooled, shared filesystem or not: the runs archive lives in the spool, and
    # a schedule must keep firing whatever happens to the notebook host's folders.
    desc.pop("MY.CondorNbSpooled", None)
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
            "MY.CondorNbScheduleId": quoting.encode_attr(schedule_id),
            "MY.CondorNbCron": quoting.encode_attr(cron),
            "MY.CondorNbKeepRuns": str(keep_runs),
        }
    )
    return desc


def _stage(spec: Any, job_dir: Path, keep_runs: int, archive: Path | None) -> None:
    from condor_nb.submission import executor
    from condor_nb.submission.render import job_config, worker_notebook_name
    from condor_nb.worker import WRAPPER_FILES

    in_dir, out_dir = job_dir / "in", job_dir / "out"
    in_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = worker_notebook_name(spec.notebook)
    if spec.notebook != in_dir / name:
        shutil.copyfile(spec.notebook, in_dir / name)
    for worker_name, source in WRAPPER_FILES.items():
        shutil.copyfile(source, in_dir / worker_name)
    executor.stage(in_dir)
    shutil.copyfile(CRON_PATH, in_dir / CRON_SCRIPT)
    if archive is not None and archive.is_file():
        shutil.copyfile(archive, in_dir / ARCHIVE)
    elif not (in_dir / ARCHIVE).exists():
        (in_dir / ARCHIVE).write_bytes(b"")
    config = job_config(spec, job_id=job_dir.name, notebook_name=name)
    config["keep_runs"] = keep_runs
    (in_dir / "condor_nb_job.json").write_text(json.dumps(config), encoding="utf-8")


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
    job_dir = _dir(settings, schedule_id)
    desc = _description(spec, schedule_id, cron, keep_runs, settings, job_dir)
    if holds:  # an update carries the pause history over (schedules_missed)
        desc["MY.CondorNbHolds"] = f'"{holds}"'
    new_folder = not job_dir.exists()  # an update restages the schedule's own folder
    cluster: int | None = None
    try:  # a failed create leaves neither a folder nor a cluster behind
        _stage(spec, job_dir, keep_runs, archive)
        saved = {**request, "cron": cron, "keep_runs": keep_runs}
        (job_dir / SPEC_FILE).write_text(json.dumps(saved, default=str), encoding="utf-8")
        client = schedd.client_for(settings)
        cluster, _ = client.submit(desc)
        ads = client.query(f"ClusterId == {cluster}", PROJECTION)
    except BaseException:
        if cluster is not None:
            with contextlib.suppress(Exception):
                schedd.client_for(settings).act(
                    "remove", f"ClusterId == {cluster}", f"schedule {schedule_id} not created"
                )
        if new_folder:
            shutil.rmtree(job_dir, ignore_errors=True)
        raise
    if not ads:
        raise JobNotFoundError(f"schedule {schedule_id} (cluster {cluster}) left the queue at once")
    return from_ad(ads[0])


def schedule(
    notebook: str | os.PathLike[str],
    cron: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    timezone: str | None = None,
    keep_runs: int = 10,
    cpus: int | str | None = None,
    memory: int | str | None = None,
    disk: int | str | None = None,
    gpus: int | str | None = None,
    image: str | None = None,
    files: Iterable[str | os.PathLike[str]] = (),
    profile: str | None = None,
    kernel: str | None = None,
    cell_timeout: float | None = None,
    allow_unknown_params: bool = False,
    settings: Settings | None = None,
) -> Schedule:
    """Run ``notebook`` on the cron schedule ``cron`` (execute machine's clock, UTC)."""
    from condor_nb.spec.job import notebook_job

    cfg = settings or load_settings(profile=profile)
    expr = schedules_cron.normalize(cron)
    schedules_cron.check_timezone(timezone)
    request: dict[str, Any] = {
        "notebook": str(Path(notebook).expanduser().absolute()),
        "parameters": dict(parameters or {}),
        "name": name,
        "cpus": cpus,
        "memory": memory,
        "disk": disk,
        "gpus": gpus,
        "image": image,
        "files": [str(f) for f in files],
        "profile": profile,
        "kernel": kernel,
        "cell_timeout": cell_timeout,
        "allow_unknown_params": allow_unknown_params,
    }
    spec = notebook_job(
        notebook,
        parameters,
        settings=cfg,
        cpus=cpus,
        memory=memory,
        disk=disk,
        gpus=gpus,
        image=image,
        files=request["files"],
        name=name,
        profile=profile,
        kernel=kernel,
        cell_timeout=cell_timeout,
        allow_unknown_params=allow_unknown_params,
    )
    schedule_id = "s" + secrets.token_hex(4)
    return _submit(spec, schedule_id, expr, _check_keep(keep_runs), cfg, request)


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
        schedd.client_for(cfg).edit(_job_of(current, cfg), "CondorNbHolds", f'"{log}"')
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
    (job_dir / "out").mkdir(parents=True, exist_ok=True)
    client = schedd.client_for(cfg)
    client.retrieve(_job_of(current, cfg))
    index = unpack(job_dir / "out" / ARCHIVE, job_dir / "runs")
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


def update(
    schedule_id: str,
    *,
    cron: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    notebook: str | os.PathLike[str] | None = None,
    name: str | None = None,
    timezone: str | None = None,
    settings: Settings | None = None,
    **changes: Any,
) -> Schedule:
    """Change a schedule: its job is replaced (same id, run history carried over)."""
    from condor_nb.spec.job import notebook_job

    cfg = settings or load_settings()
    current = _live(schedule_id, cfg)
    spec_file = _dir(cfg, schedule_id) / SPEC_FILE
    if not spec_file.is_file():
        raise SpecError(
            f"schedule {schedule_id} was created on another machine: its settings are not here",
            hint="delete it and create it again from this machine",
        )
    request = json.loads(spec_file.read_text(encoding="utf-8"))
    unknown = set(changes) - {"cpus", "memory", "disk", "gpus", "image", "kernel", "keep_runs"}
    if unknown:
        raise SpecError(f"update: unknown setting(s) {', '.join(sorted(unknown))}")
    schedules_cron.check_timezone(timezone)
    for key, value in {"parameters": parameters, "name": name, **changes}.items():
        if value is not None:
            request[key] = dict(value) if key == "parameters" else value
    if notebook is not None:
        request["notebook"] = str(Path(notebook).expanduser().absolute())
    expr = schedules_cron.normalize(cron or current.cron)
    keep = _check_keep(int(request.pop("keep_runs", current.keep_runs)))
    request.pop("cron", None)
    nb = request["notebook"] if Path(request["notebook"]).is_file() else None
    staged = _dir(cfg, schedule_id) / "in"
    source = nb or next((p for p in staged.glob("*.ipynb")), None)
    if source is None:
        raise SpecError(
            f"schedule {schedule_id}: its notebook {request['notebook']} is gone",
            hint="pass notebook=... with the notebook to run",
        )
    keys = (
        "cpus",
        "memory",
        "disk",
        "gpus",
        "image",
        "profile",
        "kernel",
        "cell_timeout",
        "allow_unknown_params",
        "name",
    )
    spec = notebook_job(
        source,
        request.get("parameters"),
        settings=cfg,
        files=request.get("files", []),
        **{k: request.get(k) for k in keys if k != "allow_unknown_params"},
        allow_unknown_params=bool(request.get("allow_unknown_params")),
    )
    runs(schedule_id, settings=cfg)  # the newest archive, to carry the run history over
    archive = _dir(cfg, schedule_id) / "out" / ARCHIVE
    holds = format_log(_holds_until(current, time.time()))
    fresh = _submit(spec, schedule_id, expr, keep, cfg, request, archive=archive, holds=holds)
    schedd.client_for(cfg).act(
        "remove", f"{_job_of(current, cfg)}", f"schedule {schedule_id} updated"
    )
    if current.state == "PAUSED":
        fresh = pause(schedule_id, settings=cfg)
    return fresh
