"""The CLI's error paths: exit codes and messages a user reads, never a traceback.

Only commands that contact no schedd are run (``render`` and failing ``submit``s).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from condor_nb.cli.main import COMMANDS, main

pytestmark = pytest.mark.usefixtures("isolated_env")

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello.ipynb"
NotebookFactory = Callable[..., Path]  # the make_notebook fixture (conftest.py)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``condor_nb ARGV`` in-process: (exit code, stdout, stderr)."""
    try:
        returned = main(list(argv))
        code = returned if isinstance(returned, int) else 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_example_notebook_is_there() -> None:
    assert HELLO.is_file()


def test_submit_missing_notebook(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "submit", str(tmp_path / "missing.ipynb"))
    assert code == 2
    assert out == ""
    assert err.startswith("error: notebook not found: ")
    assert "missing.ipynb" in err
    assert "hint: check the path" in err


def test_submit_missing_notebook_relative(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "submit", "missing.ipynb")
    assert code == 2
    assert f"notebook not found: {tmp_path / 'missing.ipynb'}" in err


def test_render_unknown_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "render", str(HELLO), "-p", "unknown", "1")
    assert code == 2
    assert out == ""
    assert "unknown parameter 'unknown'" in err
    assert "the parameters cell declares: name, repeat, scale" in err
    assert "--allow-unknown-params" in err


def test_render_suggests_a_close_parameter_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "render", str(HELLO), "-p", "nmae", "x")
    assert code == 2
    assert "did you mean 'name'?" in err


def test_render_allow_unknown_params(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "render", str(HELLO), "-p", "unknown", "1", "--allow-unknown-params")
    assert code == 0
    assert 'MY.CondorNbParams = "{%22unknown%22: 1}"' in out


def test_render_wrongly_typed_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "render", str(HELLO), "-p", "repeat", "three")
    assert code == 2
    assert "parameter 'repeat' is declared as int" in err
    assert "'three'" in err
    assert "-p repeat 3" in err


@pytest.mark.parametrize(
    ("option", "value", "parts"),
    [
        ("--memory", "4parsecs", ("memory: expected a size", "'4parsecs'", "unknown unit")),
        ("--disk", "0", ("disk: expected a size", "greater than zero")),
        ("--cpus", "two", ("cpus: expected a whole number", "'two'")),
        ("--gpus", "-1", ("gpus: expected a whole number >= 0",)),
        ("--image", "my image", ("image: image may contain only", "'my image'")),
        ("--kernel", "python 3", ("kernel: kernel name may contain only",)),
        ("--cell-timeout", "-5", ("cell timeout: expected a positive number",)),
        ("--name", "", ("job name: expected a non-empty string",)),
        ("--profile", "../x", ("site profile: expected a name like",)),
    ],
)
def test_render_bad_option_values(
    capsys: pytest.CaptureFixture[str], option: str, value: str, parts: tuple[str, ...]
) -> None:
    code, out, err = run(capsys, "render", str(HELLO), option, value)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    for part in parts:
        assert part in err


def test_render_unknown_site_profile(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "render", str(HELLO), "--profile", "nosuch")
    assert code == 3
    assert "unknown site profile 'nosuch'" in err
    assert "available profiles:" in err and "personal" in err


def test_render_input_file_with_a_space(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = tmp_path / "my data.csv"
    data.write_text("x\n", encoding="utf-8")
    code, _, err = run(capsys, "render", str(HELLO), "--files", str(data))
    assert code == 2
    assert "cannot be sent to the worker" in err
    assert "put it in a directory" in err


def test_bad_environment_setting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDOR_NB_CPUS", "lots")
    code, _, err = run(capsys, "render", str(HELLO))
    assert code == 3
    assert "environment variable CONDOR_NB_CPUS" in err
    assert "'lots'" in err


def test_click_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "render", str(HELLO), "--cell-timeout", "soon")
    assert code == 2
    assert "'soon' is not a valid float" in err
    code, _, err = run(capsys, "nosuchcommand")
    assert code == 2
    assert "No such command 'nosuchcommand'" in err


def test_render_prints_the_submit_description(
    capsys: pytest.CaptureFixture[str], isolated_env: Path
) -> None:
    code, out, err = run(capsys, "render", str(HELLO), "-p", "name", "x", "--memory", "4GB")
    assert code == 0
    assert err == ""
    lines = out.splitlines()
    assert lines[-1] == "queue"
    assert any(line.startswith("MY.CondorNbId = ") for line in lines)
    assert 'MY.CondorNbName = "hello"' in lines
    assert 'MY.CondorNbParams = "{%22name%22: %22x%22}"' in lines
    assert "request_memory = 4096" in lines
    assert "executable = /usr/bin/env" in lines
    # render submits nothing and records nothing
    home = isolated_env / "home"
    assert not (home / "registry.sqlite").exists()
    assert not (home / "jobs").exists()


def test_render_own_notebook(
    capsys: pytest.CaptureFixture[str], make_notebook: NotebookFactory
) -> None:
    nb = make_notebook("My Analysis (v2).ipynb")
    code, out, _ = run(capsys, "render", str(nb), "-p", "repeat", "7", "-p", "scale", "2")
    assert code == 0
    assert 'MY.CondorNbParams = "{%22repeat%22: 7, %22scale%22: 2.0}"' in out
    assert "/in/My_Analysis__v2_.ipynb" in out


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "Usage: condor_nb" in out
    for name in ["submit", "q", "status", "wait", "logs", "fetch", "rm", "render", "pool"]:
        assert f"\n  {name} " in out
    assert set(COMMANDS) >= {"submit", "q", "render", "pool"}


def test_console_script_reports_without_a_traceback(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("condor_nb")
    if not script.exists():
        pytest.skip("condor_nb console script not installed next to this Python")
    result = subprocess.run(
        [str(script), "submit", str(tmp_path / "missing.ipynb")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error: notebook not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_htcondor2_imported_first_does_not_hide_the_personal_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`import htcondor2` with no configuration sets CONDOR_CONFIG=/dev/null."""
    from condor_nb import pool
    from condor_nb.condor import schedd
    from condor_nb.settings import Settings

    monkeypatch.setenv("CONDOR_CONFIG", "/dev/null")
    monkeypatch.setattr(pool, "client_config", lambda: "/pool/condor_config")
    assert schedd.condor_config_for(Settings()) == "/pool/condor_config"
    monkeypatch.setenv("CONDOR_CONFIG", "/etc/ap/condor_config")
    assert schedd.condor_config_for(Settings()) == "/etc/ap/condor_config"


def test_a_config_condor_nb_set_itself_is_not_taken_as_the_users_choice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from condor_nb import pool
    from condor_nb.condor import bindings, schedd
    from condor_nb.settings import Settings

    other = tmp_path / "other_config"
    other.write_text("COLLECTOR_HOST = 127.0.0.1:1\n")
    monkeypatch.delenv("CONDOR_CONFIG", raising=False)
    monkeypatch.setattr(bindings, "_set_by_us", None)
    monkeypatch.setattr(pool, "client_config", lambda: "/pool/condor_config")
    schedd.configure_bindings(Settings(condor_config=str(other)))  # one call for another pool
    assert schedd.condor_config_for(Settings()) == "/pool/condor_config"  # the default again
    mine = tmp_path / "my_access_point"
    monkeypatch.setenv("CONDOR_CONFIG", str(mine))  # but a user's own choice is kept
    assert schedd.condor_config_for(Settings()) == str(mine)
