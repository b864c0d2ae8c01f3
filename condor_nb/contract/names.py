"""Every name the worker and the submit side share, defined once.

This file is shipped with every job as ``condor_nb_contract.py``, next to the job
wrapper (``condor_nb_run.py``); the worker's files load it by path (condor_nb itself
is not installed on the worker). So: standard library only, nothing imported at all,
Python >= 3.9. The submit side imports it as :mod:`condor_nb.contract`.

A name here is a promise between two programs that never meet: the submit side
stages and reads these files, the worker writes them. Change one only with both
sides in the same release.
"""

from __future__ import annotations

# ------------------------------------------------- the job's files in the worker's scratch dir
#: This file, on the worker.
CONTRACT_NAME = "condor_nb_contract.py"
#: The job wrapper: the job runs ``python3 condor_nb_run.py`` in its scratch directory.
WRAPPER_NAME = "condor_nb_run.py"
#: The wrapper's reporting half (manifest, HTML, live progress); optional on the worker.
REPORT_NAME = "condor_nb_report.py"
#: Secret redaction; a job with secrets refuses to run without it.
REDACT_NAME = "condor_nb_redact.py"
#: ``condor_nb.record()`` for workers without condor_nb.
RECORDING_NAME = "condor_nb_recording.py"
#: Picks the worker's papermill or the shipped one (EXECUTOR_NAME).
EXECUTOR_MODULE_NAME = "condor_nb_executor.py"
#: Tells the job's --notify targets (webhook, Slack) that it ended, from the job.
NOTIFY_NAME = "condor_nb_notify.py"
#: Run by the starter after the job, before the output transfer (the job's PostCmd).
POST_NAME = "condor_nb_post.py"
#: The schedule runner, shipped with a schedule instead of being the job's command.
CRON_NAME = "condor_nb_cron.py"
#: The executor (papermill & co.) shipped with every job that needs it.
EXECUTOR_NAME = "condor_nb_executor.zip"
#: What every job ships into its scratch directory (besides the notebook, the job json
#: and, when needed, the executor zip); condor_nb.worker.WRAPPER_FILES has their sources.
SHIPPED_FILES = (
    WRAPPER_NAME,
    CONTRACT_NAME,
    REPORT_NAME,
    REDACT_NAME,
    RECORDING_NAME,
    EXECUTOR_MODULE_NAME,
    POST_NAME,
    NOTIFY_NAME,
)

#: The wrapper's input: notebook name, parameters, kernel, time limits.
JOB_JSON = "condor_nb_job.json"
#: The --secret values (staged 0600); on the worker, replaced by a placeholder at the
#: final exit so that the spooled copy on the access point is overwritten.
SECRETS_JSON = "condor_nb_secrets.json"
#: The placeholder's one value: ``{"_condor_nb": SECRETS_GONE}``.
SECRETS_GONE = "removed from the access point after the job's final run"
#: What ``condor_nb.record()`` writes in a job (fills a sweep's results table).
VALUES_JSON = "_condor_nb_values.json"
#: The environment variable telling ``condor_nb.record()`` where VALUES_JSON is.
VALUES_ENV = "CONDOR_NB_VALUES_FILE"

# --------------------------------------------------- what the wrapper always leaves behind
OUTPUT_NOTEBOOK = "_condor_nb_output.ipynb"
REPORT_HTML = "_condor_nb_report.html"
RESULT_JSON = "_condor_nb_result.json"
MANIFEST_JSON = "_condor_nb_manifest.json"
OUTPUT_FILES = (OUTPUT_NOTEBOOK, REPORT_HTML, RESULT_JSON, MANIFEST_JSON)
#: What the wrapper set apart: {"kept": {kept name: the notebook's name}, "skipped": [...]}.
#: A notebook file with a name condor_nb uses comes back renamed KEPT_PREFIX<n>.<name>.
FILES_JSON = "_condor_nb_files.json"
KEPT_PREFIX = "_condor_nb_kept."
#: Special files (FIFOs, sockets...) are moved into this hidden folder, never transferred.
SKIPPED_DIR = ".condor_nb_skipped"
#: The job's stdout, stderr and event log, as the submit description names them.
STDOUT, STDERR, EVENT_LOG = "condor_nb.out", "condor_nb.err", "condor_nb.log"
SCHEDD_FILES = (STDOUT, STDERR, EVENT_LOG)
#: Hidden folder holding a ``condor_nb`` package stub (the recording helper) for the kernel.
RECORD_STUB_DIR = ".condor_nb_stub"
#: Where the shipped executor is extracted (hidden: HTCondor does not bring folders back).
EXECUTOR_EXTRACT_DIR = ".condor_nb_executor"
#: Inside the executor zip: its manifest (what was shipped, left out, needed), the
#: jsonschema stand-in (appended to sys.path) and share/jupyter (nbconvert's templates).
EXECUTOR_MANIFEST = "condor_nb_executor.json"
EXECUTOR_FALLBACK_DIR = "condor_nb_fallback"
EXECUTOR_SHARE_DIR = "condor_nb_share"

