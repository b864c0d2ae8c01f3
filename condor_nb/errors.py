"""The error hierarchy: one root, a few children; each class carries its CLI exit code
and its HTTP status.

Front ends never map errors by name: the CLI exits with ``exc.exit_code`` and the
Jupyter extension answers ``exc.http_status``, both class attributes, so a subclass
(``EnvironmentMismatchError``, one defined by a plugin) gets its parent's unless it
overrides them. Every message says what was expected, what was given and how to fix
it. A notebook that fails on the worker is *not* an exception here: it is a FAILED job
(data), except where the caller asks for one (``Job.wait(raise_on_failure=True)``,
``condor_nb wait``).

Exit codes (docs/users.md, "Exit codes of the CLI"): 1 the root (a check failed, or
something unexpected), 2-13 the classes below, 124 ``wait --timeout`` ran out.
"""

from __future__ import annotations


class CondorNbError(Exception):
    """Root of every error condor_nb raises on purpose."""

    exit_code = 1
    #: A condor_nb error no child describes better: the server's fault.
    http_status = 500

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class SpecError(CondorNbError, ValueError):
    """The job the user described is invalid (bad resource, parameter, file...)."""

    exit_code = 2
    http_status = 400


class ConfigError(CondorNbError):
    """Configuration (settings file, environment, site profile) is invalid."""

    exit_code = 3
    http_status = 503


class CredentialsError(CondorNbError):
    """No usable credential: missing, expired, wrong scope or audience."""

    exit_code = 4
    http_status = 503


class ScheddUnavailableError(CondorNbError):
    """The collector or schedd cannot be reached (or refused us)."""

    exit_code = 5
    http_status = 503
    #: The collector answered but listed no schedd (one restarting re-advertises).
    unlisted = False


class SubmitError(CondorNbError):
    """The schedd refused the submission, or spooling its inputs failed."""

    exit_code = 6
    http_status = 502


class JobNotFoundError(CondorNbError, LookupError):
    """No job with that id in the registry, the queue or the history."""

    exit_code = 7
    http_status = 404


class StateConflictError(CondorNbError):
    """The job (or sweep) is in a state where this action makes no sense: fetching the
    outputs of a job still running, retrying a sweep with no saved description,
    releasing a job that is not held, removing a finished job whose outputs were never
    fetched. The message names the state; the hint says what to do first."""

    exit_code = 8
    http_status = 409


class JobHeldError(StateConflictError):
    """The job is on hold: it will not progress by itself (``wait`` ends with this one,
    ``fetch`` refuses); release it once the cause is fixed, or remove it."""


class NotebookExecutionError(CondorNbError):
    """The notebook did not complete (FAILED, or REMOVED): raised on request only
    (``Job.wait(raise_on_failure=True)``, ``condor_nb wait``, ``submit --wait``)."""

    exit_code = 9
    http_status = 409


class PoolError(CondorNbError):
    """The personal pool cannot be built, started or stopped."""

    exit_code = 10
    http_status = 503


class FetchError(CondorNbError):
    """Outputs could not be brought back or written to the destination."""

    exit_code = 11
    http_status = 502


# 12 and 13 are condor_nb.dask.errors' DaskSessionError and EnvironmentMismatchError.


class WaitTimeoutError(CondorNbError):
    """``wait --timeout`` ran out with the job still queued or running (exit 124, as
    timeout(1)); the job goes on."""

    exit_code = 124
    http_status = 504
