"""Settings: keyword > CONDOR_NB_* environment > [profiles.NAME] > top level > defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from condor_nb.errors import ConfigError
from condor_nb.settings import Settings, config_file_path, load_settings

pytestmark = pytest.mark.usefixtures("isolated_env")

CONFIG = """\
memory = "2GB"
disk = "5GB"
cpus = 2
image = "top:1"
worker_python = "python3.11"

[profiles.campus]
memory = "8GB"
cpus = 4
schedd = "ap40.campus.edu"

[profiles.ospool]
memory = "3GB"
collector = "cm-1.ospool.osg-htc.org"
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("CONDOR_NB_CONFIG", str(path))
    return path


def process_env() -> dict[str, str]:
    """Where this test put the config file (``environ`` replaces the whole environment)."""
    return {k: v for k, v in os.environ.items() if k in ("CONDOR_NB_CONFIG", "XDG_CONFIG_HOME")}


def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("CONDOR_NB_CONFIG", str(path))
    return path


def test_defaults_without_a_config_file(tmp_path: Path) -> None:
    settings = load_settings(environ=process_env())
    assert settings.profile == "personal"
    assert (settings.cpus, settings.memory, settings.disk, settings.gpus) == (1, "1GB", "1GB", 0)
    assert settings.image is None
    assert settings.worker_python == "python3"
    assert settings.spool_timeout == 600
    assert settings.poll_interval == 2.0
    assert settings.home == tmp_path / "xdg-data" / "condor_nb"
    assert settings.registry_path == settings.home / "registry.sqlite"
    assert settings.jobs_dir == settings.home / "jobs"


def test_config_file_path_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONDOR_NB_CONFIG")
    assert config_file_path() == tmp_path / "xdg-config" / "condor_nb" / "config.toml"


# (environment, keyword overrides, setting, expected value)
PRECEDENCE = [
    pytest.param({}, {}, "memory", "2GB", id="top level beats default"),
    pytest.param({}, {}, "gpus", 0, id="default when nobody sets it"),
    pytest.param({}, {"profile": "campus"}, "memory", "8GB", id="profile table beats top level"),
    pytest.param({}, {"profile": "campus"}, "disk", "5GB", id="top level fills profile gaps"),
    pytest.param(
        {"CONDOR_NB_PROFILE": "campus"}, {}, "schedd", "ap40.campus.edu",
        id="profile chosen by environment",
    ),
    pytest.param(
        {"CONDOR_NB_MEMORY": "16GB"}, {"profile": "campus"}, "memory", "16GB",
        id="environment beats profile table",
    ),
    pytest.param({"CONDOR_NB_CPUS": "6"}, {}, "cpus", 6, id="environment beats top level"),
    pytest.param(
        {"CONDOR_NB_MEMORY": "16GB"}, {"memory": "32GB"}, "memory", "32GB",
        id="keyword beats environment",
    ),
    pytest.param(
        {"CONDOR_NB_PROFILE": "campus"}, {"profile": "ospool"}, "memory", "3GB",
        id="keyword profile beats environment profile",
    ),
    pytest.param({}, {"cpus": "12"}, "cpus", 12, id="keyword converted to int"),
    pytest.param({"CONDOR_NB_CPUS": ""}, {}, "cpus", 2, id="empty environment variable ignored"),
    pytest.param({}, {"memory": None}, "memory", "2GB", id="keyword None ignored"),
    pytest.param(
        {"CONDOR_NB_POLL_INTERVAL": "0.25"}, {}, "poll_interval", 0.25, id="float from env"
    ),
    pytest.param({"CONDOR_NB_HOME": "/srv/nb"}, {}, "home", Path("/srv/nb"), id="home from env"),
    pytest.param({}, {"profile": "nosuch"}, "memory", "2GB", id="profile without a table"),
]  # fmt: skip


@pytest.mark.parametrize(("environ", "overrides", "name", "expected"), PRECEDENCE)
def test_precedence(
    config: Path, environ: dict[str, str], overrides: dict[str, Any], name: str, expected: Any
) -> None:
    settings = load_settings(environ={**process_env(), **environ}, **overrides)
    assert getattr(settings, name) == expected
    assert type(getattr(settings, name)) is type(expected)


def test_profile_tables_are_kept_for_front_ends(config: Path) -> None:
    settings = load_settings(environ=process_env())
    assert set(settings.profiles) == {"campus", "ospool"}


