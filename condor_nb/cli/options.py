"""The click options of every command that makes a job, generated from JobOptions.

``@job_options("job")`` gives ``submit`` and ``render`` a flag for every option of
:class:`condor_nb.spec.options.JobOptions` (with its one doc string as help), plus
the parameter flags ``-p NAME VALUE`` and ``-f FILE``; ``"sweep"`` and
``"schedule"`` do the same for the options those kinds take. With ``update=True``
(``schedule update``) a flag left out means "keep the current value".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from condor_nb.spec import options as job_opts
from condor_nb.spec.options import JobOptions, Kind

F = TypeVar("F", bound=Callable[..., Any])


def not_empty(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """An empty path (often an unset shell variable) is an error, never "this folder"."""
    values = value if isinstance(value, tuple) else (value,)
    if any(v is not None and not str(v).strip() for v in values):
        raise click.BadParameter(
            "an empty path was given; name a folder or file (`.` for the current folder)"
        )
    return value


JSON_OPTION = click.option(
    "--json", "as_json", is_flag=True, help='Print JSON (its fields: docs/users.md, "For scripts").'
)
QUIET_OPTION = click.option("-q", "--quiet", is_flag=True, help="Print ids only, one a line.")
WIDE_OPTION = click.option("--wide", is_flag=True, help="Cut nothing: long reasons, names whole.")


def known_states(ctx: click.Context, param: click.Parameter, value: Any) -> tuple[str, ...]:
    """``--state`` values, upper-cased; an unknown one is an error listing the valid ones."""
    from condor_nb.condor.status import JobState

    valid = [s.value for s in JobState]
    states = tuple(str(v).strip().upper() for v in value or ())
    unknown = [v for v, s in zip(value or (), states, strict=True) if s not in valid]
    if unknown:
        raise click.BadParameter(
            f"unknown state {', '.join(repr(u) for u in unknown)}; the states are "
            f"{', '.join(valid)}"
        )
    return states


def one_output(as_json: bool, quiet: bool, *others: tuple[str, bool]) -> None:
    """--json, -q and the options given in ``others`` ((flag, given) pairs) exclude each other."""
    given = [flag for flag, on in [("--json", as_json), ("-q", quiet), *others] if on]
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join(given)} cannot be given together; pick one")


PARAMETER_OPTIONS = [
    click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="NAME VALUE",
                 help="A parameter (typed by the notebook's parameters cell)."),
    click.option("-f", "--params-file", "params_files", multiple=True, type=click.Path(),
                 help="Parameters from a YAML or JSON file (-p wins)."),
]  # fmt: skip


def _click_option(name: str, *, update: bool) -> Callable[[F], F]:
    info = job_opts.info(name)
    kwargs: dict[str, Any] = {"help": info.doc}
    if info.is_flag:
        kwargs["is_flag"] = True
        kwargs["default"] = None if update else job_opts.default(name)
    if info.multiple:
        kwargs["multiple"] = True
    if info.metavar:
        kwargs["metavar"] = info.metavar
    if info.number:
        kwargs["type"] = float
    if info.path:
        kwargs["type"] = click.Path()
        kwargs["callback"] = not_empty
    return click.option(*info.flags, name, **kwargs)


def _refused_option(kind: Kind, name: str) -> Callable[[F], F]:
    """A hidden flag for an option ``kind`` does not take: a usage error saying why."""
    reason = job_opts.NOT_TAKEN[(kind, name)]
    info = job_opts.info(name)

    def refuse(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None:
            raise click.UsageError(f"{info.flags[0]} is not an option of a {kind}: {reason}", ctx)

    return click.option(*info.flags, f"refused_{name}", hidden=True, expose_value=False,
                        callback=refuse)  # fmt: skip


def job_options(kind: Kind, *, update: bool = False) -> Callable[[F], F]:
    """The parameter flags, a flag for every option ``kind`` takes, and a hidden one that
    says why for each option it does not take."""

    def decorate(func: F) -> F:
        generated = [_click_option(n, update=update) for n in job_opts.names_for(kind)]
        generated += [_refused_option(k, n) for k, n in job_opts.NOT_TAKEN if k == kind]
        for option in reversed([*PARAMETER_OPTIONS, *generated]):
            func = option(func)
        return func

    return decorate


def collect(kind: Kind, opts: dict[str, Any]) -> JobOptions:
    """The JobOptions among a command's parsed options (an omitted flag: the default)."""
    return JobOptions.of(kind, opts)


def given(kind: Kind, opts: dict[str, Any]) -> dict[str, Any]:
    """The options given on the command line, as keyword arguments of the API."""
    return collect(kind, opts).given()
