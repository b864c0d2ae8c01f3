"""The staging layout: where a job's files live on the submit side, and their names
on the worker. Submit side only (the worker sees its scratch directory, never this
layout); standard library only, like the rest of :mod:`condor_nb.contract`.

A job's staging folder (``<jobs_dir>/<job id>``)::

    in/                  what is sent: the wrapper's files, the notebook, job json, secrets
    out/                 the job's initialdir: the outputs come back here
    procs/<index>/       a sweep proc's own condor_nb_job.json (the procs share in/)
    out/<index>/         a sweep proc's outputs
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from condor_nb.contract.names import (
    EXECUTOR_NAME,
    JOB_JSON,
    SECRETS_JSON,
    SHIPPED_FILES,
    WRAPPER_NAME,
)

IN_DIR, OUT_DIR, PROCS_DIR = "in", "out", "procs"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._+@=:-]")


def worker_notebook_name(notebook: PurePath) -> str:
    """The notebook's file name on the worker: the user's name made transfer-safe.

    >>> worker_notebook_name(PurePath("/home/u/my analysis.ipynb"))
    'my_analysis.ipynb'
    """
    stem = _UNSAFE_NAME.sub("_", notebook.stem) or "notebook"
    return f"{stem}.ipynb"


@dataclass(frozen=True)
class JobFiles:
    """Where a job's files live on the submit side (its staging folder).

    A single job owns ``job_dir``; the procs of a sweep share its ``in/`` and each
    has ``procs/INDEX/condor_nb_job.json`` and ``out/INDEX/``.
    """

    job_dir: Path
    notebook_name: str
    index: int | None = None
    executor: bool = True  # ship condor_nb_executor.zip (see condor_nb.submission.executor.wanted)

    @property
    def in_dir(self) -> Path:
        return self.job_dir / IN_DIR

    @property
    def out_dir(self) -> Path:
        """The job's ``initialdir``: retrieved outputs land here."""
        base = self.job_dir / OUT_DIR
        return base if self.index is None else base / str(self.index)

    @property
    def notebook(self) -> Path:
        return self.in_dir / self.notebook_name

    @property
    def job_json(self) -> Path:
        if self.index is None:
            return self.in_dir / JOB_JSON
        return self.job_dir / PROCS_DIR / str(self.index) / JOB_JSON

    @property
    def wrapper(self) -> Path:
        return self.in_dir / WRAPPER_NAME

    @property
    def secrets(self) -> Path:
        """Secret values (0600), deleted as soon as the schedd has them."""
        return self.in_dir / SECRETS_JSON

    @property
    def wrapper_files(self) -> list[Path]:
        """The worker wrapper's files and the executor zip, as staged under their worker names."""
        names = [*SHIPPED_FILES, EXECUTOR_NAME] if self.executor else list(SHIPPED_FILES)
        return [self.in_dir / name for name in names]
