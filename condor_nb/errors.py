"""The error hierarchy: one root, a few children that front ends map to exit codes.

Every message says what was expected, what was given and how to fix it. A notebook
that fails on the worker is *not* an exception here: it is a FAILED job (data).
"""

from __future__ import annotations


class CondorNbError(Exception):
    """Root of every error condor_nb raises on purpose."""

    exit_code = 1

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


class ConfigError(CondorNbError):
    """Configuration (settings file, environment, site profile) is invalid."""

    exit_code = 3


class CredentialsError(CondorNbError):
    """No usable credential: missing, expired, wrong scope or audience."""

    exit_code = 4


class ScheddUnavailableError(CondorNbError):
    """The collector or schedd cannot be reached (or refused us)."""

    exit_code = 5
    #: The collector answered but listed no schedd (one restarting re-advertises).
    unlisted = False


class SubmitError(CondorNbError):
    """The schedd refused the submission, or spooling its inputs failed."""

    exit_code = 6


class JobNotFoundError(CondorNbError, LookupError):
    """No job with that id in the registry, the queue or the history."""

    exit_code = 7


class JobHeldError(CondorNbError):
    """Waiting on a job that went on hold (it will not progress by itself)."""

    exit_code = 8


class NotebookExecutionError(CondorNbError):
    """Raised only on request (``Job.wait(raise_on_failure=True)``): the notebook failed."""

    exit_code = 9


class PoolError(CondorNbError):
    """The personal pool cannot be built, started or stopped."""

    exit_code = 10


# 12 and 13 are condor_nb.dask.errors' DaskSessionError and EnvironmentMismatchError.


class FetchError(CondorNbError):
    """Outputs could not be brought back or written to the destination."""

    exit_code = 11
