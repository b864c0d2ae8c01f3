"""The constraints that keep one user's queries to their own jobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from condor_nb import tracking
from condor_nb.errors import ConfigError
from condor_nb.settings import Settings


def _settings(**kwargs: object) -> Settings:
    return Settings(home=Path("/home/jovyan/.local/share/condor_nb"), profile="campus",
                    condor_config="/etc/condor/condor_config", **kwargs)  # type: ignore[arg-type]  # fmt: skip


def test_lookups_by_id_are_limited_to_the_owner() -> None:
    constraint = tracking.mine(tracking.id_constraint(["ab12cd34"]), _settings(owner="alice"))
    assert constraint == '(CondorNbId == "ab12cd34") && Owner == "alice"'


def test_without_a_known_owner_the_constraint_is_unchanged() -> None:
    assert tracking.mine("ClusterId == 3", _settings()) == "ClusterId == 3"


def test_base_constraint_names_home_and_owner() -> None:
    base = tracking.base_constraint(_settings(owner="alice"))
    assert 'substr(CondorNbJobDir, 0, 36) == "/home/jovyan/.local/share/condor_nb/"' in base
    assert base.endswith('Owner == "alice"')


def test_an_owner_that_is_not_a_user_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="expected a user name"):
        tracking.mine("true", _settings(owner='x" || true || "'))
