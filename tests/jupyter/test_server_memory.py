"""The extension's memory stays flat while a browser polls job status for hours."""

from __future__ import annotations

import pytest
from conftest import Server
from integration.conftest import submit_held_lookalikes
from procmem import tree_rss_mb

pytestmark = pytest.mark.pool

REFRESHES = 1000


def test_memory_stays_flat_over_1000_status_refreshes(server: Server) -> None:
    submit_held_lookalikes(server.home, 200, prefix="m")
    assert server.proc is not None
    pgid = server.proc.pid

    def refresh() -> None:
        status, body = server.request("GET", "/condor_nb/jobs?refresh=1")
        assert status == 200 and len(body["jobs"]) == 200, body
        assert server.request("GET", "/scheduler/jobs")[0] == 200

    for _ in range(100):  # warm: worker processes started, caches filled
        refresh()
    warm = tree_rss_mb(pgid)
    for _ in range(REFRESHES - 100):
        refresh()
    after = tree_rss_mb(pgid)
    print(f"server + workers RSS: {warm:.1f} MB after 100 refreshes, {after:.1f} MB after 1000")
    # A leak of 25 kB per refresh would add over 20 MB; allocator noise stays far below.
    assert after - warm < 20, (warm, after)
