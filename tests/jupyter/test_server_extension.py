"""The server extension itself: terminals that reach the pool, an event loop that never waits."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from pathlib import Path

import pytest
from conftest import TOKEN, Server

pytestmark = pytest.mark.pool


def test_a_terminal_command_reaches_the_pool(server: Server) -> None:
    """`condor_nb q` and the raw bindings work in a JupyterLab terminal with no set-up."""
    probe = (
        "import htcondor2 as h; "
        "print('SCHEDD-%d' % len(h.Collector().locateAll(h.DaemonType.Schedd)))"
    )
    command = (
        f'condor_nb q > /dev/null && echo Q-$((40+2))-OK; python -c "{probe}"; '
        "echo CONFIG=$CONDOR_CONFIG"
    )
    out = server.terminal(command, timeout=60)
    assert "Q-42-OK" in out, out  # the echo of the command line reads Q-$((40+2))-OK
    assert "SCHEDD-1" in out, out
    assert "CONFIG=/" in out, out


def _fill_queue(n: int, home: Path) -> int:
    """n held condor_nb-like jobs in one cluster, with the raw bindings (no spooling: fast)."""
    from condor_nb.condor import schedd
    from condor_nb.settings import load_settings
    from condor_nb.spec.quoting import encode_text

    h = schedd.configure_bindings(load_settings())
    sd = h.Schedd(h.Collector().locateAll(h.DaemonType.Schedd)[0])
    sub = h.Submit(
        {
            "executable": "/bin/true",
            "transfer_executable": "false",
            "hold": "true",
            "initialdir": "/tmp",
            "MY.CondorNbId": '"$(nbid)"',
            "MY.CondorNbName": '"loadtest"',
            "MY.CondorNbNotebook": '"/load/load.ipynb"',
            "MY.CondorNbProfile": '"personal"',
            "MY.CondorNbJobDir": f'"{encode_text(str(home))}/jobs/$(nbid)"',
        }
    )
    items = [{"nbid": f"e{i:07x}"} for i in range(n)]
    return int(sd.submit(sub, itemdata=iter(items)).cluster())


def _remove_cluster(cluster: int) -> None:
    from condor_nb.condor import schedd
    from condor_nb.settings import load_settings

    h = schedd.configure_bindings(load_settings())
    sd = h.Schedd(h.Collector().locateAll(h.DaemonType.Schedd)[0])
    sd.act(h.JobAction.Remove, f"ClusterId == {cluster}", ("condor_nb test done", 0))


async def _latencies_during_slow_queries(server: Server) -> tuple[list[float], list[float]]:
    """Full 10,000-job listings back to back for >= 2 s; other requests sampled meanwhile."""
    from tornado.httpclient import AsyncHTTPClient

    client = AsyncHTTPClient()
    headers = {"Authorization": f"token {TOKEN}"}
    slow_times: list[float] = []

    async def slow_queries() -> None:
        started = time.perf_counter()
        while time.perf_counter() - started < 2.0 or len(slow_times) < 2:
            t0 = time.perf_counter()
            resp = await client.fetch(
                f"{server.url}/condor_nb/jobs?refresh=full", headers=headers, request_timeout=300
            )
            assert json.loads(resp.body)["count"] >= 10_000
            slow_times.append(time.perf_counter() - t0)

    slow = asyncio.ensure_future(slow_queries())
    await asyncio.sleep(0.2)
    latencies = []
    while not slow.done():
        for path in ("/api/status", "/condor_nb/profiles", "/scheduler/runtime_environments"):
            t0 = time.perf_counter()
            resp = await client.fetch(server.url + path, headers=headers)
            assert resp.code == 200
            latencies.append(time.perf_counter() - t0)
        await asyncio.sleep(0.05)
    await slow
    return slow_times, latencies


def test_other_requests_answer_while_a_10000_job_query_runs(server: Server) -> None:
    cluster = _fill_queue(10_000, server.home)
    try:
        slow_times, latencies = asyncio.run(_latencies_during_slow_queries(server))
    finally:
        _remove_cluster(cluster)
    print(
        f"10,000-job listings: {', '.join(f'{t:.2f}' for t in slow_times)} s; "
        f"{len(latencies)} other requests, median {statistics.median(latencies) * 1000:.1f} "
        f"ms, max {max(latencies) * 1000:.1f} ms"
    )
    assert len(latencies) >= 6
    assert statistics.median(latencies) < 0.1
    assert max(latencies) < 0.5
