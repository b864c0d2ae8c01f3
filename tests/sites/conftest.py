"""The site-like pool (tests/sites/deploy.py), started once per test session.

It needs root (network namespaces, overlay mounts, chroot) and the personal pool's
built root, which it reuses read-only: built here if missing, never started.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))  # integration.conftest's helpers

from deploy import Site, create_site


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.site)


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    if os.geteuid() != 0:
        pytest.skip(
            "the site-like pool needs root (ip netns, overlay mounts, chroot); "
            "CI runs these tests as root"
        )
    from condor_nb.pool.build import ensure_built
    from condor_nb.pool.paths import pool_lock, pool_paths

    paths = pool_paths()
    with pool_lock(paths):
        ensure_built(paths, lambda message: print(f"pool root: {message}"))
    before = _mountinfo()
    deployed = create_site()
    print(f"\nsite started in {deployed.timings['start']:.1f} s ({deployed.timings})")
    try:
        yield deployed
    finally:
        started = time.monotonic()
        deployed.stop()
        print(f"\nsite torn down in {time.monotonic() - started:.1f} s")
        left = deployed.leftovers()
        assert not left, f"the site left behind: {left}"
        # Only this session's site: other sessions may run sites of their own meanwhile.
        added = {m for m in _mountinfo() - before if m.startswith(f"{deployed.base}/")}
        assert not added, f"mounts left after the site's teardown: {sorted(added)}"
        assert not deployed.base.exists(), f"{deployed.base} was not removed"


def _mountinfo() -> set[str]:
    """Mount points of this session's site (the pool's, and other sessions' sites running
    in parallel, may come and go: only ours)."""
    ours = f"/condor_nb-site-{os.getpid()}/"
    with open("/proc/self/mountinfo", encoding="utf-8") as table:
        return {line.split()[4] for line in table if ours in line.split()[4] + "/"}
