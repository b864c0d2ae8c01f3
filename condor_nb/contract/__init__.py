"""The worker contract: every name the worker and the submit side share, defined once.

:mod:`condor_nb.contract.names` (file names, exit codes, ``CondorNb*`` job attributes)
is shipped with each job as ``condor_nb_contract.py``, where the worker's files load it
by path; :mod:`condor_nb.contract.layout` is the submit side's staging layout
(``in/``, ``out/``) and the notebook's name on the worker. Standard library only,
Python >= 3.9, and nothing else of condor_nb: this is the bottom layer.
"""

from condor_nb.contract.layout import IN_DIR as IN_DIR
from condor_nb.contract.layout import OUT_DIR as OUT_DIR
from condor_nb.contract.layout import PROCS_DIR as PROCS_DIR
from condor_nb.contract.layout import JobFiles as JobFiles
from condor_nb.contract.layout import worker_notebook_name as worker_notebook_name
from condor_nb.contract.names import *  # noqa: F403
