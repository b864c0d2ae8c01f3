"""The order in which condor_nb picks an HTCondor configuration (HTCondor's own search)."""

from __future__ import annotations

from pathlib import Path

import pytest

from condor_nb import pool
from condor_nb.condor import condor_config
from condor_nb.errors import ConfigError, PoolError
from condor_nb.settings import load_settings


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    etc = tmp_path / "etc_condor_config"
    monkeypatch.setattr(condor_config, "STANDARD_PLACES", (str(etc), "~condor/condor_config"))
    monkeypatch.setattr(pool, "client_config", lambda: "/pool/condor_config")
    return etc


def _choose(env: dict[str, str], **kw: str) -> condor_config.ConfigChoice:
    return condor_config.choose(load_settings(environ=env, **kw), env)


def test_search_order(places: Path, tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    # Nothing anywhere: the personal pool, said so.
    assert _choose(home).source == condor_config.PERSONAL_FALLBACK
    assert _choose(home).path == "/pool/condor_config"
    # A file in HTCondor's standard places wins over the personal pool, for any profile.
    places.write_text("COLLECTOR_HOST = ap.example.org\n")
    for kw in ({}, {"profile": "campus"}):
        found = _choose(home, **kw)
        assert (found.path, found.source) == (str(places), condor_config.STANDARD)
        assert "CONDOR_CONFIG unset" in found.describe()
    # ... unless the personal profile is asked for by name.
    assert _choose(home, profile="personal").path == "/pool/condor_config"
    assert _choose({**home, "CONDOR_NB_PROFILE": "personal"}).is_personal_pool
    # CONDOR_CONFIG beats the standard places; /dev/null (set by `import htcondor2`) does not.
    assert _choose({**home, "CONDOR_CONFIG": "/x/cc"}).path == "/x/cc"
    assert _choose({**home, "CONDOR_CONFIG": "/dev/null"}).path == str(places)
    # The condor_config setting beats everything.
    both = {**home, "CONDOR_CONFIG": "/x/cc", "CONDOR_NB_CONDOR_CONFIG": "/y/cc"}
    assert _choose(both).path == "/y/cc"
    # ~/.condor/user_config is reported (HTCondor reads it on top), never chosen.
    (tmp_path / ".condor").mkdir()
    (tmp_path / ".condor" / "user_config").write_text("X = 1\n")
    assert str(tmp_path / ".condor" / "user_config") in _choose(home).describe()


def test_nothing_found_and_no_personal_pool_says_both_ways_out(
    places: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never_started() -> str:
        raise PoolError("the pool in /p has never been started")

    monkeypatch.setattr(pool, "client_config", never_started)
    with pytest.raises(ConfigError) as err:
        _choose({"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert "no HTCondor configuration found" in err.value.message
    assert "CONDOR_CONFIG" in (err.value.hint or "") and "pool start" in (err.value.hint or "")
