"""``condor_nb parity ID``: how the worker's environment differed from this side's."""

from __future__ import annotations

from pathlib import Path

import click

from condor_nb.api import get
from condor_nb.diagnostics import parity as parity_mod
from condor_nb.errors import CondorNbError


@click.command()
@click.argument("job_id")
def parity(job_id: str) -> None:
    """Compare JOB_ID's worker environment with the submitting side's (exit 1 if different)."""

    job = get(job_id)
    if job.record.job_state.is_terminal and not job.record.retrieved_at:
        job.wait(timeout=0)
    job_dir = Path(job.record.job_dir or "")
    report = parity_mod.for_job(job.id, job_dir)
    for line in report.lines():
        click.echo(line)
    if report.differences:
        raise CondorNbError(f"job {job.id}: the worker's environment differed from this side's "
                            f"({len(report.differences)} difference(s), listed above)")  # fmt: skip
