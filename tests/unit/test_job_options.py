"""The job options are listed once (JobOptions); every API and CLI that makes a job
takes exactly the options its kind takes, with the same defaults and docs."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest

from condor_nb.cli.main import cli
from condor_nb.spec import options as job_opts
from condor_nb.spec.options import KINDS, NOT_TAKEN, JobOptions, Kind, names_for

pytestmark = pytest.mark.usefixtures("isolated_env")


def _api() -> list[tuple[Callable[..., Any], Kind, set[str]]]:
    """(function, kind, its own arguments that are not job options)."""
    from condor_nb import api
    from condor_nb.schedules import api as schedules
    from condor_nb.sweeps import api as sweeps

    return [
        (api.submit, "job", {"notebook", "parameters", "cache", "settings"}),
        (sweeps.sweep, "sweep", {"notebook", "parameter_sets", "grid", "zip", "parameters",
                                 "cache", "settings"}),
        (schedules.schedule, "schedule", {"notebook", "cron", "parameters", "timezone",
                                          "keep_runs", "settings"}),
        (schedules.update, "schedule", {"schedule_id", "cron", "parameters", "notebook",
                                        "timezone", "keep_runs", "settings"}),
    ]  # fmt: skip


@pytest.mark.parametrize("func, kind, own", _api(), ids=lambda v: getattr(v, "__qualname__", ""))
def test_api_signatures_are_the_job_options(
    func: Callable[..., Any], kind: Kind, own: set[str]
) -> None:
    """The options come as ``**options: Unpack[JobKwargs]`` (ScheduleKwargs for a
    schedule), never as a copied list; the docstring lists every one of them."""
    params = inspect.signature(func).parameters
    named = {n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_KEYWORD}
    assert named == own, "a job option is listed in the signature again"
    (var,) = [p for p in params.values() if p.kind is inspect.Parameter.VAR_KEYWORD]
    typed = "ScheduleKwargs" if kind == "schedule" else "JobKwargs"
    assert var.annotation == f"Unpack[{typed}]"
    for name in names_for(kind):
        assert job_opts.info(name).doc in " ".join((func.__doc__ or "").split()), name


@pytest.mark.parametrize("kind", KINDS)
def test_the_keyword_types_are_the_job_options(kind: Kind) -> None:
    typed = job_opts.ScheduleKwargs if kind == "schedule" else job_opts.JobKwargs
    # A TypedDict holds its (string) annotations as ForwardRefs, merged from its bases.
    hints = {k: getattr(v, "__forward_arg__", v) for k, v in typed.__annotations__.items()}
    fields = {f.name: f.type for f in dataclasses.fields(JobOptions)}
    assert set(hints) == set(names_for(kind)), "the keyword arguments drifted"
    assert hints == {n: fields[n] for n in names_for(kind)}, "the types drifted"


def test_an_option_a_kind_does_not_take_is_refused_by_the_api(tmp_path: Path) -> None:
    from condor_nb import api
    from condor_nb.schedules import api as schedules

    with pytest.raises(TypeError, match=r"does not take the option.*'retries'.*next firing"):
        schedules.schedule(tmp_path / "nb.ipynb", "0 6 * * *", retries=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"'memroy'.*its options are: cpus, memory"):
        api.submit(tmp_path / "nb.ipynb", memroy="4GB")  # type: ignore[call-arg]


def _command(*path: str) -> click.Command:
    ctx = click.Context(cli)
    command: click.Command | None = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.get_command(ctx, name)
    assert command is not None, path
    return command


CLI = [
    (("submit",), "job"),
    (("render",), "job"),
    (("sweep", "run"), "sweep"),
    (("schedule", "create"), "schedule"),
    (("schedule", "update"), "schedule"),
]


@pytest.mark.parametrize("path, kind", CLI, ids=[" ".join(p) for p, _ in CLI])
def test_cli_options_are_the_job_options(path: tuple[str, ...], kind: Kind) -> None:
    command = _command(*path)
    by_name = {p.name: p for p in command.params if isinstance(p, click.Option)}
    for name in names_for(kind):
        option = by_name.get(name)
        assert option is not None, f"{' '.join(path)} lacks the option {name}"
        info = job_opts.info(name)
        assert set(info.flags) <= set(option.opts), (name, option.opts)
        assert option.help == info.doc
    for flags in (["-p", "--param"], ["-f", "--params-file"]):
        assert any(set(flags) <= set(p.opts) for p in by_name.values()), flags
    for kind_, name in NOT_TAKEN:
        if kind_ == kind:
            assert name not in by_name, f"{' '.join(path)} has {name}, which a {kind} refuses"
            refused = by_name[f"refused_{name}"]
            assert refused.hidden and set(refused.opts) == set(job_opts.info(name).flags)


def test_every_option_is_documented_and_reachable() -> None:
    for name in names_for("job"):
        info = job_opts.info(name)
        assert info.doc.strip() and info.flags, name
        assert all(flag.startswith("--") for flag in info.flags), name
    # Every option is taken by some kind; what a kind refuses says why.
    for kind, name in NOT_TAKEN:
        assert kind in KINDS and name in names_for("job") and len(NOT_TAKEN[(kind, name)]) > 40


def test_a_schedule_refuses_retries_with_the_reason() -> None:
    with pytest.raises(TypeError, match="next firing"):
        JobOptions.from_kwargs({"retries": 2}, kind="schedule")
    with pytest.raises(TypeError, match="memroy"):
        JobOptions.from_kwargs({"memroy": "4GB"})


def test_notebook_job_builds_from_job_options(make_notebook: Callable[..., Path],
                                              tmp_path: Path) -> None:  # fmt: skip
    from condor_nb.settings import Settings
    from condor_nb.spec.job import notebook_job

    nb = make_notebook("analysis.ipynb")
    settings = Settings(home=tmp_path / "home")
    options = JobOptions(memory="2GB", wall_time="1h30m", retries="3")
    by_options = notebook_job(nb, settings=settings, options=options)
    by_kwargs = notebook_job(nb, settings=settings, memory="2GB", wall_time="1h30m", retries="3")
    assert by_options == by_kwargs
    assert (by_options.resources.memory_mib, by_options.wall_time, by_options.retries) == (
        2048, 5400.0, 3
    )  # fmt: skip
    with pytest.raises(TypeError, match="not both"):
        notebook_job(nb, settings=settings, options=options, cpus=2)


def test_the_users_guide_lists_the_options_as_declared() -> None:
    guide = Path(__file__).parents[2] / "docs" / "users.md"
    assert job_opts.markdown_table() in guide.read_text(encoding="utf-8"), (
        "docs/users.md (Job options) drifted: paste condor_nb.spec.options.markdown_table()"
    )
