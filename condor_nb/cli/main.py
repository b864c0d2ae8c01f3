"""The ``condor_nb`` command: a lazy click group, and the one place errors become exits.

Commands exit by raising: a :class:`~condor_nb.errors.CondorNbError` ends as its
message and hint on stderr and its own ``exit_code`` (a class attribute, inherited
through the class hierarchy); no command calls ``sys.exit`` itself.

Subcommands live in their own modules and are imported only when invoked, so
``condor_nb --help`` and ``condor_nb q`` stay fast (no nbformat/papermill/rich).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

# command name -> (module, attribute, one-line help shown by --help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "submit": ("condor_nb.cli.jobs", "submit", "Submit a notebook as an HTCondor job."),
    "q": ("condor_nb.cli.jobs", "q", "List your notebook jobs and their states."),
    "status": ("condor_nb.cli.jobs", "status", "Show one job in detail."),
    "why": ("condor_nb.cli.why", "why", "Say why a job is not running, and what to change."),
    "wait": ("condor_nb.cli.jobs", "wait", "Wait for a job to finish, showing progress."),
    "logs": ("condor_nb.cli.jobs", "logs", "Show a job's output (stdout and stderr)."),
    "fetch": ("condor_nb.cli.jobs", "fetch", "Copy a job's executed notebook, report and logs."),
    "rm": ("condor_nb.cli.jobs", "rm", "Remove jobs from the queue."),
    "hold": ("condor_nb.cli.jobs", "hold", "Put jobs on hold."),
    "release": ("condor_nb.cli.jobs", "release", "Release held jobs."),
    "render": ("condor_nb.cli.jobs", "render", "Print the submit description, submit nothing."),
    "sweep": ("condor_nb.cli.sweep", "sweep", "Run a notebook over many parameter sets."),
    "registry": ("condor_nb.cli.jobs", "registry", "Maintain the local job registry."),
    "schedule": ("condor_nb.cli.schedule", "schedule", "Run a notebook on a cron schedule."),
    "pool": ("condor_nb.cli.pool", "pool", "Start, stop and inspect the personal HTCondor pool."),
    "dask": ("condor_nb.cli.dask", "dask", "List dask sessions (workers as jobs); take one down."),
    "auth": ("condor_nb.cli.auth", "auth", "Show the credential HTCondor will present."),
    "profiles": ("condor_nb.cli.profiles", "profiles", "List site profiles and their origin."),
    "parity": ("condor_nb.cli.parity", "parity", "Compare a job's worker environment with yours."),
    "doctor": ("condor_nb.cli.doctor", "doctor", "Check config, schedd, credentials, image."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command = getattr(importlib.import_module(entry[0]), entry[1])
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, _, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="condor_nb", prog_name="condor_nb")
@click.option("--debug", is_flag=True, help="Log to stderr what is sent to the schedd.")
def cli(debug: bool) -> None:
    """Run Jupyter notebooks as HTCondor jobs on an external schedd.

    \b
    Quick start:
      condor_nb pool start                      # a personal pool on this machine
      condor_nb submit examples/hello.ipynb -p name grid --wait
      condor_nb q
    """
    if debug:
        from condor_nb.cli import debugging

        debugging.enable()


def _show_warning(message: Any, category: Any, *_: Any, **__: Any) -> None:
    """A warning (a credential about to expire, a job no slot can run now) as one
    ``warning: ...`` line on stderr, not Python's file:line form."""
    from condor_nb.cli.display import error_text

    click.echo(f"warning: {error_text(str(message))}", err=True)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: CondorNbError -> message on stderr and its exit code, no traceback."""
    import warnings

    from condor_nb.errors import CondorNbError

    warnings.showwarning = _show_warning
    args = sys.argv[1:] if argv is None else argv
    try:
        return cli.main(args=args, prog_name="condor_nb", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        _json_error(args, exc, exc.exit_code)
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except CondorNbError as exc:
        from condor_nb.cli.display import error_text

        _json_error(args, exc, exc.exit_code)
        click.echo(f"error: {error_text(exc.message, exc.hint)}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


def _json_error(args: list[str], exc: Exception, exit_code: int) -> None:
    """With ``--json`` on the command line: the error as a JSON document on stdout too."""
    wanted = args[: args.index("--")] if "--" in args else args
    if "--json" in wanted:
        from condor_nb.cli import json_output

        click.echo(json_output.error(exc, exit_code))


if __name__ == "__main__":
    main()
