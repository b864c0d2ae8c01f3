"""The Python API, and the one module that composes the layers.

Front ends (CLI, Jupyter extension, notebooks) call these functions::

    job = condor_nb.submit("fit.ipynb", parameters={"alpha": 0.5}, memory="4GB")
    job.wait()
    files = job.fetch()        # executed notebook, HTML report, logs, result
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from condor_nb.condor import constraints, schedd
from condor_nb.condor import live as live_state
from condor_nb.condor.state_conflicts import (
    raise_cannot_act,
    raise_no_outputs,
    raise_unless_completed,
)
from condor_nb.condor.status import JobState, StatusInfo, from_result_file
from condor_nb.contract.layout import JobFiles, worker_notebook_name
from condor_nb.contract.names import STDERR, STDOUT
from condor_nb.errors import JobNotFoundError, SpecError, StateConflictError
from condor_nb.settings import Settings, load_settings
from condor_nb.spec.job import build
from condor_nb.spec.options import JobKwargs, JobOptions, document
from condor_nb.spec.usage import Usage
from condor_nb.store import cache as result_cache
from condor_nb.store import condor_ids, outputs, tracking
from condor_nb.store.registry import JobRecord, Registry
from condor_nb.store.registry import registry_for as registry_for  # (moved there)
from condor_nb.store.usage import usage_of
from condor_nb.submission import preflight, staging, templates
from condor_nb.submission import submit as chokepoint
from condor_nb.submission.executor import wanted
from condor_nb.submission.render import is_spooled, render
from condor_nb.submission.submit import new_job_id as new_job_id
from condor_nb.view import html as view_html
from condor_nb.view.live import open_live

if TYPE_CHECKING:  # the submit and fetch paths import these lazily: `q` needs neither
    from condor_nb.contract.layout import JobFiles
    from condor_nb.spec.job import NotebookJob
    from condor_nb.store.outputs import FetchedFiles


class Job:
    """A handle on one submitted notebook job; cheap to create, safe to recreate later."""

    def __init__(self, record: JobRecord, settings: Settings, *, from_cache: bool = False) -> None:
        self._record = record
        self._settings = settings
        self._from_cache = from_cache

    # -- identity --------------------------------------------------------
    @property
    def id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def notebook(self) -> str:
        return self._record.notebook

    @property
    def condor_id(self) -> str:
        return self._record.condor_id

    @property
    def record(self) -> JobRecord:
        return self._record

    @property
    def from_cache(self) -> bool:
        """True when submit() answered with an earlier identical job (no new submission)."""
        return self._from_cache

    def __repr__(self) -> str:
        return f"<Job {view_html.text_line(self._record)} (HTCondor {self.condor_id})>"

    def _repr_html_(self) -> str:
        """The last known state (``status()`` refreshes it), times and output links."""
        return view_html.job_html(self._record)

    # -- state -----------------------------------------------------------
    @property
    def _files(self) -> JobFiles:

        job_dir = Path(self._record.job_dir or self._settings.jobs_dir / self.id)
        return JobFiles(
            job_dir, worker_notebook_name(Path(self.notebook)), self._record.sweep_index
        )

    def _registry(self) -> Registry:
        return registry_for(self._settings)

    def _info(self) -> StatusInfo:
        r = self._record
        return StatusInfo(JobState(r.state), r.reason, r.failure_class, r.exit_code)

    def status(self) -> StatusInfo:
        """The job's state now (asks the schedd unless the job is finished and fetched)."""
        if not (self._record.retrieved_at and self._record.job_state.is_terminal):
            client = schedd.client_for(self._settings)
            fresh = tracking.refresh(client, self._registry(), self._settings, [self.id])
            if self.id in fresh:
                self._record = fresh[self.id]
        return self._info()

    def wait(
        self,
        timeout: float | None = None,
        *,
        poll: float | None = None,
        progress: bool | Callable[[StatusInfo], None] | None = True,
        raise_on_failure: bool = False,
    ) -> StatusInfo:
        """Block until the job finishes (or is held); retrieve its outputs when done.

        ``progress``: by default a live display (updated in place in a notebook, a
        progress line on a terminal's stderr, nothing when neither); ``False`` (or
        ``None``) shows nothing; a callable is called with each :class:`StatusInfo`
        instead. With ``raise_on_failure``: :class:`JobHeldError` when it ended held,
        :class:`NotebookExecutionError` when it FAILED or was REMOVED.
        """
        interval = poll or self._settings.poll_interval
        deadline = None if timeout is None else time.monotonic() + timeout
        start = time.monotonic()
        live = open_live(f"job {self.id} {self.name}") if progress is True else None
        try:
            while True:
                info = self.status()
                if callable(progress):
                    progress(info)
                if live is not None:
                    waited = time.monotonic() - start
                    live.update(view_html.job_html(self._record, waited=waited),
                                view_html.state_line(self._record))  # fmt: skip
                if info.state.is_terminal or info.state is JobState.HELD:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    return info
                time.sleep(interval)
            if info.state in (JobState.COMPLETED, JobState.FAILED):
                info = self._retrieve()
                if live is not None:  # the worker's result may refine the state
                    live.update(
                        view_html.job_html(self._record), view_html.state_line(self._record)
                    )
        finally:
            if live is not None:
                live.close()
        if raise_on_failure:
            raise_unless_completed(self.id, info)
        return info

    # -- outputs ---------------------------------------------------------
    def _retrieve(self) -> StatusInfo:
        """Bring outputs from the schedd into the staging folder (once)."""
        if self._record.retrieved_at:
            return self._info()
        self._files.out_dir.mkdir(parents=True, exist_ok=True)
        if self._record.spooled:  # else the access point wrote them in place already
            client = schedd.client_for(self._settings)
            client.retrieve(tracking.mine(tracking.id_constraint([self.id]), self._settings))
        return self.mark_retrieved()

    def mark_retrieved(self) -> StatusInfo:
        """Record that the outputs are in the staging folder; refine the state from them."""

        files = self._files
        result = outputs.read_result(files.out_dir)
        info = self._info()
        if result is not None:
            info = from_result_file(result)
        now = time.time()
        self._registry().update(
            self.id,
            retrieved_at=now,
            state=info.state.value,
            reason=info.reason,
            failure_class=info.failure_class,
            exit_code=info.exit_code,
        )
        self._record = self._registry().get(self.id) or self._record
        if self._record.sweep_id is None:  # a sweep's procs share in/ (Sweep.retrieve)
            files.secrets.unlink(missing_ok=True)
        # The worker's placeholder that overwrote the spooled secrets (never a value).
        if outputs.is_secrets_placeholder(files.out_dir / files.secrets.name):
            (files.out_dir / files.secrets.name).unlink()
        return info

    def fetch(
        self, dest: str | os.PathLike[str] | None = None, *, overwrite: bool = False
    ) -> FetchedFiles:
        """Copy the executed notebook, HTML report, logs, result and the notebook's own
        files into ``dest`` (layout: docs/users.md, "Where outputs land").

        Default destination: ``./<notebook name>-<job id>/``. Files already there with
        other content are never replaced unless ``overwrite=True`` (FetchError otherwise,
        and nothing is written).
        """
        check_dest(dest)
        info = self.status()
        if info.state in (JobState.COMPLETED, JobState.FAILED):
            self._retrieve()
        files = self._files
        if not self._record.retrieved_at:
            raise_no_outputs(self.id, info)

        stem = Path(self.notebook).stem
        target = Path(dest) if dest is not None else Path.cwd() / f"{stem}-{self.id}"
        fetched = outputs.copy_outputs(files.out_dir, target.absolute(), stem, overwrite=overwrite)
        self._registry().update(self.id, fetched_to=str(fetched.directory))
        self._record = self._registry().get(self.id) or self._record
        return fetched

    def usage(self) -> Usage | None:
        """What the job used against what it requested (memory, disk, CPUs, wall time),
        with ``.hints()`` for the next submit; None until it has run and ended (or is
        held). Recorded when the job ends, so it stays after its outputs are fetched."""
        self.status()
        return usage_of([self._record], self._settings)[self.id]

    def result(self) -> dict[str, Any] | None:
        """The worker's result file (outcome, failing cell, error, timings), once retrieved."""

        return outputs.read_result(self._files.out_dir)

    def logs(self) -> str:
        """The notebook's stdout and stderr once finished (retrieved if need be); while it
        runs, the output known so far (the last ~2 KB, see :meth:`follow`)."""
        out_dir = self._files.out_dir
        info = self.status()
        if not self._record.retrieved_at and info.state in (JobState.COMPLETED, JobState.FAILED):
            info = self._retrieve()
        if self._record.retrieved_at:
            parts = []
            for label, name in (("stdout", STDOUT), ("stderr", STDERR)):
                path = out_dir / name
                text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
                parts.append(f"==> {label} <==\n{text}")
            return "\n".join(parts)
        detail = f" ({info.reason})" if info.reason else ""
        now = f"job {self.id} is {info.state.value}{detail}"
        shown = live_state.so_far(self.live()) if info.state is JobState.RUNNING else None
        if shown is not None:
            return (
                f"{now}; its output so far (the whole log comes back when it ends; "
                f"`condor_nb logs --follow {self.id}` streams it):\n{shown}"
            )
        return (
            f"{now}; its output comes back when it finishes "
            f"(`condor_nb logs --follow {self.id}` shows it as it comes)"
        )

    def _live_ad(self) -> Mapping[str, Any] | None:
        client = schedd.client_for(self._settings)
        constraint = tracking.mine(tracking.id_constraint([self.id]), self._settings)
        ads = client.query(constraint, live_state.PROJECTION)
        return ads[0] if ads else None

    def live(self) -> live_state.LiveInfo | None:
        """What the running job reported last (cell, output tail), from its job ad."""
        ad = self._live_ad()
        return live_state.decode(ad) if ad is not None else None

    def follow(self, poll: float = live_state.FOLLOW_POLL_S) -> Iterator[str]:
        """The job's output as it comes (at most ~10 s behind the notebook), until the job
        ends; a queued job is waited for. The last seconds of output and the whole log
        come with :meth:`fetch` (or :meth:`logs`) once it ended."""
        return live_state.follow(self._live_ad, poll)

    # -- actions ---------------------------------------------------------
    def _act(self, action: schedd.Action, reason: str, extra: str = "") -> None:
        client = schedd.client_for(self._settings)
        constraint = tracking.mine(tracking.id_constraint([self.id]) + extra, self._settings)
        done = client.act(action, constraint, reason)
        info = self.status()
        if not done and action != "remove":
            raise_cannot_act(self.id, action, info)

    def _wait_for_upload(self, timeout: float = 30.0) -> None:
        """The schedd lifts the "spooling input" hold about a second after the upload.

        A hold placed before that is a no-op that the schedd then undoes, so wait.
        """
        deadline = time.monotonic() + timeout
        while self.status().reason == "uploading inputs" and time.monotonic() < deadline:
            time.sleep(0.2)

    def outputs_at_risk(self, *, refresh: bool = True) -> bool:
        """Finished, and its outputs never fetched: still only on the schedd (removing
        would delete them there), or brought back into the staging folder only (by
        ``logs``, ``results``, a status refresh) and never copied to the user."""
        state = self.status().state if refresh else self._record.job_state
        if state not in (JobState.COMPLETED, JobState.FAILED) or self._record.fetched_to:
            return False
        return bool(self._record.spooled or self._record.retrieved_at)

    def remove(self, *, force: bool = False) -> None:
        """Remove the job from the queue.

        A finished job whose outputs were never fetched is refused (StateConflictError) unless
        ``force=True``. Removing never deletes the staging folder: outputs already
        brought back there stay, and ``fetch`` still copies them.
        """
        if not force and self.outputs_at_risk():
            if self._record.retrieved_at:
                where = self._files.out_dir
                what = (
                    f"its outputs were brought back to the staging folder {where} but never "
                    "fetched; nothing was removed"
                )
                hint = (
                    f"fetch them (`condor_nb fetch {self.id}`, Job.fetch()), or remove the job "
                    f"anyway: `condor_nb rm --force {self.id}` (Job.remove(force=True)) keeps "
                    "that folder, and fetch still works"
                )
            else:
                what = (
                    "its outputs were never fetched: removing it would delete them on the "
                    "schedd; nothing was removed"
                )
                hint = (
                    f"fetch them first (`condor_nb fetch {self.id}`, Job.fetch()), or delete "
                    f"them with the job: `condor_nb rm --force {self.id}` (Job.remove(force=True))"
                )
            raise StateConflictError(f"job {self.id} has finished ({self._record.state}) and "
                                     f"{what}", hint=hint)  # fmt: skip
        self._act("remove", f"removed by condor_nb user (job {self.id})")
        if self._record.sweep_id is None:
            self._files.secrets.unlink(missing_ok=True)  # kept only for a non-spooled job

    def hold(self) -> None:
        """Put the job on hold; StateConflictError when it has finished (or is held)."""
        self._wait_for_upload()
        self._act("hold", f"held by condor_nb user (job {self.id})")

    def release(self) -> None:
        """Release the held job; StateConflictError when it is not held."""
        # Never release the "spooling input" hold: the job would start without inputs.
        extra = f" && {constraints.not_uploading()}"
        self._act("release", f"released by condor_nb user (job {self.id})", extra)