# ------------------------------------------------------------------- schedules (cron jobs)
#: The cumulative archive of a schedule's runs: an input and an output of every firing.
RUNS_ARCHIVE = "condor_nb_runs.zip"
#: The archive's index of every run (id, times, outcome, exit code).
RUNS_INDEX = "index.json"
#: A run's files in the archive: ``runs/<run id>/<kept name>``.
RUNS_DIR = "runs"
#: Wrapper file -> the name it is kept under in the archive.
RUN_FILES = {
    OUTPUT_NOTEBOOK: "output.ipynb",
    REPORT_HTML: "report.html",
    RESULT_JSON: "result.json",
    MANIFEST_JSON: "manifest.json",
    FILES_JSON: "files.json",
}
#: The run's stdout and stderr in the archive.
RUN_STDOUT, RUN_STDERR = "stdout.txt", "stderr.txt"

# ----------------------------------------------------------------------------- exit codes
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
#: The outcome each wrapper exit code stands for (a schedule run's index records it).
OUTCOME_BY_EXIT_CODE = {code: outcome for outcome, code in EXIT_CODES.items()}

# ------------------------------------------------------------------------ job ad attributes
#: Set by wrappers before the live attribute existed ("cell 12 of 40"); still read.
PROGRESS_ATTR = "CondorNbProgress"
#: Set by the wrapper through Chirp while the job runs, at most once per
#: LIVE_EVERY_S: the running cell and the tail of the output, in one string,
#: LIVE_PREFIX + base64(UTF-8 JSON). Base64 keeps quotes, backslashes, newlines,
#: NULs and invalid UTF-8 of the notebook's output out of the ClassAd entirely.
#: JSON keys: "c" user's code cell (1-based, the injected parameters cell is 0),
#: "of" the user's code cells, "src" its first source line (cut), "t" when it
#: started (Unix s), "n" characters of output so far, "o" the last of them
#: (at most LIVE_TAIL_BYTES of UTF-8), "end" the outcome once the notebook ended.
LIVE_ATTR = "CondorNbLive"
LIVE_PREFIX = "v1:"
LIVE_EVERY_S = 10.0
LIVE_TAIL_BYTES = 2048
LIVE_SOURCE_CHARS = 60
#: Every condor_nb job: its id, name, notebook path, profile, version, submit host,
#: staging folder, notebook hash, parameters (encoded, when small).
ID_ATTR = "CondorNbId"
NAME_ATTR = "CondorNbName"
NOTEBOOK_ATTR = "CondorNbNotebook"
PROFILE_ATTR = "CondorNbProfile"
VERSION_ATTR = "CondorNbVersion"
SUBMIT_HOST_ATTR = "CondorNbSubmitHost"
JOB_DIR_ATTR = "CondorNbJobDir"
HASH_ATTR = "CondorNbHash"
PARAMS_ATTR = "CondorNbParams"
#: false when the job was submitted without spooling (a shared filesystem).
SPOOLED_ATTR = "CondorNbSpooled"
#: A sweep's procs: the sweep id and the proc's index in it.
SWEEP_ATTR = "CondorNbSweep"
SWEEP_INDEX_ATTR = "CondorNbSweepIndex"
#: A schedule: its id, cron expression, runs kept, and the log of its pauses.
SCHEDULE_ID_ATTR = "CondorNbScheduleId"
CRON_ATTR = "CondorNbCron"
KEEP_RUNS_ATTR = "CondorNbKeepRuns"
HOLDS_ATTR = "CondorNbHolds"
#: A dask worker job: its kind, session, scheduler and client addresses, heartbeat.
KIND_ATTR = "CondorNbKind"
DASK_SESSION_ATTR = "CondorNbDaskSession"
DASK_SCHEDULER_ATTR = "CondorNbDaskScheduler"
DASK_CLIENT_ATTR = "CondorNbDaskClient"
HEARTBEAT_ATTR = "CondorNbHeartbeat"
#: The tiny job ``condor_nb doctor`` submits to probe a profile.
PROBE_ATTR = "CondorNbProbe"
#: Set once, through Chirp, by the wrapper as a failed job ends: where and why, in one
#: bounded line ("cell 3: `x = 1/0`: ZeroDivisionError: division by zero"), before any fetch.
FAILURE_ATTR = "CondorNbFailure"
