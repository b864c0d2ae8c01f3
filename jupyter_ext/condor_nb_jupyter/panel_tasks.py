"""The panel's work in the worker process: one snapshot of jobs, sweeps and schedules,
and the actions (off the event loop: the HTCondor bindings hold the GIL).

A snapshot asks the schedd once (the registry's incremental sync, the live attribute of
running jobs, why idle jobs wait, the schedules), builds every row and encodes the JSON
once; the server answers every client from it until the next refresh.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from condor_nb_jupyter.tasks import Overrides, TaskError, _settings, task

#: The folder (under the server's root) that ``fetch`` fills, one subfolder per job.
OUTPUTS_FOLDER = "condor_nb_outputs"
#: A schedule's runs are retrieved again when its run counts moved, or after this long
#: (missed firings are worked out with time alone).
SCHEDULE_RUNS_MAX_AGE_S = 60.0


#: This worker process's rows of the last snapshot: id -> (what the row read, its JSON).
_ROWS: dict[str, tuple[tuple[Any, ...], str]] = {}


class _Counting:
    """A schedd client that counts the calls made through it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return attr(*args, **kwargs)

        return counted


def _live_of_running(client: Any, settings: Any, running: Sequence[str]) -> dict[str, Any]:
    """condor_nb id -> decoded live value of each running job (one query)."""
    from condor_nb.condor import live
    from condor_nb.contract import names
    from condor_nb.store import tracking

    if not running:
        return {}
    constraint = tracking.mine("JobStatus == 2", settings)
    out: dict[str, Any] = {}
    for ad in client.query(constraint, (names.ID_ATTR, *live.PROJECTION)):
        job_id = ad.get(names.ID_ATTR)
        info = live.decode(ad)
        if isinstance(job_id, str) and info is not None:
            out[job_id] = info
    return out


def _schedules(
    settings: Any, previous: Mapping[str, Any], now: float
) -> tuple[list[dict[str, Any]], dict[str, Any], int, list[str]]:
    """Schedule rows; their runs retrieved only when they moved (else ``previous``)."""
    from condor_nb.schedules import api as schedules

    calls, problems = 1, []
    kept: dict[str, Any] = {}
    out: list[dict[str, Any]] = []
    for current in schedules.list_schedules(settings=settings):
        key = [current.runs_started, current.runs_finished, current.state, current.next_run]
        old = previous.get(current.id)
        if old is not None and old["key"] == key and now - old["at"] < SCHEDULE_RUNS_MAX_AGE_S:
            kept[current.id] = old
        else:
            try:
                found, skipped = schedules.history(current.id, settings=settings)
                calls += 2
                runs = [r.to_dict() for r in found]
                missed = [m.to_dict() for m in skipped]
                kept[current.id] = {"key": key, "at": now, "runs": runs, "missed": missed}
            except Exception as exc:  # its runs stay as they were; the row still shows
                problems.append(f"schedule {current.id}: runs not retrieved: {exc}")
                kept[current.id] = old or {"key": None, "at": now, "runs": [], "missed": []}
        out.append(current.to_dict())
        kept[current.id] = {**kept[current.id], "schedule": out[-1]}  # shown if unreachable
    return out, kept, calls, problems


def _unreachable(exc: Exception) -> str:
    """What the panel says when the schedd (or its collector) could not be asked: what
    failed, what to do, and what the rows are meanwhile."""
    message = (getattr(exc, "message", None) or str(exc)).rstrip(".")
    hint = (getattr(exc, "hint", None) or "").rstrip(".")
    what = f"{message[:1].upper()}{message[1:]}."
    todo = f" What to do: {hint}." if hint else ""
    return (
        f"{what}{todo} Meanwhile the panel shows your jobs as condor_nb last saw them "
        "(its registry), and asks again at every refresh."
    )


def _slow(waited: float, settings: Any) -> str:
    """What the panel says while a snapshot has waited ``waited`` s for the schedd."""
    where = f"the collector {settings.collector}" if settings.collector else "the pool's collector"
    return (
        f"HTCondor has not answered for {waited:.0f} s; condor_nb is still asking (a "
        "collector or schedd cut off without refusing, e.g. behind a firewall that drops "
        f"packets, takes up to 3 x {settings.schedd_timeout:g} s to give up). What to do: "
        f"check that {where} is reachable from this host (`condor_nb doctor` in a "
        "terminal), or ask the pool's admins; CONDOR_NB_SCHEDD_TIMEOUT shortens the wait. "
        "Meanwhile the panel shows your jobs as condor_nb last saw them (its registry)."
    )


