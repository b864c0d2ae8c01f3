"""Guards for the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _never_the_users_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test writes jobs into the real ~/.local/share/condor_nb registry.

    Tests that need a home get their own from the ``cnb`` fixture; this catches
    any code path that slips out of it (a test once did, and later runs then got
    cache hits from that stray job).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONDOR_NB_HOME", str(tmp_path_factory.mktemp("default-home")))
        yield