def check_dest(dest: str | os.PathLike[str] | None) -> None:
    """An empty destination is a mistake (an unset variable), not "this folder"."""
    if dest is not None and not os.fspath(dest).strip():
        raise SpecError(
            f"the destination folder is empty ({os.fspath(dest)!r})",
            hint="give a folder (`-o .` for the current one), or leave it out for ./NOTEBOOK-ID/",
        )


def _still_good(hit: JobRecord, settings: Settings) -> Job | None:
    """A completed hit is taken as it is; an in-flight one is checked with the schedd
    (and returned with what the schedd said, not the registry's older state)."""
    job = Job(hit, settings, from_cache=True)
    if hit.job_state is JobState.COMPLETED:
        return job
    state = job.status().state
    return job if state in (JobState.QUEUED, JobState.RUNNING, JobState.COMPLETED) else None


def prepare(job: NotebookJob, settings: Settings, job_id: str) -> tuple[JobFiles, dict[str, str]]:
    """The job's staging paths and its submit description (no I/O)."""

    ship = wanted(settings, job.image, procs=1)
    files = JobFiles(settings.jobs_dir / job_id, worker_notebook_name(job.notebook), executor=ship)
    template = templates.load(job.profile)
    try:
        description = render(job, job_id=job_id, files=files, template=template, settings=settings)
    except ValueError as exc:
        raise SpecError(
            f"cannot build the submit description: {exc}",
            hint="if the job's staging folder is the problem, set CONDOR_NB_HOME to a path "
            "without spaces, commas or quotes",
        ) from None
    return files, description


