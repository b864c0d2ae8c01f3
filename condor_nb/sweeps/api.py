"""Sweeps: one notebook over many parameter sets, as one HTCondor cluster.

Each parameter set is a proc (itemdata) and a Job in the registry; the sweep
remembers which job answers each set (``sweep_members``), which may be a cached
job of an earlier run. Inputs common to all procs (the notebook, the wrapper) are
staged once; each proc gets its own ``condor_nb_job.json`` and output folder.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Unpack

from condor_nb.api import Job, check_dest
from condor_nb.condor import constraints, schedd
from condor_nb.condor.status import JobState
from condor_nb.contract.layout import JobFiles
from condor_nb.errors import JobNotFoundError, SpecError, StateConflictError
from condor_nb.settings import Settings, load_settings
from condor_nb.spec.job import NotebookJob, build
from condor_nb.spec.options import JobKwargs, JobOptions, document
from condor_nb.spec.sweep import grid_sets, zip_sets
from condor_nb.spec.usage import Usage
from condor_nb.store import tracking
from condor_nb.store.registry import Registry, SweepRecord, registry_for
from condor_nb.store.usage import usage_of
from condor_nb.submission.submit import new_job_id
from condor_nb.sweeps import submit as sweep_submit
from condor_nb.sweeps.results import results_table
from condor_nb.sweeps.submit import SWEEP_PREFIX, archive_attempt
from condor_nb.view import html as view_html
from condor_nb.view.live import open_live

__all__ = [
    "SWEEP_PREFIX",
    "Sweep",
    "SweepStatus",
    "archive_attempt",
    "get_sweep",
    "new_job_id",
    "submit_sweep",
    "sweep",
]


class SweepStatus(dict[str, int]):
    """Counts of the sweep's procs by state (``{"COMPLETED": 4, "FAILED": 1}``)."""

    @property
    def total(self) -> int:
        return sum(self.values())

    @property
    def done(self) -> bool:
        terminal = (JobState.COMPLETED, JobState.FAILED, JobState.REMOVED, JobState.HELD)
        return sum(self.get(s.value, 0) for s in terminal) == self.total

    def __str__(self) -> str:
        order = [s.value for s in JobState]
        return ", ".join(f"{self[s]} {s}" for s in order if self.get(s))


