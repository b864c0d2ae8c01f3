"""THE one list of job options: :class:`JobOptions`.

Every option a notebook job can be given (resources, image, site profile, input
files, wall time, retries, secrets, ...) is declared here once, with its type, its
default, its command-line flag(s) and one doc string. Everything else is generated
from, or checked against, this list:

- the click options of ``condor_nb submit``/``render``, ``sweep`` and ``schedule
  create``/``update`` (:mod:`condor_nb.cli.options` builds them from these fields);
- the keyword arguments of :func:`condor_nb.submit`, :func:`condor_nb.sweep`,
  :func:`condor_nb.schedules.schedule` and ``update`` (a unit test compares their
  signatures with :func:`names_for`), whose docstrings get the docs below through
  :func:`document` (dask-jobqueue's ``job_parameters`` pattern);
- :func:`condor_nb.spec.job.notebook_job`, which validates a :class:`JobOptions`
  into a :class:`~condor_nb.spec.job.NotebookJob` (one validation path).

The values held here are what the user gave (``"4GB"``, ``"2h"``, ``["TOKEN"]``),
not yet validated. Pure data: no I/O, no click.
"""

from __future__ import annotations

import dataclasses
import os
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict, TypeVar

Kind = Literal["job", "sweep", "schedule"]
KINDS: tuple[Kind, ...] = ("job", "sweep", "schedule")

#: Options a kind of job does NOT take, and why (every other option is taken by
#: every kind). The CLI then has no such flag for that kind, and the API no such
#: keyword argument.
NOT_TAKEN: dict[tuple[Kind, str], str] = {
    ("schedule", "retries"): (
        "a schedule does not retry a failed run: its next firing is the next run. "
        "HTCondor's max_retries works through on_exit_remove, which a schedule sets to "
        "false so that its job stays queued for the next firing, and a cron job only "
        "ever starts at a planned time; every run's outcome is kept in the schedule's "
        "history (`condor_nb schedule runs`)"
    ),
}


@dataclass(frozen=True)
class OptionInfo:
    """How one option is shown: its doc, its CLI flags and how the CLI parses it."""

    doc: str
    flags: tuple[str, ...]
    metavar: str | None = None
    multiple: bool = False  # the flag may be repeated (a tuple of values)
    is_flag: bool = False  # a switch with no value
    number: bool = False  # the CLI parses a float
    path: bool = False  # a file or folder path (an empty one is refused)


def _option(default: Any, *flags: str, doc: str, **cli: Any) -> Any:
    return field(default=default, metadata={"option": OptionInfo(doc, flags, **cli)})


