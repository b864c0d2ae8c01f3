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

__all__ = ["Job", "__version__", "get", "jobs", "submit"]

if TYPE_CHECKING:
    from condor_nb.api import Job, get, jobs, submit


def __getattr__(name: str) -> Any:
    if name in ("Job", "get", "jobs", "submit"):
        from condor_nb import api

        return getattr(api, name)
    raise AttributeError(f"module 'condor_nb' has no attribute {name!r}")