class Sweep:
    """A handle on a sweep; every proc is also a :class:`Job`."""

    def __init__(self, record: SweepRecord, settings: Settings) -> None:
        self.record = record
        self._settings = settings

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    def __repr__(self) -> str:
        counts = self._known_counts()
        return f"<Sweep {self.id} {self.name!r} {self.record.size} sets: {counts or 'no jobs'}>"

    def _known_counts(self) -> SweepStatus:
        """Counts by state as last recorded (no schedd query)."""
        return SweepStatus(Counter(r.state for _, r in self._registry().sweep_members(self.id)))

    def _html(self, waited: float | None = None) -> str:
        members = self._registry().sweep_members(self.id)
        return view_html.sweep_html(
            self.id, self.name, self.record.notebook, members, waited=waited
        )

    def _repr_html_(self) -> str:
        """The last known states (``status()`` refreshes them), one row per parameter set."""
        return self._html()

    def _registry(self) -> Registry:
        return registry_for(self._settings)

    def members(self) -> list[tuple[int, Job]]:
        """(index, job) for every parameter set, in order."""
        return [(i, Job(r, self._settings)) for i, r in self._registry().sweep_members(self.id)]

    def jobs(self) -> list[Job]:
        return [job for _, job in self.members()]

    def status(self) -> SweepStatus:
        """Counts by state, from one query of the schedd (history for procs that left it)."""

        client = schedd.client_for(self._settings)
        tracking.refresh_sweep(client, self._registry(), self._settings, self.id)
        counts = Counter(r.state for _, r in self._registry().sweep_members(self.id))
        return SweepStatus(counts)

    def usage(self) -> dict[int, Usage | None]:
        """Per parameter set (index): what its job used against what it requested
        (:meth:`Job.usage`); None for a job still queued or running."""
        self.status()
        members = self._registry().sweep_members(self.id)
        found = usage_of([r for _, r in members], self._settings)
        return {index: found[r.id] for index, r in members}

    def wait(
        self,
        timeout: float | None = None,
        *,
        poll: float | None = None,
        progress: bool | Callable[[SweepStatus], None] | None = True,
    ) -> SweepStatus:
        """Block until every proc has finished (or is held); retrieve their outputs.

        ``progress``: by default a live display (a table updated in place in a
        notebook, one progress bar over the sweep on a terminal's stderr, nothing when
        neither); ``False`` (or ``None``) shows nothing; a callable is called with each
        :class:`SweepStatus` instead.
        """
        interval = poll or self._settings.poll_interval
        deadline = None if timeout is None else time.monotonic() + timeout
        start = time.monotonic()
        live = open_live(f"sweep {self.id}", self.record.size) if progress is True else None
        try:
            while True:
                counts = self.status()
                if callable(progress):
                    progress(counts)
                if live is not None:
                    waited = time.monotonic() - start
                    live.update(self._html(waited), str(counts), view_html.finished(counts))
                if counts.done:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    return counts
                time.sleep(interval)
            self.retrieve()
            counts = self._known_counts()
            if live is not None:
                live.update(self._html(), str(counts), view_html.finished(counts))
        finally:
            if live is not None:
                live.close()
        return counts

    def retrieve(self) -> None:
        """Bring back the outputs of every finished proc that has not been retrieved."""
        pending = [
            job for job in self.jobs()
            if job.record.state in (JobState.COMPLETED.value, JobState.FAILED.value)
            and not job.record.retrieved_at
        ]  # fmt: skip
        if not pending:
            return

        for job in pending:
            job._files.out_dir.mkdir(parents=True, exist_ok=True)
        spooled = [j.id for j in pending if j.record.spooled]
        if spooled:  # the others' outputs were written in place (shared filesystem)
            client = schedd.client_for(self._settings)
            client.retrieve(tracking.mine(tracking.id_constraint(spooled), self._settings))
        for job in pending:
            job.mark_retrieved()
        if len(spooled) < len(pending) and all(j.record.job_state.is_terminal for j in self.jobs()):
            # Kept in in/ only for a sweep that was not spooled: its procs read them there.
            JobFiles(Path(self.record.job_dir), "").secrets.unlink(missing_ok=True)

    def fetch(self, dest: str | os.PathLike[str] | None = None, *, overwrite: bool = False) -> Path:
        """Copy every retrieved proc's outputs into ``dest/INDEX-JOBID/``; returns ``dest``.

        Existing files with other content are never replaced unless ``overwrite=True``.
        """

        check_dest(dest)
        self.retrieve()
        stem = Path(self.record.notebook).stem
        target = Path(dest) if dest is not None else Path.cwd() / f"{stem}-{self.id}"
        for index, job in self.members():
            if job.record.retrieved_at:
                job.fetch(target / f"{index:04d}-{job.id}", overwrite=overwrite)
        return target.absolute()

    def results(self, *, as_dataframe: bool | None = None, retrieve: bool = True) -> Any:
        """One row per parameter set: parameters, recorded values, state, runtime."""

        if retrieve:
            self.retrieve()
        return results_table(self.members(), as_dataframe=as_dataframe)

    def _act(self, action: schedd.Action, reason: str, extra: str = "") -> int:
        """``action`` on the sweep's jobs (scoped to this user's home); how many it took."""

        client = schedd.client_for(self._settings)
        done = client.act(
            action, tracking.sweep_constraint(self.id, self._settings) + extra, reason
        )
        self.status()
        return done

    def remove(self, *, force: bool = False) -> None:
        """Remove every proc; refused (StateConflictError) while finished procs' outputs were never
        brought back, unless ``force=True`` (removing would delete them on the schedd)."""
        if not force:
            self.status()  # one query refreshes every proc's record
            at_risk = [job.id for job in self.jobs() if job.outputs_at_risk(refresh=False)]
            if at_risk:
                raise StateConflictError(
                    f"sweep {self.id}: {len(at_risk)} finished job(s) have outputs that were "
                    f"never fetched ({', '.join(at_risk[:5])}): removing would delete them; "
                    "nothing was removed",
                    hint=f"fetch them first (`condor_nb fetch {self.id}`), or delete them with "
                    f"the sweep: `condor_nb rm --force {self.id}`",
                )
        self._act("remove", f"removed by condor_nb user (sweep {self.id})")

    def hold(self) -> None:
        for job in self.jobs():
            job._wait_for_upload()
        self._act("hold", f"held by condor_nb user (sweep {self.id})")

    def release(self) -> None:
        """Release its held jobs; StateConflictError when none is held."""
        # Never release the "spooling input" hold: the procs would start without inputs.
        extra = f" && {constraints.not_uploading()}"
        done = self._act("release", f"released by condor_nb user (sweep {self.id})", extra)
        if not done:
            raise StateConflictError(
                f"sweep {self.id} has no held job ({self.status()}): nothing was released",
                hint=f"`condor_nb status {self.id}` shows its jobs' states",
            )

    def retry(self) -> list[Job]:
        """Submit again, as a new cluster, only the procs that FAILED or were REMOVED."""
        failed = [
            (i, job) for i, job in self.members()
            if job.record.state in (JobState.FAILED.value, JobState.REMOVED.value)
        ]  # fmt: skip
        if not failed:
            return []
        records = sweep_submit.resubmit(
            self.record, [(i, job.record) for i, job in failed], self._settings
        )
        return [Job(r, self._settings) for r in records]


