"""Hostile inputs: each is refused with a clear error (a CondorNbError, never a
traceback) or becomes exactly what was asked. Property tests over whole classes of
input; the real CLI and pool side is in tests/integration/test_hostile_inputs.py."""

from __future__ import annotations

import os
import time
from pathlib import Path
from unittest import mock

import click
import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from condor_nb.cli.display import printable
from condor_nb.condor import deadline
from condor_nb.contract import JobFiles, worker_notebook_name
from condor_nb.credentials import discover as credentials
from condor_nb.errors import ConfigError, SpecError
from condor_nb.settings import Settings, load_settings
from condor_nb.spec.job import MAX_WALL_TIME, NotebookJob, Resources, _wall_time, parse_secrets
from condor_nb.submission import templates
from condor_nb.submission.render import render

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


# -- notebook file names --------------------------------------------------------------
@PROPERTY
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1))
def test_any_notebook_name_reaches_papermill_as_a_local_file(name: str) -> None:
    """Whatever the user's file is called, the wrapper hands papermill a path that it
    reads from the job directory (a name starting with "-" once meant stdin)."""
    from papermill.iorw import LocalHandler, papermill_io
    from papermill.parameterize import parameterize_path

    from condor_nb.worker.run import papermill_path

    worker = worker_notebook_name(Path("/home/u") / name)
    assert "/" not in worker and worker.endswith(".ipynb")
    path = papermill_path(worker)
    assert isinstance(papermill_io.get_handler(path), LocalHandler)
    assert parameterize_path(path, {"a": 1}) == f"./{worker}"


# -- wall time ------------------------------------------------------------------------
def _job(wall: float) -> NotebookJob:
    return NotebookJob(
        notebook=Path("/home/u/fit.ipynb"), parameters={}, resources=Resources(1, 1024, 1024, 0),
        name="fit", profile="personal", wall_time=wall, content_hash="sha256:" + "0" * 64,
    )  # fmt: skip


WALL_TIMES = (
    st.integers(-(2**70), 2**70)
    | st.floats()
    | st.from_regex(r"\A[0-9]{1,25}(\.[0-9]{1,4})?[smhd]?\Z")
    | st.text(max_size=12)
)


@PROPERTY
@given(WALL_TIMES)
def test_any_wall_time_is_refused_or_stored_exactly(value: float | str) -> None:
    try:
        wall = _wall_time(value)
    except SpecError as exc:
        assert "wall time" in str(exc)
        return
    assert wall is not None and wall == int(wall) and 1 <= wall <= MAX_WALL_TIME
    files = JobFiles(Path("/srv/cnb/jobs/0123abcd"), "fit.ipynb")
    description = render(
        _job(wall), job_id="0123abcd", files=files, template=templates.load("personal"),
        settings=Settings(home=Path("/srv/cnb")),
    )  # fmt: skip
    # What the schedd stores (a 32-bit int) and what the worker's alarm() gets.
    assert int(description["allowed_execute_duration"]) == int(wall) + 300 < 2**31
    if isinstance(value, int):
        assert wall == value


def test_the_wall_time_that_crashed_the_wrapper_is_refused() -> None:
    for value in (2**31, "99999999999999999999", 10**400, "367d"):
        with pytest.raises(SpecError, match="wall time: expected"):
            _wall_time(value)  # type: ignore[arg-type]
    assert _wall_time("0.1h") == 360  # not 361: float noise is not a second


def test_notebooks_are_read_with_a_size_limit(tmp_path: Path) -> None:
    from condor_nb.spec.notebook import read_text_file

    with pytest.raises(SpecError, match="regular file; got a special file"):
        read_text_file(Path("/dev/zero"), "notebook")
    big = tmp_path / "big.ipynb"
    big.write_bytes(b" " * 2048)
    with pytest.raises(SpecError, match="expected at most 0 MiB; it is larger"):
        read_text_file(big, "notebook", limit=1024)


# -- settings -------------------------------------------------------------------------
@PROPERTY
@given(ANY_TEXT.filter(lambda t: t.strip() and "\x00" not in t))
def test_any_home_is_an_absolute_path_or_refused(raw: str) -> None:
    try:
        home = load_settings(environ={"CONDOR_NB_CONFIG": "/nonexistent"}, home=raw).home
    except ConfigError as exc:
        assert "expected an absolute path" in str(exc)
        return
    assert home.is_absolute()


def test_a_relative_home_is_refused_with_the_absolute_path_to_use(tmp_path: Path) -> None:
    env = {"CONDOR_NB_CONFIG": str(tmp_path / "none.toml"), "CONDOR_NB_HOME": "relhome"}
    with pytest.raises(ConfigError, match="expected an absolute path; got 'relhome'") as err:
        load_settings(environ=env)
    assert str(Path.cwd() / "relhome") in str(err.value)


