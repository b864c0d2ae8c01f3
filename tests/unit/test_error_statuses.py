"""Exit codes and HTTP statuses come from the error's class, through its hierarchy.

A subclass nobody listed (one defined here, ``EnvironmentMismatchError``) gets its
parent's exit code from the real CLI entry point and its parent's HTTP status from
the Jupyter extension's mapping, also when raised in the extension's worker process
(where it crosses a pickle as a ``TaskError``).
"""

from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path

import click
import pytest

from condor_nb import errors
from condor_nb.cli.main import COMMANDS, main
from condor_nb.dask.errors import DaskSessionError, EnvironmentMismatchError


class ParameterTypeError(errors.SpecError):
    """A child of SpecError that sets neither exit_code nor http_status."""


class OutputsGoneError(errors.StateConflictError):
    """A child of StateConflictError that sets neither."""


class TooManyJobsError(errors.ScheddUnavailableError):
    exit_code = 42  # overrides the exit code only


EXPECTED = [  # (error, exit code, HTTP status)
    (ParameterTypeError, 2, 400),
    (OutputsGoneError, 8, 409),
    (TooManyJobsError, 42, 503),
    (errors.StateConflictError, 8, 409),
    (errors.JobHeldError, 8, 409),
    (errors.NotebookExecutionError, 9, 409),
    (errors.JobNotFoundError, 7, 404),
    (DaskSessionError, 12, 503),
    (EnvironmentMismatchError, 13, 409),
    (errors.CondorNbError, 1, 500),
]


@pytest.mark.parametrize(("cls", "code", "status"), EXPECTED)
def test_cli_exits_with_the_code_of_the_class(
    cls: type[errors.CondorNbError],
    code: int,
    status: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real entry point, with a command that raises: message, hint, the class's code."""

    @click.command()
    def boom() -> None:
        raise cls("the thing is in the wrong state", hint="do the other thing first")

    module = types.ModuleType("condor_nb_test_boom")
    module.boom = boom  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(COMMANDS, "boom", (module.__name__, "boom", "raises"))
    with pytest.raises(SystemExit) as exited:
        main(["boom"])
    assert exited.value.code == code
    err = capsys.readouterr().err
    assert err == ("error: the thing is in the wrong state\n  hint: do the other thing first\n"), (
        err
    )


@pytest.mark.parametrize(("cls", "code", "status"), EXPECTED)
def test_http_status_of_the_class(cls: type[errors.CondorNbError], code: int, status: int) -> None:
    """In the server process and through the worker process's TaskError (pickled)."""
    pytest.importorskip("jupyter_scheduler", reason="needs the [jupyter] extra")
    from condor_nb_jupyter.errors import describe
    from condor_nb_jupyter.tasks import TaskError, task

    exc = cls("outputs not there yet", hint="wait for the job")
    assert describe(exc) == (
        status,
        {"message": "outputs not there yet", "hint": "wait for the job", "error": cls.__name__},
    )

    @task
    def in_worker() -> None:
        raise exc

    with pytest.raises(TaskError) as raised:
        in_worker()
    arrived = pickle.loads(pickle.dumps(raised.value))  # as the worker pool sends it
    assert (arrived.kind, arrived.status) == (cls.__name__, status)
    assert describe(arrived) == describe(exc)


def test_every_error_class_says_both() -> None:
    """No class of condor_nb falls back to a table kept somewhere else."""
    for cls in [*vars(errors).values(), DaskSessionError, EnvironmentMismatchError]:
        if isinstance(cls, type) and issubclass(cls, errors.CondorNbError):
            assert isinstance(cls.exit_code, int) and isinstance(cls.http_status, int)
            assert 1 <= cls.exit_code <= 125 and 400 <= cls.http_status <= 599


@pytest.mark.usefixtures("isolated_env")
def test_retry_of_a_sweep_without_its_description_is_a_state_conflict(tmp_path: Path) -> None:
    from condor_nb.settings import load_settings
    from condor_nb.store.registry import SweepRecord
    from condor_nb.sweeps.submit import resubmit

    settings = load_settings()
    record = SweepRecord("5eed5eed", "grid", "nb.ipynb", "schedd", str(tmp_path), 2, 0.0)
    with pytest.raises(errors.StateConflictError, match="has no saved description") as caught:
        resubmit(record, [], settings)
    assert (caught.value.exit_code, caught.value.http_status) == (8, 409)
    assert "condor_nb.sweep(" in str(caught.value.hint)
