"""The worker-side job wrapper, and the names the submit side needs to ship and read it.

Ship every file of :data:`WRAPPER_FILES` (name on the worker -> source path) into the
job's scratch directory, with :data:`JOB_JSON` and the input notebook, and run
``python3 condor_nb_run.py`` there. ``run.py`` executes the notebook; ``report.py``
(shipped as ``condor_nb_report.py``) writes the manifest, the HTML and the live progress.
Without it the job still runs and the result file is complete, but the manifest and the
HTML stay placeholders. ``redact.py`` (``condor_nb_redact.py``) takes the ``--secret``
values out of everything the job writes; a job with secrets refuses to run without it.
None of them file imports condor_nb, so the constants below are
duplicated in them; a unit test keeps the copies equal. Importing this module is cheap
(no papermill).
"""

from pathlib import Path

WRAPPER_PATH = Path(__file__).with_name("run.py")
WRAPPER_NAME = "condor_nb_run.py"
REPORT_PATH = Path(__file__).with_name("report.py")
REPORT_NAME = "condor_nb_report.py"
REDACT_PATH = Path(__file__).with_name("redact.py")
REDACT_NAME = "condor_nb_redact.py"
RECORDING_PATH = Path(__file__).with_name("record.py")
RECORDING_NAME = "condor_nb_recording.py"
EXECUTOR_MODULE_PATH = Path(__file__).with_name("executor.py")
EXECUTOR_MODULE_NAME = "condor_nb_executor.py"
#: Run by the starter after the job, before the output transfer (the job's PostCmd).
POST_PATH = Path(__file__).with_name("post.py")
#: The schedule runner, shipped with a schedule as ``condor_nb_cron.py``.
CRON_PATH = Path(__file__).with_name("cron.py")
POST_NAME = "condor_nb_post.py"
WRAPPER_FILES = {
    WRAPPER_NAME: WRAPPER_PATH,
    REPORT_NAME: REPORT_PATH,
    REDACT_NAME: REDACT_PATH,
    RECORDING_NAME: RECORDING_PATH,
    EXECUTOR_MODULE_NAME: EXECUTOR_MODULE_PATH,
    POST_NAME: POST_PATH,
}
#: The executor (papermill & co.) shipped with every job; see condor_nb.submission.executor.
EXECUTOR_NAME = "condor_nb_executor.zip"
VALUES_JSON = "_condor_nb_values.json"
#: The --secret values (staged 0600); on the worker, replaced by a placeholder at the
#: final exit so that the spooled copy on the access point is overwritten.
SECRETS_JSON = "condor_nb_secrets.json"
JOB_JSON = "condor_nb_job.json"

OUTPUT_NOTEBOOK = "_condor_nb_output.ipynb"
REPORT_HTML = "_condor_nb_report.html"
RESULT_JSON = "_condor_nb_result.json"
MANIFEST_JSON = "_condor_nb_manifest.json"
OUTPUT_FILES = (OUTPUT_NOTEBOOK, REPORT_HTML, RESULT_JSON, MANIFEST_JSON)
#: What the wrapper set apart: {"kept": {kept name: the notebook's name}, "skipped": [...]}.
#: A notebook file with a name condor_nb uses comes back renamed KEPT_PREFIX<n>.<name>.
FILES_JSON = "_condor_nb_files.json"
KEPT_PREFIX = "_condor_nb_kept."

#: Job attribute the wrapper updates through condor_chirp (needs ``+WantIOProxy = true``).
PROGRESS_ATTR = "CondorNbProgress"

#: Wrapper exit code (HTCondor's ExitCode) for each outcome in the result file.
EXIT_CODES = {
    "completed": 0,
    "cell_error": 3,
    "kernel_died": 4,
    "cell_timeout": 5,
    "input_error": 6,
    "internal_error": 7,
    "interrupted": 8,
    "wall_time": 9,
}
OUTCOME_BY_EXIT_CODE = {code: outcome for outcome, code in EXIT_CODES.items()}

__all__ = [
    "EXECUTOR_NAME",
    "EXIT_CODES",
    "FILES_JSON",
    "JOB_JSON",
    "KEPT_PREFIX",
    "MANIFEST_JSON",
    "OUTCOME_BY_EXIT_CODE",
    "OUTPUT_FILES",
    "OUTPUT_NOTEBOOK",
    "PROGRESS_ATTR",
    "REPORT_HTML",
    "REPORT_NAME",
    "REPORT_PATH",
    "RESULT_JSON",
    "WRAPPER_FILES",
    "WRAPPER_NAME",
    "WRAPPER_PATH",
]