def submit_sweep(
    base: NotebookJob,
    sets: Sequence[Mapping[str, Any]],
    settings: Settings,
    *,
    cache: bool = True,
    allow_unknown: bool = False,
) -> Sweep:
    """Validate every set, answer what the cache can, submit the rest as one cluster."""
    record = sweep_submit.submit_sweep(
        base, sets, settings, cache=cache, allow_unknown=allow_unknown
    )
    return Sweep(record, settings)


def get_sweep(sweep_id: str, *, settings: Settings | None = None) -> Sweep:
    cfg = settings or load_settings()
    record = registry_for(cfg).get_sweep(sweep_id)
    if record is None:
        raise JobNotFoundError(
            f"no sweep with id {sweep_id!r}", hint="`condor_nb q` lists your jobs and sweeps"
        )
    return Sweep(record, cfg)


@document("sweep")
def sweep(
    notebook: str | os.PathLike[str],
    parameter_sets: Iterable[Mapping[str, Any]] | None = None,
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    zip: bool = False,
    parameters: Mapping[str, Any] | None = None,
    cache: bool = True,
    settings: Settings | None = None,
    **options: Unpack[JobKwargs],
) -> Sweep:
    """Run ``notebook`` once per parameter set, as one HTCondor cluster.

    Give the sets as a list of dicts, or ``grid={"a": [1, 2], "b": ["x"]}`` (the
    cartesian product; ``zip=True`` pairs the lists instead). ``parameters`` are
    common to every set. Sets whose exact run already exists come from the cache
    (``cache=False`` forces fresh runs). The options of every set's job (those of
    :func:`condor_nb.submit`):

        {job_options}
    """

    if (parameter_sets is None) == (grid is None):
        raise SpecError(
            "a sweep needs either a list of parameter sets or a grid (not both, not neither)",
            hint="condor_nb.sweep(nb, [{'a': 1}, {'a': 2}]) "
            "or condor_nb.sweep(nb, grid={'a': [1, 2]})",
        )
    given = JobOptions.from_kwargs(options, kind="sweep")
    cfg = settings or load_settings(profile=given.profile)
    base = build(notebook, parameters, given, cfg)
    if grid is not None:
        sets = zip_sets(grid) if zip else grid_sets(grid)
    else:
        sets = [dict(s) for s in parameter_sets or ()]
    return submit_sweep(base, sets, cfg, cache=cache, allow_unknown=given.allow_unknown_params)
