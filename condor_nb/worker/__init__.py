"""The worker-side job wrapper, and where the submit side finds its files to ship.

Ship every file of :data:`WRAPPER_FILES` (name on the worker -> source path) into the
job's scratch directory, with ``condor_nb_job.json`` and the input notebook, and run
``python3 condor_nb_run.py`` there. ``run.py`` executes the notebook; ``report.py``
(shipped as ``condor_nb_report.py``) writes the manifest, the HTML and the live progress.
Without it the job still runs and the result file is complete, but the manifest and the
HTML stay placeholders. ``redact.py`` (``condor_nb_redact.py``) takes the ``--secret``
values out of everything the job writes; a job with secrets refuses to run without it.
``notify.py`` (``condor_nb_notify.py``) tells the ``--notify`` targets that the job ended.
None of these files imports condor_nb: the names they share with the submit side come
from :mod:`condor_nb.contract`, shipped as ``condor_nb_contract.py`` and loaded by path.
Importing this module is cheap (no papermill).
"""

from pathlib import Path

from condor_nb.contract import names

_HERE = Path(__file__).parent
WRAPPER_PATH = _HERE / "run.py"
REPORT_PATH = _HERE / "report.py"
#: The schedule runner, shipped with a schedule as ``condor_nb_cron.py``.
CRON_PATH = _HERE / "cron.py"
#: Name on the worker -> source file, for every file each job ships (names.SHIPPED_FILES).
WRAPPER_FILES = {
    names.WRAPPER_NAME: WRAPPER_PATH,
    names.CONTRACT_NAME: _HERE.parent / "contract" / "names.py",
    names.REPORT_NAME: REPORT_PATH,
    names.REDACT_NAME: _HERE / "redact.py",
    names.RECORDING_NAME: _HERE / "record.py",
    names.EXECUTOR_MODULE_NAME: _HERE / "executor.py",
    names.POST_NAME: _HERE / "post.py",
    names.NOTIFY_NAME: _HERE / "notify.py",
}

__all__ = ["CRON_PATH", "REPORT_PATH", "WRAPPER_FILES", "WRAPPER_PATH"]