@task
def snapshot(
    overrides: Overrides,
    root_dir: str | None,
    previous_schedules: Mapping[str, Any],
    waited: float | None = None,
) -> dict[str, Any]:
    """Everything the panel shows, from one look at the schedd.

    Returns ``{"body": JSON text, "procs": {sweep id: JSON text of its proc rows},
    "schedules": what the next snapshot may reuse, "schedd_calls": n, "error"}``. A schedd
    that cannot be reached gives the registry's rows as last seen, with ``error`` saying
    so (and what to do); the body carries it too. With ``waited`` (seconds a snapshot has
    been waiting for the schedd) the schedd is not asked: the registry's rows, saying so.
    """
    from condor_nb.condor import schedd
    from condor_nb.diagnostics import idle
    from condor_nb.errors import CondorNbError
    from condor_nb.store import tracking
    from condor_nb.store.registry import registry_for
    from condor_nb.view import panel

    settings = _settings(overrides)
    registry = registry_for(settings)
    error: str | None = None
    try:
        if waited is not None:
            error = _slow(waited, settings)
            records = sorted(registry.all(), key=lambda r: r.submitted_at)
        else:
            client = _Counting(schedd.client_for(settings))
            records = tracking.sync(client, registry, settings)
    except CondorNbError as exc:  # unreachable, credentials, configuration: say so, show
        # the registry's rows as last seen rather than nothing
        error = _unreachable(exc)
        records = sorted(registry.all(), key=lambda r: r.submitted_at)
    now = time.time()
    live: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    calls = 1
    if error is None:
        running = [r.id for r in records if r.state == "RUNNING"]
        live = _live_of_running(client, settings, running)
        calls = client.calls
        idle_ones = [r for r in records if r.state == "QUEUED"]
        reasons = idle.reasons(settings, idle_ones) if idle_ones else {}
        calls += 1 if idle_ones else 0
    by_id = {r.id: r for r in records}

    seen: dict[str, tuple[tuple[Any, ...], str]] = {}

    def row(r: Any, index: int | None = None) -> str:
        """The row's JSON (a sweep's proc's with ``index``), from the rows of the last
        snapshot when nothing it reads changed."""
        key = (index, *panel.row_key(r, live.get(r.id), reasons.get(r.id)))
        slot = r.id if index is None else f"{r.id}:{index}"
        old = _ROWS.get(slot)
        if old is not None and old[0] == key and r.state != "RUNNING":
            seen[slot] = old
            return old[1]
        made = panel.job_row(r, now, live=live.get(r.id), reason=reasons.get(r.id),
                             root_dir=root_dir)  # fmt: skip
        if index is not None:
            made = panel.proc_row(index, r, made)
        seen[slot] = (key, json.dumps(made, default=str))
        return seen[slot][1]

    jobs = [row(r) for r in reversed(records) if r.sweep_id is None]
    sweeps = []
    procs: dict[str, str] = {}
    for sweep in sorted(registry.sweeps(), key=lambda s: s.submitted_at, reverse=True):
        members = [(i, by_id.get(r.id, r)) for i, r in registry.sweep_members(sweep.id)]
        sweeps.append(panel.sweep_row(sweep, [r for _, r in members], root_dir))
        procs[sweep.id] = "[" + ", ".join(row(r, i) for i, r in members) + "]"
    _ROWS.clear()
    _ROWS.update(seen)
    problems: list[str] = []
    try:
        if error is not None:  # the schedules as last seen
            kept = dict(previous_schedules)
            found = [v["schedule"] for v in kept.values() if v.get("schedule")]
        else:
            found, kept, schedule_calls, problems = _schedules(settings, previous_schedules, now)
            calls += schedule_calls
    except Exception as exc:  # the jobs are still worth showing
        found, kept = [], dict(previous_schedules)
        problems = [f"schedules not listed: {exc}"]
    rows = []
    for s in found:
        history = kept[s["id"]]
        runs = panel.schedule_runs(history["runs"], history["missed"])
        rows.append(panel.schedule_row(s, runs, root_dir))
    head = json.dumps({"generated": now, "sweeps": sweeps, "schedules": rows[::-1],
                       "problems": problems, "error": error}, default=str)  # fmt: skip
    body = head[:-1] + ', "jobs": [' + ", ".join(jobs) + "]}"
    return {
        "body": body,
        "procs": procs,
        "schedules": kept,
        "schedd_calls": calls,
        "error": error,
    }


@task
def sweep_results(overrides: Overrides, sweep_id: str) -> dict[str, Any]:
    """The results table of a sweep (outputs of its finished procs retrieved once)."""
    from condor_nb.sweeps import api as sweeps
    from condor_nb.view import panel

    sweep = sweeps.get_sweep(sweep_id, settings=_settings(overrides))
    rows = sweep.results(as_dataframe=False, retrieve=True)
    return panel.results(list(rows))


@task
def job_action(
    overrides: Overrides, job_id: str, action: str, force: bool, root_dir: str | None
) -> dict[str, Any]:
    """hold, release, remove (refused for unfetched outputs unless ``force``), fetch."""
    from condor_nb import api

    job = api.get(job_id, settings=_settings(overrides))
    out: dict[str, Any] = {"id": job.id}
    if action == "fetch":
        if not root_dir:
            raise TaskError("ConfigError", "the server has no root folder to fetch into", None, 503)
        folder = Path(root_dir) / OUTPUTS_FOLDER / job.id
        fetched = job.fetch(folder)

        def rel(p: Path | None) -> str | None:
            return None if p is None else os.path.relpath(p, root_dir)

        out.update(folder=rel(fetched.directory), notebook=rel(fetched.notebook),
                   html=rel(fetched.report))  # fmt: skip
    elif action == "remove":
        job.remove(force=force)
    else:
        getattr(job, action)()
    out["state"] = job.status().state.value
    return out


@task
def sweep_action(overrides: Overrides, sweep_id: str, action: str, force: bool) -> dict[str, Any]:
    """retry (the failed procs, as a new cluster), hold, release, remove."""
    from condor_nb.sweeps import api as sweeps

    sweep = sweeps.get_sweep(sweep_id, settings=_settings(overrides))
    out: dict[str, Any] = {"id": sweep.id}
    if action == "retry":
        out["retried"] = [job.id for job in sweep.retry()]
    elif action == "remove":
        sweep.remove(force=force)
    else:
        getattr(sweep, action)()
    out["counts"] = dict(sweep.status())
    return out
