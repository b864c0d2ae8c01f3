"""The server extension's traits become condor_nb settings (in-process and for terminals)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("traitlets")

from condor_nb_jupyter.config import CondorNbJupyter
from traitlets.config import Config

from condor_nb.settings import load_settings

NO_FILE = {"CONDOR_NB_CONFIG": "/nonexistent/condor_nb/config.toml"}


def test_shared_filesystem_reaches_the_settings_and_the_terminals() -> None:
    config = Config()
    config.CondorNbJupyter.shared_filesystem = True
    config.CondorNbJupyter.profile = "campus"
    ext = CondorNbJupyter(config=config)
    assert load_settings(environ=NO_FILE, **ext.overrides()).shared_filesystem is True
    env = ext.environment()
    assert env["CONDOR_NB_PROFILE"] == "campus"
    assert load_settings(environ={**NO_FILE, **env}).shared_filesystem is True


def test_unset_traits_leave_condor_nb_to_its_own_sources() -> None:
    ext = CondorNbJupyter()
    assert "shared_filesystem" not in ext.overrides()
    assert ext.environment() == {}


def test_terminals_find_the_pools_tools_from_a_users_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's server given only ``users/NAME/condor_config`` (its CONDOR_NB_POOL_DIR
    unset: its own default pool folder) still gets the pool's HTCondor tools."""
    from condor_nb_jupyter.config import _personal_pool_tools

    base = tmp_path / "srv-pool"
    for folder in ("client/bin", "root", "users/alice"):
        (base / folder).mkdir(parents=True)
    monkeypatch.setenv("CONDOR_NB_POOL_DIR", str(tmp_path / "home" / "pool"))
    config = base / "users" / "alice" / "condor_config"
    assert _personal_pool_tools(str(config)) == str(base / "client" / "bin")
    assert _personal_pool_tools(str(tmp_path / "site" / "condor_config")) is None
    assert _personal_pool_tools(None) is None
