"""What an id typed on the command line names: a job, or a sweep.

Accepted: a condor_nb job id (or a unique start of one), a sweep id (``s...``), and
an HTCondor id as ``q`` and ``condor_q`` show it: ``13.4`` (one job), ``13`` (the job
of a one-proc cluster, or the sweep whose cluster it is).
"""

from __future__ import annotations

from typing import Any

from condor_nb.api import get
from condor_nb.errors import JobNotFoundError
from condor_nb.settings import load_settings
from condor_nb.store import condor_ids
from condor_nb.store.registry import registry_for
from condor_nb.sweeps.api import SWEEP_PREFIX, Sweep, get_sweep


def find(job_id: str) -> Any:
    """The Job or Sweep with this id."""

    settings = load_settings()
    if job_id.startswith(SWEEP_PREFIX):
        try:
            return get_sweep(job_id, settings=settings)
        except JobNotFoundError:
            pass  # not a sweep: job ids are hex, so this one is no job either (get says)
    named = condor_ids.resolve(registry_for(settings), job_id)
    if named is not None and named.sweep_id is not None:
        return get_sweep(named.sweep_id, settings=settings)
    return get(job_id, settings=settings)


def is_sweep(thing: Any) -> bool:
    return isinstance(thing, Sweep)
