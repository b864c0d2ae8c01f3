"""Validation of dask session options: what was expected, what was given, how to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from condor_nb.dask.options import check_session_id, worker_options
from condor_nb.errors import SpecError
from condor_nb.settings import Settings

SETTINGS = Settings(home=Path("/h"), worker_python="python3", memory="2GB")


def test_defaults_come_from_settings() -> None:
    o = worker_options(SETTINGS)
    assert (o.cpus, o.memory_mib, o.python, o.profile) == (1, 2048, "python3", "personal")
    assert len(o.session_id) == 8 and int(o.session_id, 16) >= 0
    assert o.death_timeout == 60 and o.heartbeat_timeout >= 3 * o.heartbeat_interval


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"cpus": 0}, "cpus: expected a whole number >= 1"),
        ({"memory": "4 parsecs"}, "memory"),
        ({"image": "a b"}, "image"),
        ({"python": "python; rm -rf /"}, "python"),
        ({"profile": "../etc"}, "site profile"),
        ({"death_timeout": 0}, "death_timeout: expected a positive number"),
        ({"heartbeat_interval": 30, "heartbeat_timeout": 60}, "at least 3 x heartbeat_interval"),
        ({"lifetime": float("nan")}, "lifetime: expected a number"),
        ({"session_id": "XYZ"}, "8 hexadecimal digits"),
    ],
)
def test_invalid_options_are_explained(kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(SpecError, match=expected.replace("(", r"\(").replace(")", r"\)")) as err:
        worker_options(SETTINGS, **kwargs)
    assert str(err.value).count("got") >= 1 or err.value.hint


def test_session_id() -> None:
    assert check_session_id("1a2b3c4d") == "1a2b3c4d"
    with pytest.raises(SpecError, match="condor_nb dask ls"):
        check_session_id("1a2b")
