"""Work done in the worker process: small functions that call condor_nb, return plain data.

The HTCondor bindings hold the GIL, so the server never calls them on its event loop
thread (nor in a thread pool): :mod:`condor_nb_jupyter.worker` sends these functions
to a separate process. Arguments and results are plain Python data (no ClassAds).
A :class:`condor_nb.errors.CondorNbError` is turned into a :class:`TaskError`
carrying the error's class name, message, hint and HTTP status (its ``http_status``).
"""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from condor_nb.errors import CondorNbError

F = TypeVar("F", bound=Callable[..., Any])
Overrides = Mapping[str, Any]


class TaskError(Exception):
    """A condor_nb error raised in the worker, in a picklable form."""

    def __init__(self, kind: str, message: str, hint: str | None = None, status: int = 500) -> None:
        super().__init__(kind, message, hint, status)
        self.kind, self.message, self.hint, self.status = kind, message, hint, status

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


def task(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from condor_nb.errors import CondorNbError

        try:
            return func(*args, **kwargs)
        except CondorNbError as exc:
            raise TaskError(type(exc).__name__, exc.message, exc.hint, exc.http_status) from None

    return wrapper  # type: ignore[return-value]


def _settings(overrides: Overrides) -> Any:
    from condor_nb.settings import load_settings

    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


def _job_dict(job: Any) -> dict[str, Any]:
    from condor_nb.store.registry import as_dict
    from condor_nb.store.usage import recorded, runtime_of

    out = as_dict(job.record)
    out["condor_id"] = job.condor_id
    # Seconds it ran (live while running, as the schedd recorded once ended), and what
    # it used against what it requested (recorded when it ended; None before).
    out["runtime"] = runtime_of(job.record, time.time())
    usage = recorded(job.record)
    out["usage"] = None if usage is None else {**asdict(usage), "hints": usage.hints()}
    return out


@task
def ping() -> float:
    """Warm-up: import the core and return the worker's clock."""
    import condor_nb.api  # noqa: F401

    return time.time()


@task
def pool_status(overrides: Overrides) -> dict[str, Any]:
    """Is the schedd reachable, through which configuration, as whom."""
    from condor_nb.condor import schedd
    from condor_nb.store import tracking

    settings = _settings(overrides)
    out: dict[str, Any] = {
        "profile": settings.profile,
        "condor_config": schedd.condor_config_for(settings),
        "owner": None,
    }
    start = time.perf_counter()
    try:
        client = schedd.client_for(settings)
        summary = client.summary(tracking.base_constraint(settings))
        out.update(reachable=True, schedd=client.name, jobs=int(summary.get("Jobs", 0)))
        out["owner"] = tracking.owner(settings)
    except Exception as exc:  # reported, not raised: this endpoint describes the failure
        out.update(reachable=False, error=str(exc))
    out["latency_s"] = round(time.perf_counter() - start, 4)
    out["credentials"] = _credentials(settings)
    return out


def _credentials(settings: Any) -> dict[str, Any]:
    """The credential in use, as plain data (never the token); an error as its message."""
    from condor_nb.condor import credential_in_use

    try:
        return credential_in_use.status(settings=settings)
    except CondorNbError as exc:
        return {"available": True, "error": str(exc)}


@task
def list_jobs(overrides: Overrides, mode: str = "sync") -> list[dict[str, Any]]:
    """Every job; ``mode`` is "sync" (ask the schedd what changed), "none" or "full"."""
    from condor_nb import api

    settings = _settings(overrides)
    if mode == "full":
        api.rebuild_registry(settings=settings)
    jobs = api.jobs(refresh=mode == "sync", settings=settings)
    return [_job_dict(j) for j in jobs]


@task
def list_jobs_json(overrides: Overrides, mode: str = "sync") -> str:
    """:func:`list_jobs` as the response body (encoded here, not on the event loop)."""
    import json

    jobs = list_jobs(overrides, mode)
    return json.dumps({"jobs": jobs, "count": len(jobs)}, default=str)


@task
def job_detail(overrides: Overrides, job_id: str) -> dict[str, Any]:
    from condor_nb import api

    job = api.get(job_id, settings=_settings(overrides))
    job.status()
    out = _job_dict(job)
    out["result"] = job.result()
    return out


@task
def scheduler_job(overrides: Overrides, job_id: str) -> dict[str, Any]:
    """One job's state for the Job Detail page: a queued job's reason says why it waits
    (the no-match summary ``condor_nb q`` shows), a held job's why it was held."""
    from condor_nb import api
    from condor_nb.diagnostics import idle

    settings = _settings(overrides)
    job = api.get(job_id, settings=settings)
    job.status()
    if job.record.state == "QUEUED":
        idle.annotate(settings, [job.record])
    return _job_dict(job)


def coerce_parameters(notebook: str, raw: Mapping[str, str]) -> dict[str, Any]:
    """jupyter-scheduler sends every parameter as text: type it as the notebook declares."""
    from condor_nb.spec.notebook import inspect_notebook
    from condor_nb.spec.params import coerce_cli_value

    declared = inspect_notebook(Path(notebook)).parameters
    return {name: coerce_cli_value(str(value), declared.get(name)) for name, value in raw.items()}


@task
def submit(
    overrides: Overrides,
    notebook: str,
    raw_parameters: Mapping[str, str],
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """Submit a notebook with text parameters typed against its parameters cell."""
    from condor_nb import api

    params = coerce_parameters(notebook, raw_parameters)
    job = api.submit(notebook, params, settings=_settings(overrides), cache=False, **options)
    return _job_dict(job)


@task
def refresh(
    overrides: Overrides, ids: list[str], stage: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, Any]]:
    """Fresh state of these jobs; finished ones get their outputs staged where asked.

    One incremental sync of the registry answers for all of them (no query per job);
    ``stage`` maps a job id to {"dir": folder, "ipynb": path, "html": path}.
    """
    from condor_nb import api

    settings = _settings(overrides)
    wanted = set(ids)
    found = {j.id: j for j in api.jobs(refresh=True, settings=settings) if j.id in wanted}
    from condor_nb.diagnostics import idle  # idle jobs: why they wait, in a few words

    idle.annotate(settings, [j.record for j in found.values()])
    out: dict[str, dict[str, Any]] = {}
    for job_id in ids:
        job = found.get(job_id)
        if job is None:
            try:
                job = api.get(job_id, settings=settings)
            except Exception as exc:
                out[job_id] = {"state": "UNKNOWN", "reason": str(exc)}
                continue
        state = job.record.state
        if state in ("COMPLETED", "FAILED") and job_id in stage:
            _stage_outputs(job, stage[job_id])  # retrieves once; refines the reason
            state = job.status().state.value
        rec = job.record
        out[job_id] = {
            "state": state,
            "reason": rec.reason,
            "cluster": rec.condor_id if rec.cluster is not None else None,
            "started_at": rec.started_at,
            "finished_at": rec.finished_at,
        }
    return out


@task
def unlisted_jobs(overrides: Overrides, known: list[str]) -> list[dict[str, Any]]:
    """The registry's jobs not in ``known`` (read from the registry, no schedd query),
    oldest first; the procs of a sweep are left out (a sweep is one thing, not N jobs)."""
    from condor_nb import api

    seen = set(known)
    jobs = api.jobs(refresh=False, settings=_settings(overrides))
    return [_job_dict(j) for j in jobs if j.id not in seen and j.record.sweep_id is None]


@task
def unlisted_schedules(overrides: Overrides, known: list[str]) -> list[dict[str, Any]]:
    """The schedules on the schedd not in ``known``, each with ``source``: the notebook
    it runs (the user's file while it exists, else the copy condor_nb staged)."""
    from condor_nb.contract.layout import IN_DIR
    from condor_nb.schedules import api as schedules

    settings = _settings(overrides)
    seen = set(known)
    out = []
    for found in schedules.list_schedules(settings=settings):
        if found.id in seen:
            continue
        item = found.to_dict()
        source: Path | None = Path(found.notebook) if found.notebook else None
        if source is None or not source.is_file():
            staged = Path(found.job_dir or schedules._dir(settings, found.id)) / IN_DIR
            source = next(iter(sorted(staged.glob("*.ipynb"))), None)
        item["source"] = str(source) if source is not None else None
        out.append(item)
    return out


def _stage_outputs(job: Any, where: Mapping[str, str]) -> None:
    """Fetch into ``dir/condor_nb/`` (the staged input keeps its name), then copy the
    executed notebook and report to jupyter-scheduler's paths, and the logs beside them."""
    fetched = job.fetch(Path(where["dir"]) / "condor_nb")
    for fmt, source in (("ipynb", fetched.notebook), ("html", fetched.report)):
        if where.get(fmt) and source is not None:
            shutil.copyfile(source, where[fmt])
    for path in fetched.files:
        if path.name in ("stdout.txt", "stderr.txt", "result.json", "manifest.json"):
            shutil.copyfile(path, Path(where["dir"]) / path.name)


@task
def stage(overrides: Overrides, job_id: str, where: Mapping[str, str]) -> dict[str, Any]:
    from condor_nb import api

    job = api.get(job_id, settings=_settings(overrides))
    _stage_outputs(job, where)
    return {"state": job.status().state.value}


@task
def act(overrides: Overrides, job_id: str, action: str) -> str:
    from condor_nb import api

    job = api.get(job_id, settings=_settings(overrides))
    getattr(job, {"remove": "remove", "hold": "hold", "release": "release"}[action])()
    return job.status().state.value


@task
def forget(overrides: Overrides, job_id: str) -> None:
    """Remove the job from the schedd when it is still there, then from the registry."""
    from condor_nb import api

    settings = _settings(overrides)
    job = api.get(job_id, settings=settings)
    if not job.status().state.is_terminal:
        job.remove()
    if job.record.job_dir:
        shutil.rmtree(job.record.job_dir, ignore_errors=True)
    api.registry_for(settings).delete(job_id)


@task
def schedule_call(overrides: Overrides, name: str, *args: Any, **kwargs: Any) -> Any:
    """condor_nb.schedules.<name>(...), with Schedule/Run results as dicts."""
    from condor_nb.schedules import api as schedules

    allowed = {"schedule", "get", "list_schedules", "pause", "resume", "delete", "runs", "update"}
    if name not in allowed:
        raise ValueError(f"not a schedules function: {name}")
    result = getattr(schedules, name)(*args, settings=_settings(overrides), **kwargs)
    if isinstance(result, list):
        return [r.to_dict() for r in result]
    return result.to_dict() if result is not None else None


@task
def schedule_history(overrides: Overrides, schedule_id: str) -> dict[str, list[dict[str, Any]]]:
    """A schedule's runs and the firings that did not run, from one retrieval."""
    from condor_nb.schedules import api as schedules

    found, skipped = schedules.history(schedule_id, settings=_settings(overrides))
    return {"runs": [r.to_dict() for r in found], "missed": [m.to_dict() for m in skipped]}


@task
def create_schedule(
    overrides: Overrides,
    notebook: str,
    cron: str,
    raw: Mapping[str, str],
    timezone: str | None,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    from condor_nb.schedules import api as schedules

    params = coerce_parameters(notebook, raw)
    made = schedules.schedule(
        notebook, cron, params, timezone=timezone, settings=_settings(overrides), **options
    )
    return made.to_dict()


@task
def update_schedule(
    overrides: Overrides,
    schedule_id: str,
    notebook: str,
    cron: str,
    raw: Mapping[str, str],
    timezone: str | None,
) -> dict[str, Any]:
    from condor_nb.schedules import api as schedules

    params = coerce_parameters(notebook, raw)
    return schedules.update(
        schedule_id,
        cron=cron,
        parameters=params,
        notebook=notebook,
        timezone=timezone,
        settings=_settings(overrides),
    ).to_dict()