@PROPERTY
@given(st.binary(max_size=60))
def test_any_config_file_gives_settings_or_a_config_error(data: bytes) -> None:
    path = Path(f"/tmp/condor_nb_prop_{os.getpid()}.toml")
    path.write_bytes(data)
    try:
        load_settings(environ={"CONDOR_NB_CONFIG": str(path)})
    except ConfigError:
        pass
    finally:
        path.unlink()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b'profile = "x"\n\xff\xfe = 1\n', "expected UTF-8 text"),
        (b'profile = "x"\n[profiles]\nx = 3\n', r"\[profiles.x\]: expected a table of settings"),
        (b'profiles = "campus"\n', "'profiles' must be a table"),
        (b"schedd_timeout = 0\n", "expected a positive number"),
    ],
)
def test_config_files_that_tracebacked_now_say_what_is_wrong(
    tmp_path: Path, text: bytes, expected: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(text)
    with pytest.raises(ConfigError, match=expected):
        load_settings(environ={"CONDOR_NB_CONFIG": str(path)})


# -- secrets --------------------------------------------------------------------------
@PROPERTY
@given(st.binary(max_size=40))
def test_any_secret_file_is_read_as_text_or_refused(data: bytes) -> None:
    path = Path(f"/tmp/condor_nb_prop_secret_{os.getpid()}")
    path.write_bytes(data)
    try:
        parse_secrets([f"TOKEN={path}"])
    except SpecError as exc:
        assert "secret TOKEN: expected UTF-8 text" in str(exc)
        return
    finally:
        path.unlink()
    assert data.decode("utf-8") is not None


# -- terminal output ------------------------------------------------------------------
SHOWN = (
    "".join(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x061C, 0x200E, 0x200F])
    + "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029\ufeff"
)


@PROPERTY
@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(SHOWN)))
def test_any_string_shown_by_the_cli_has_no_raw_control_or_bidi_characters(text: str) -> None:
    shown = printable(text)
    assert all(c.isprintable() or c == " " for c in shown)
    assert not set(shown) & set(SHOWN)
    if text.isprintable():
        assert shown == text


def test_bidi_override_and_line_separator_are_escaped() -> None:
    assert printable("job\u202eexe.ipynb\u2028fake") == "job\\u202eexe.ipynb\\u2028fake"
    assert printable("a\x1b[2Jb\x85") == "a\\x1b[2Jb\\x85"


# -- token claims ---------------------------------------------------------------------
KEY = "x" * 32
EXPIRIES = (
    st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False)
    | st.sampled_from([10**300, 1e300, -1, 253402300800])
)


@PROPERTY
@given(EXPIRIES, st.text(max_size=20))
def test_any_token_expiry_or_subject_is_shown_without_a_traceback(exp: float, sub: str) -> None:
    from condor_nb.cli.auth import _lifetime

    try:
        text = jwt.encode({"sub": sub, "exp": exp, "iss": "i"}, KEY, algorithm="HS256")
    except (OverflowError, ValueError, TypeError):
        return  # not even a token
    credentials.decode.cache_clear()
    cred = credentials.decode(text, kind="SciToken", source="t", location="here")
    if cred.problem is None:
        assert cred.expires_at is not None and 0 <= cred.expires_at <= 253402300799
        _lifetime(cred.expires_at)
        assert printable(cred.subject or "").isprintable()
    else:
        assert "'exp' (expiry) claim" in cred.problem


def test_an_absurd_expiry_makes_the_token_unusable_with_the_reason() -> None:
    text = jwt.encode({"sub": "a", "exp": 10**30}, KEY, algorithm="HS256")
    cred = credentials.decode(text, kind="SciToken", source="t", location="here")
    assert cred.problem is not None and "impossible time" in cred.problem


# -- the time bound around a call that holds the GIL ----------------------------------
def test_a_call_that_never_returns_is_cut_off_and_its_process_killed() -> None:
    with pytest.raises(deadline.DeadlineExceeded, match=r"no answer within 0\.5 s"):
        deadline.call_with_deadline(lambda: time.sleep(3600), 0.5)
    assert deadline.call_with_deadline(lambda: {"a": [1, 2]}, 10) == {"a": [1, 2]}
    with pytest.raises(deadline.ChildError, match="boom"):
        deadline.call_with_deadline(lambda: int("boom"), 10)


def test_every_table_cell_is_shown_escaped() -> None:
    from condor_nb.cli.display import table

    shown = table(("NAME", "VALUE"), [["a\u202eb", "x\x1b[2Jy\u2029z"]])
    assert "a\\u202eb" in shown and "x\\x1b[2Jy\\u2029z" in shown
    assert all(c.isprintable() or c in " \n" for c in shown)


@PROPERTY
@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(SHOWN)),
       st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(SHOWN)))  # fmt: skip
def test_any_string_in_an_error_reaches_the_terminal_escaped(text: str, other: str) -> None:
    """What cli main() prints for a CondorNbError whose message and hint hold user text:
    no raw control, bidi or separator character; a line break in that text cannot start
    a line of its own (every further line is indented)."""
    from condor_nb.cli.main import main

    @click.command()
    def boom() -> None:
        raise SpecError(f"no notebook {text}", hint=f"try {other}")

    with (
        mock.patch("condor_nb.cli.main.cli", boom),
        mock.patch("click.echo") as echo,
        pytest.raises(SystemExit) as ended,
    ):
        main([])
    assert ended.value.code == 2
    shown = "".join(str(call.args[0]) + "\n" for call in echo.call_args_list)
    lines = shown.rstrip("\n").split("\n")
    assert lines[0].startswith("error: no notebook ")
    assert all(line.startswith("  ") for line in lines[1:])
    assert all(c.isprintable() or c == " " for line in lines for c in line)
    assert not set(shown) & (set(SHOWN) - {"\n"})


def test_schedule_lines_show_names_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from condor_nb.cli.schedule import _show

    evil = SimpleNamespace(
        id="s1", name="rep\u202egpj.exe\x1b[2J", cron="0 0 * * *", state="ACTIVE",
        condor_id="1.0", reason="fake\u2028line", runs_started=0, runs_finished=0,
        last_exit_code=None, last_problem="p\rq", problems=1,
    )  # fmt: skip
    _show(evil)
    out = capsys.readouterr().out
    assert "rep\\u202egpj.exe\\x1b[2J" in out and "fake\\u2028line" in out and "p\\rq" in out
    assert all(c.isprintable() or c in " \n" for c in out)