def submit_job(job: NotebookJob, settings: Settings, *, cache: bool = True) -> Job:
    """Submit a validated :class:`NotebookJob` (spec -> spooled job).

    With ``cache`` (the default) an identical earlier job (see :mod:`condor_nb.store.cache`)
    is returned instead, without contacting the schedd; ``Job.from_cache`` says so.
    """

    registry = registry_for(settings)
    key = result_cache.cache_key(job, settings)
    if cache:
        hit = result_cache.lookup(registry, key)
        found = _still_good(hit, settings) if hit is not None else None
        if found is not None:
            return found
    job_id = new_job_id()
    files, description = prepare(job, settings, job_id)
    now = time.time()
    record = JobRecord(
        id=job_id, name=job.name, notebook=str(job.notebook), profile=job.profile,
        schedd="", cluster=None, proc=0, job_dir=str(files.job_dir),
        params_json=json.dumps(dict(job.parameters), sort_keys=True, ensure_ascii=False),
        content_hash=job.content_hash, state=JobState.QUEUED.value, reason=None,
        failure_class=None, exit_code=None, submitted_at=now, started_at=None,
        finished_at=None, updated_at=now, cache_key=key, spooled=int(is_spooled(description)),
    )  # fmt: skip

    def remember(cluster: int, schedd_name: str) -> None:
        record.cluster, record.schedd = cluster, schedd_name
        registry.insert(record)

    def not_submitted(exc: BaseException) -> None:
        registry.update(job_id, state=JobState.REMOVED.value, reason=f"not submitted: {exc}")

    sub = chokepoint.Submission(
        kind="job", description=description,
        target=preflight.Target(job.notebook, job.image, job.kernel, files.job_dir),
        stage=lambda: staging.stage_job(job, files, job_id),
        wall_time=job.wall_time, secrets=files.secrets,
        on_submitted=remember, on_failure=not_submitted, allow_no_match=job.allow_no_match,
    )  # fmt: skip
    chokepoint.submit(sub, settings)
    return Job(record, settings)


