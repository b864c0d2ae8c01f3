"""The constraints that keep one user's queries to their own jobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from condor_nb.condor import schedd
from condor_nb.errors import ConfigError, ScheddUnavailableError
from condor_nb.settings import Settings
from condor_nb.store import tracking


def _settings(**kwargs: object) -> Settings:
    return Settings(home=Path("/home/jovyan/.local/share/condor_nb"), profile="campus",
                    condor_config="/etc/condor/condor_config", **kwargs)  # type: ignore[arg-type]  # fmt: skip


_HOME = 'substr(CondorNbJobDir, 0, 36) == "/home/jovyan/.local/share/condor_nb/"'
_OURS = f"CondorNbId isnt undefined && {_HOME}"


def test_lookups_by_id_are_limited_to_the_owner_and_this_home() -> None:
    """One rule for `q` and for a lookup by id: our Owner, submitted from this home."""
    settings = _settings(owner="alice")
    constraint = tracking.mine(tracking.id_constraint(["ab12cd34"]), settings)
    assert constraint == f'(CondorNbId == "ab12cd34") && {_OURS} && Owner == "alice"'
    assert constraint.endswith(tracking.base_constraint(settings))


class _Schedd:
    def __init__(self, user: str | None) -> None:
        self.user, self.asked = user, 0

    def whoami(self) -> str | None:
        self.asked += 1
        return self.user


@pytest.fixture
def fresh_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracking, "_discovered_owners", {})


@pytest.mark.usefixtures("fresh_discovery")
def test_the_owner_is_asked_of_the_schedd_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _Schedd("alice")
    monkeypatch.setattr(schedd, "client_for", lambda settings: fake)
    expected = f'(ClusterId == 3) && {_OURS} && Owner == "alice"'
    assert tracking.mine("ClusterId == 3", _settings()) == expected
    assert tracking.owner(_settings()) == "alice"
    assert fake.asked == 1


@pytest.mark.usefixtures("fresh_discovery")
def test_an_unreachable_schedd_leaves_the_owner_unknown_for_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unreachable(settings: Settings) -> object:
        raise ScheddUnavailableError("cannot reach the schedd")

    monkeypatch.setattr(schedd, "client_for", unreachable)
    assert tracking.mine("ClusterId == 3", _settings()) == f"(ClusterId == 3) && {_OURS}"
    fake = _Schedd("bob")
    monkeypatch.setattr(schedd, "client_for", lambda settings: fake)
    assert tracking.owner(_settings()) == "bob"  # asked again once it answers


def test_base_constraint_names_home_and_owner() -> None:
    base = tracking.base_constraint(_settings(owner="alice"))
    assert 'substr(CondorNbJobDir, 0, 36) == "/home/jovyan/.local/share/condor_nb/"' in base
    assert base.endswith('Owner == "alice"')


def test_an_owner_that_is_not_a_user_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="expected a user name"):
        tracking.mine("true", _settings(owner='x" || true || "'))


@pytest.mark.usefixtures("fresh_discovery")
def test_no_answer_is_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    silent = _Schedd(None)
    monkeypatch.setattr(schedd, "client_for", lambda settings: silent)
    assert tracking.owner(_settings()) is None
    assert tracking.owner(_settings()) is None
    assert silent.asked == 2  # a long-lived Jupyter worker keeps asking until it is told
