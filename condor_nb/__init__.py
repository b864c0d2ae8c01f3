"""condor_nb: run Jupyter notebooks as HTCondor jobs on an external schedd.

From a notebook cell::

    import condor_nb
    job = condor_nb.submit("analysis.ipynb", parameters={"alpha": 0.5}, memory="4GB")
    job.wait()
    job.fetch()

Importing this package is cheap and has no side effects: the HTCondor bindings,
nbformat and papermill are imported only when needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Job", "Sweep", "__version__", "dask_session", "get", "get_sweep", "jobs", "record",
    "schedule", "submit", "sweep",
]  # fmt: skip

if TYPE_CHECKING:
    from condor_nb.api import Job, get, jobs, submit
    from condor_nb.dask.session import dask_session
    from condor_nb.schedules.api import schedule
    from condor_nb.sweeps.api import Sweep, get_sweep, sweep
    from condor_nb.worker.record import record

_LAZY = {
    "Job": "condor_nb.api", "get": "condor_nb.api", "jobs": "condor_nb.api",
    "submit": "condor_nb.api", "Sweep": "condor_nb.sweeps.api", "get_sweep": "condor_nb.sweeps.api",
    "sweep": "condor_nb.sweeps.api", "record": "condor_nb.worker.record",
    "dask_session": "condor_nb.dask.session", "schedule": "condor_nb.schedules.api",
}  # fmt: skip


# Only at run time: for type checkers the names above are the module's whole surface,
# so an import of a name that does not exist fails mypy instead of hiding behind Any.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name in _LAZY:
            import importlib

            return getattr(importlib.import_module(_LAZY[name]), name)
        raise AttributeError(f"module 'condor_nb' has no attribute {name!r}")