def test_top_level_profile_selects_a_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, monkeypatch, 'profile = "campus"\n[profiles.campus]\ncpus = 3\n')
    settings = load_settings(environ=process_env())
    assert (settings.profile, settings.cpus) == ("campus", 3)


def test_home_expands_the_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    write_config(tmp_path, monkeypatch, 'home = "~/condor_nb"\n')
    assert load_settings(environ=process_env()).home == tmp_path / "me" / "condor_nb"


def test_reading_settings_changes_nothing(config: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    load_settings(environ={**process_env(), "CONDOR_NB_HOME": str(tmp_path / "new-home")})
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_replace_returns_a_new_object() -> None:
    settings = Settings(home=Path("/x"))
    changed = settings.replace(cpus=3)
    assert (settings.cpus, changed.cpus, changed.home) == (1, 3, Path("/x"))


@pytest.mark.parametrize(
    ("text", "key", "source"),
    [
        ("memroy = '4GB'\n", "memroy", ""),
        ("[profiles.campus]\nmemroy = '4GB'\n", "memroy", "[profiles.campus]"),
        ("extra = 1\n", "extra", ""),
    ],
)
def test_unknown_key_lists_known_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, key: str, source: str
) -> None:
    path = write_config(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError) as info:
        load_settings(environ=process_env(), profile="campus")
    message = str(info.value)
    assert f"unknown setting '{key}' in {path}" in message
    assert source in message
    assert "known settings: collector, condor_config, cpus, disk, gpus, home," in message
    assert "memory" in message and "worker_python" in message


def test_bad_toml_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path, monkeypatch, 'memory = "4GB\ncpus = 2\n')
    with pytest.raises(ConfigError) as info:
        load_settings(environ=process_env())
    message = str(info.value)
    assert f"configuration file {path} is not valid TOML" in message
    assert "line 1" in message
    assert "move the file away" in message
    assert info.value.exit_code == 3


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CONDOR_NB_CPUS", "four"),
        ("CONDOR_NB_CPUS", "2.5"),
        ("CONDOR_NB_GPUS", "1GB"),
        ("CONDOR_NB_SPOOL_TIMEOUT", "10m"),
        ("CONDOR_NB_POLL_INTERVAL", "fast"),
    ],
)
def test_non_numeric_environment_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={**process_env(), variable: value})
    message = str(info.value)
    name = variable.removeprefix("CONDOR_NB_").lower()
    assert f"setting '{name}' from environment variable {variable}: expected a" in message
    assert repr(value) in message


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("cpus = 'four'\n", "cpus"),
        ("gpus = true\n", "gpus"),
        ("spool_timeout = [1]\n", "spool_timeout"),
    ],
)
def test_non_numeric_config_value_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, name: str
) -> None:
    path = write_config(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError) as info:
        load_settings(environ=process_env())
    assert f"setting '{name}' from {path}: expected a" in str(info.value)


def test_fractional_count_in_config_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, monkeypatch, "cpus = 2.5\n")
    with pytest.raises(ConfigError):
        load_settings(environ=process_env())


def test_non_numeric_keyword(config: Path) -> None:
    with pytest.raises(ConfigError, match="setting 'cpus' from keyword argument"):
        load_settings(environ=process_env(), cpus="many")


def test_unknown_keyword() -> None:
    with pytest.raises(ConfigError, match="unknown setting\\(s\\): colour, flavour"):
        load_settings(environ=process_env(), flavour=1, colour=2)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("yes", True), ("True", True), ("off", False), ("0", False)],
)
def test_shared_filesystem_from_the_environment(value: str, expected: bool) -> None:
    env = {**process_env(), "CONDOR_NB_SHARED_FILESYSTEM": value}
    assert load_settings(environ=env).shared_filesystem is expected


def test_shared_filesystem_in_a_profile_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = 'profile = "campus"\n[profiles.campus]\nshared_filesystem = true\n'
    write_config(tmp_path, monkeypatch, text)
    assert load_settings(environ=process_env()).shared_filesystem is True
    assert load_settings(environ=process_env(), profile="personal").shared_filesystem is False


def test_shared_filesystem_that_is_not_a_boolean_says_what_it_takes() -> None:
    env = {**process_env(), "CONDOR_NB_SHARED_FILESYSTEM": "maybe"}
    with pytest.raises(ConfigError) as info:
        load_settings(environ=env)
    assert "expected true or false, got 'maybe'" in str(info.value)
    assert "CONDOR_NB_SHARED_FILESYSTEM" in str(info.value)