@document("job")
def submit(
    notebook: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    cache: bool = True,
    settings: Settings | None = None,
    **options: Unpack[JobKwargs],
) -> Job:
    """Run ``notebook`` with ``parameters`` as an HTCondor job; returns at once.

    Parameters reach the notebook typed (papermill injects them after its
    ``parameters`` cell). ``cache=False`` forces a fresh run (else an identical
    earlier job is returned). The job's options (those of ``condor_nb submit``):

        {job_options}
    """

    given = JobOptions.from_kwargs(options, kind="job")
    cfg = settings or load_settings(profile=given.profile)
    spec = build(notebook, parameters, given, cfg)
    return submit_job(spec, cfg, cache=cache)


def get(job_id: str, *, settings: Settings | None = None) -> Job:
    """The job with this id (a unique prefix is enough)."""
    cfg = settings or load_settings()
    registry = registry_for(cfg)
    record = registry.get(job_id) or _by_condor_id(registry, job_id)
    if record is None:
        matches = registry.find_prefix(job_id) if job_id else []
        if len(matches) == 1:
            record = matches[0]
        elif len(matches) > 1:
            listed = ", ".join(m.id for m in matches[:5])
            raise JobNotFoundError(f"job id {job_id!r} is ambiguous: {listed}")
    if record is None:
        record = _find_on_schedd(job_id, cfg)
    return Job(record, cfg)