@dataclass(frozen=True)
class JobOptions:
    """Every option of a notebook job, as the user gave it (validated by notebook_job)."""

    cpus: int | str | None = _option(
        None, "--cpus", doc="CPU cores (default 1, or CONDOR_NB_CPUS)."
    )
    memory: int | str | None = _option(
        None, "--memory",
        doc="Memory, e.g. 4GB or 512MiB (HTCondor units; a number is MiB; default 1GB).",
    )  # fmt: skip
    disk: int | str | None = _option(
        None, "--disk", doc="Scratch disk, e.g. 10GB (HTCondor units; default 1GB)."
    )
    gpus: int | str | None = _option(None, "--gpus", doc="GPUs (default 0).")
    image: str | None = _option(
        None, "--image",
        doc="Container image the notebook runs in (e.g. a /cvmfs/... Apptainer image).",
    )  # fmt: skip
    profile: str | None = _option(
        None, "--profile", doc="Site profile (`personal`, `ospool`, ...; `condor_nb profiles`)."
    )
    name: str | None = _option(None, "--name", doc="Name shown in listings (default: the "
                               "notebook's name).")  # fmt: skip
    kernel: str | None = _option(
        None, "--kernel", doc="Kernel to run the notebook with on the worker."
    )
    cell_timeout: float | None = _option(
        None, "--cell-timeout", doc="Seconds a single cell may run.", number=True
    )
    wall_time: float | str | None = _option(
        None, "--wall-time",
        doc="Stop the notebook after this long (90s, 30m, 2h, 1h30m; a number is seconds), "
        "keeping its partial outputs.",
    )  # fmt: skip
    retries: int | str | None = _option(
        None, "--retries", doc="Run a failed job again, up to this many times (at most 100)."
    )
    files: Iterable[str | os.PathLike[str]] = _option(
        (), "--files", "--file",
        doc="Extra input files or folders, sent to the worker next to the notebook.",
        multiple=True, path=True, metavar="PATH",
    )  # fmt: skip
    secrets: Iterable[str] | Mapping[str, str | os.PathLike[str]] | None = _option(
        None, "--secret",
        doc="Secrets given to the notebook as environment variables, kept out of job ads, "
        "logs and reports: NAME takes $NAME's value, NAME=FILE a file's content "
        "(Python: a list of names, or a mapping of names to files).",
        multiple=True, metavar="NAME[=FILE]",
    )  # fmt: skip
    notify: Iterable[str] | None = _option(
        None, "--notify",
        doc="Be told when the job ends: a webhook URL (https://...), slack:CHANNEL_ID[:SECRET] "
        "(the bot token only through --secret, default SLACK_BOT_TOKEN), or "
        "email:ADDRESS[:WHEN] (WHEN: complete, error or always); repeatable; `none` turns "
        "the setting's default (CONDOR_NB_NOTIFY) off.",
        multiple=True, metavar="TARGET",
    )  # fmt: skip
    allow_unknown_params: bool = _option(
        False, "--allow-unknown-params",
        doc="Accept parameters the notebook's parameters cell does not declare.",
        is_flag=True,
    )  # fmt: skip
    allow_no_match: bool = _option(
        False, "--allow-no-match",
        doc="Submit even when no slot of the pool can ever run the job (it waits idle "
        "until one joins); without it such a job is refused.",
        is_flag=True,
    )  # fmt: skip

    @classmethod
    def of(cls, kind: Kind, values: Mapping[str, Any]) -> JobOptions:
        """The options ``kind`` takes, from a mapping (a function's ``locals()``, a CLI's
        parsed options): names that are not options are ignored; a None value (or an
        empty tuple for a repeatable flag) means "not given" (the default)."""
        given = {}
        for name in names_for(kind):
            if name in values and not _unset(values[name]):
                given[name] = values[name]
        return cls(**given)

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any], *, kind: Kind = "job") -> JobOptions:
        """Keyword arguments that must all be options of ``kind`` (TypeError otherwise,
        naming why a kind does not take one); None means "not given", as in :meth:`of`."""
        check_names(kwargs, kind)
        return cls.of(kind, kwargs)

    def given(self) -> dict[str, Any]:
        """The options set to something other than their default."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != f.default
        }


class ScheduleKwargs(TypedDict, total=False):
    """The options as keyword arguments, for type checkers: ``**options:
    Unpack[JobKwargs]`` in a signature. The same names and types as :class:`JobOptions`
    (a unit test compares them); every option but ``retries`` (see NOT_TAKEN)."""

    cpus: int | str | None
    memory: int | str | None
    disk: int | str | None
    gpus: int | str | None
    image: str | None
    profile: str | None
    name: str | None
    kernel: str | None
    cell_timeout: float | None
    wall_time: float | str | None
    files: Iterable[str | os.PathLike[str]]
    secrets: Iterable[str] | Mapping[str, str | os.PathLike[str]] | None
    notify: Iterable[str] | None
    allow_unknown_params: bool
    allow_no_match: bool


class JobKwargs(ScheduleKwargs, total=False):
    """Every option, as keyword arguments (a job's and a sweep's)."""

    retries: int | str | None


def _unset(value: Any) -> bool:
    return value is None or (isinstance(value, tuple) and not value)


def info(name: str) -> OptionInfo:
    """The doc and CLI flags of option ``name``."""
    return _FIELDS[name].metadata["option"]  # type: ignore[no-any-return]


def default(name: str) -> Any:
    return _FIELDS[name].default


def names_for(kind: Kind) -> tuple[str, ...]:
    """The options ``kind`` takes, in declaration order."""
    return tuple(name for name in _FIELDS if (kind, name) not in NOT_TAKEN)


def check_names(kwargs: Iterable[str], kind: Kind) -> None:
    """TypeError naming the unknown option(s), why a kind does not take one, and the
    options it does take."""
    allowed = set(names_for(kind))
    unknown = [name for name in kwargs if name not in allowed]
    if not unknown:
        return
    reasons = [NOT_TAKEN[(kind, n)] for n in unknown if (kind, n) in NOT_TAKEN]
    message = (
        f"a {kind} does not take the option(s) {', '.join(map(repr, unknown))}"
        + (f" ({'; '.join(reasons)})" if reasons else "")
        + f"; its options are: {', '.join(names_for(kind))}"
    )
    raise TypeError(message)


def option_docs(kind: Kind, indent: str = "") -> str:
    """``name: doc`` for every option ``kind`` takes, wrapped (for docstrings and docs)."""
    return "\n".join(
        textwrap.fill(f"{name}: {info(name).doc}", width=88, initial_indent=indent,
                      subsequent_indent=indent + "    ", break_on_hyphens=False)
        for name in names_for(kind)
    )  # fmt: skip


def markdown_table() -> str:
    """The options as the table of docs/users.md ("Job options"; a test keeps it in step)."""
    rows = [
        "| option (Python) | CLI flag | job | sweep | schedule | what it is |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in names_for("job"):
        i = info(name)
        flags = ", ".join(f"`{f}{' ' + i.metavar if i.metavar else ''}`" for f in i.flags)
        takes = " | ".join("yes" if name in names_for(k) else "no" for k in KINDS)
        rows.append(f"| `{name}` | {flags} | {takes} | {i.doc} |")
    return "\n".join(rows)


_MARKER = re.compile(r"^([ \t]*)\{job_options\}[ \t]*$", re.MULTILINE)

F = TypeVar("F", bound=Callable[..., Any])


def document(kind: Kind) -> Callable[[F], F]:
    """Put the docs of ``kind``'s options where the docstring says ``{job_options}``."""

    def decorate(func: F) -> F:
        doc = func.__doc__ or ""
        if not _MARKER.search(doc):
            raise ValueError(f"{func.__qualname__}: its docstring has no {{job_options}} line")
        func.__doc__ = _MARKER.sub(lambda m: option_docs(kind, m.group(1)), doc)
        return func

    return decorate


_FIELDS: dict[str, dataclasses.Field[Any]] = {f.name: f for f in dataclasses.fields(JobOptions)}
