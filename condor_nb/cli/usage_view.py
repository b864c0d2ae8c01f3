"""What finished jobs used against what they requested, for `status` and `sweep status`."""

from __future__ import annotations

from typing import Any

from condor_nb.cli.display import printable, table
from condor_nb.spec.usage import USAGE_HEADERS, summary, usage_row


def job_lines(job: Any) -> list[str]:
    """``usage:`` then one indented line per resource and hint; none before the job ends."""
    found = job.usage()
    if found is None:
        return []
    return ["usage:", *(f"  {printable(line)}" for line in found.lines())]


def sweep_lines(sweep: Any) -> list[str]:
    """A table of the finished procs (used / requested), then max/median and a hint."""
    per_index = sweep.usage()
    members = dict(sweep.members())
    rows = []
    for index, found in sorted(per_index.items()):
        if found is None:
            continue
        job = members[index]
        rows.append([str(index), job.id, job.record.state, *usage_row(found)])
    if not rows:
        return []
    finished = [u for u in per_index.values() if u is not None]
    return [
        "usage (used / requested):",
        table(USAGE_HEADERS, rows),
        *(printable(line) for line in summary(finished)),
    ]