def _by_condor_id(registry: Registry, text: str) -> JobRecord | None:
    """The job an HTCondor id (``13``, ``13.0``) names in the registry, if any."""
    named = condor_ids.resolve(registry, text)
    if named is None or named.job is not None:
        return None if named is None else named.job
    raise JobNotFoundError(
        f"HTCondor cluster {text} is sweep {named.sweep_id}, not one job",
        hint=f"name one of its jobs ({text}.0, {text}.1, ...), or the sweep: "
        f"`condor_nb status {named.sweep_id}`",
    )


def _find_on_schedd(job_id: str, settings: Settings) -> JobRecord:
    hint = "`condor_nb q` lists your jobs"
    if condor_ids.parse(job_id) and "." in job_id:
        raise JobNotFoundError(
            f"no job with HTCondor id {job_id} in the registry",
            hint="`condor_nb q` lists your jobs with their CONDOR_ID; if the registry was "
            "lost, `condor_nb registry rebuild` recovers it from the schedd",
        )
    if not job_id or not all(c in "0123456789abcdef" for c in job_id):
        raise JobNotFoundError(f"no job with id {job_id!r}", hint=hint)
    client = schedd.client_for(settings)
    fresh = tracking.refresh(client, registry_for(settings), settings, [job_id])
    if job_id not in fresh:
        raise JobNotFoundError(
            f"no job with id {job_id!r} in the registry, the queue or the history of "
            f"schedd {client.name}",
            hint=hint,
        )
    return fresh[job_id]


def jobs(*, refresh: bool = True, settings: Settings | None = None) -> list[Job]:
    """This user's jobs, oldest first (one schedd query refreshes them all)."""
    cfg = settings or load_settings()
    registry = registry_for(cfg)
    records = tracking.sync(schedd.client_for(cfg), registry, cfg) if refresh else registry.all()
    return [Job(r, cfg) for r in records]


def rebuild_registry(*, settings: Settings | None = None) -> int:
    """Recreate the registry from the schedd's queue and history; returns jobs added."""
    cfg = settings or load_settings()
    return tracking.rebuild(schedd.client_for(cfg), registry_for(cfg), cfg)
