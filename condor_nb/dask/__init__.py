"""Dask sessions on HTCondor: workers as jobs, the scheduler with the notebook.

    cluster, client = condor_nb.dask_session(workers=2, cpus=1, memory="2GB")

Worker jobs go through condor_nb's own schedd client (remote schedd, spooling,
the same credentials, site profile and image as notebook jobs), carry
``CondorNb*`` attributes (so ``condor_nb q`` lists them) and a removal policy so
that none outlives its session. Importing this package does not import dask:
only :func:`dask_session` does (``pip install 'condor_nb[dask]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["DaskSession", "dask_session"]

if TYPE_CHECKING:
    from condor_nb.dask.session import DaskSession, dask_session


# Only at run time: for type checkers the names above are the module's whole surface,
# so an import of a name that does not exist fails mypy instead of hiding behind Any.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name in __all__:
            from condor_nb.dask import session

            return getattr(session, name)
        raise AttributeError(f"module 'condor_nb.dask' has no attribute {name!r}")
