"""A dask session on the site: the scheduler in the notebook host's process, its workers
HTCondor jobs on ep1 and ep2 that connect back across the hosts' networks.

The execute points run Debian 13's Python 3.13 without dask. As a real site makes
software available (a read-only CVMFS area at the same path on every node), this
module bind-mounts the notebook host's environment (this venv and its base
interpreter) read-only into ep1's and ep2's roots, at the same paths, inside the
running daemons' mount namespace: the workers run the very Python and dask of the
client (the session's parity check would say otherwise).

The notebook host is given a second, "public" interface holding the default route,
as a JupyterHub host on a campus network has: dask's own choice (the interface of
the Internet route) is then an address the execute points cannot reach; condor_nb
must pick the interface that reaches the pool.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy import DOMAIN, SUBNET, Site

from condor_nb.pool.procs import root_processes

pytest.importorskip("dask_jobqueue")
pytestmark = pytest.mark.site

EXECUTE_POINTS = ("ep1", "ep2")
#: The notebook host's "public" network: TEST-NET-1, nothing answers there.
PUBLIC = ("campus0", "192.0.2.100", "192.0.2.1")


def _in_daemons_namespace(site: Site, host: str, args: list[str]) -> None:
    """Run ``args`` in the mount namespace of ``host``'s daemons (and so of its jobs)."""
    masters = [p.pid for p in root_processes(site.hosts[host].root) if p.name == "condor_master"]
    assert masters, f"no condor_master runs on {host}"
    subprocess.run(["nsenter", "--target", str(masters[0]), "--mount", "--", *args], check=True,
                   capture_output=True, text=True)  # fmt: skip


@pytest.fixture(scope="module")
def site_python(site: Site) -> Iterator[str]:
    """This venv's Python, on ep1 and ep2 at the same path, read-only (CVMFS-style)."""
    sources = sorted({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()})
    mounted: list[tuple[str, Path]] = []
    try:
        for host in EXECUTE_POINTS:
            root = site.hosts[host].root
            for source in sources:
                target = root / source.relative_to("/")
                target.mkdir(parents=True, exist_ok=True)
                for parent in target.parents:  # the job's user must walk down to it
                    if parent == root or root not in parent.parents:
                        break
                    parent.chmod(parent.stat().st_mode | 0o011)
                _in_daemons_namespace(site, host, ["mount", "--bind", str(source), str(target)])
                mounted.append((host, target))
                _in_daemons_namespace(site, host, ["mount", "-o", "remount,bind,ro", str(target)])
        yield sys.executable
    finally:
        for host, target in reversed(mounted):
            _in_daemons_namespace(site, host, ["umount", str(target)])


@pytest.fixture
def public_interface(site: Site) -> Iterator[str]:
    """A second interface on the notebook host, with the default route through it."""
    name, address, gateway = PUBLIC
    ns = site.client_netns
    # A veth pair with both ends here: an up link on which nothing answers.
    subprocess.run(["ip", "-n", ns, "link", "add", name, "type", "veth", "peer", "name",
                    f"{name}p"], check=True)  # fmt: skip
    try:
        subprocess.run(["ip", "-n", ns, "addr", "add", f"{address}/24", "dev", name], check=True)
        for link in (name, f"{name}p"):
            subprocess.run(["ip", "-n", ns, "link", "set", link, "up"], check=True)
        subprocess.run(["ip", "-n", ns, "route", "add", "default", "via", gateway], check=True)
        yield address
    finally:
        subprocess.run(["ip", "-n", ns, "link", "delete", name], check=False)


def _ap_jobs(site: Site, constraint: str) -> list[str]:
    """Jobs in the access point's queue, as its admin sees them."""
    shown = site.run("ap", ["condor_q", "-allusers", "-constraint", constraint,
                            "-af", "ClusterId", "ProcId", "JobStatus"], timeout=60)  # fmt: skip
    return shown.stdout.splitlines()


def _until_gone(site: Site, constraint: str, limit: float = 60) -> list[str]:
    """Polls until no job matches (removed jobs leave once their shadow stopped them)."""
    deadline = time.monotonic() + limit
    while (left := _ap_jobs(site, constraint)) and time.monotonic() < deadline:
        time.sleep(1)
    return left


def _client_env(tmp_path: Path) -> dict[str, str]:
    return {"CONDOR_NB_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}


SESSION = """
import json, socket, sys
from condor_nb.dask import dask_session

session = dask_session(2, python=sys.executable, cpus=1, memory="512MB", disk="200MB",
                       dashboard_address=":0", wait=True, timeout=240)
print("SESSION", session.id, flush=True)
with session as (cluster, client):
    hosts = client.run(socket.gethostname)
    squares = client.gather(client.map(lambda x: (x * x, socket.gethostname()), range(40)))
    versions = client.get_versions(check=False)
    print(json.dumps({
        "id": session.id,
        "scheduler": cluster.contact_address,
        "hosts": hosts,
        "squares": squares,
        "batches": list(cluster.batch_sizes),
        "mismatches": cluster.parity.report(),
        "worker_python": sorted({w["host"]["python"] for w in versions["workers"].values()}),
    }), flush=True)
"""


def test_dask_workers_on_the_execute_points_connect_back(
    site: Site, site_python: str, public_interface: str, tmp_path: Path
) -> None:
    # What dask alone would advertise on this host: the public interface's address.
    dask_default = site.client_python(
        "from distributed.utils import get_ip; print(get_ip())", check=True
    ).stdout.strip()
    assert dask_default == public_interface
    proc = site.client_run(
        [site_python, "-c", SESSION],
        env=_client_env(tmp_path), cwd=tmp_path, timeout=400,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    session_line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("SESSION"))
    result = json.loads(proc.stdout.splitlines()[-1])
    # The scheduler listens on the notebook host's address on the pool's network, not on
    # the public interface that holds the default route (dask's own choice) nor loopback.
    assert result["scheduler"].startswith(f"tcp://{SUBNET}.100:"), result["scheduler"]
    # Each worker ran on an execute point (both on one, or one on each: the negotiator
    # decides) and connected from that node's address on the site's network.
    addresses = {f"{ep}.{DOMAIN}": site.hosts[ep].address for ep in EXECUTE_POINTS}
    print(f"\nworkers: {result['hosts']}, scheduler {result['scheduler']}")
    assert len(result["hosts"]) == 2 and set(result["hosts"].values()) <= set(addresses)
    for worker, hostname in result["hosts"].items():
        assert worker.startswith(f"tcp://{addresses[hostname]}:"), result["hosts"]
    assert [s for s, _ in result["squares"]] == [x * x for x in range(40)]
    assert {h for _, h in result["squares"]} <= {f"{ep}.{DOMAIN}" for ep in EXECUTE_POINTS}
    assert result["batches"] == [2]
    # The workers run the client's very Python and dask (the mounted environment).
    assert result["mismatches"] is None
    assert result["worker_python"] == [".".join(map(str, sys.version_info[:3])) + ".final.0"]
    # Closing the session removed its jobs: none is left in the access point's queue.
    assert session_line.split()[1] == result["id"]
    assert _until_gone(site, f'CondorNbDaskSession == "{result["id"]}"') == []


UNREACHABLE = """
import sys, time
from condor_nb.dask import dask_session
from condor_nb.dask.errors import DaskSessionError

started = time.monotonic()
try:
    dask_session(1, python=sys.executable, cpus=1, memory="512MB", disk="200MB",
                 dashboard_address=":0", wait=True, timeout=WAIT)
except DaskSessionError as exc:
    print("ERROR", round(time.monotonic() - started), flush=True)
    print(exc, flush=True)
    sys.exit(0)
print("NO ERROR", flush=True)
sys.exit(1)
"""


def test_workers_that_cannot_connect_back_are_reported(
    site: Site, site_python: str, tmp_path: Path
) -> None:
    """The notebook host drops the execute points' connections (as a firewall would):
    the worker job runs, its worker never connects (it gives up after distributed's 30 s
    connect timeout and the job exits), and the session says so as soon as it sees that,
    not at the end of the wait with a guess about a missing `distributed`."""
    ns = site.client_netns
    routes = [f"{site.hosts[ep].address}/32" for ep in EXECUTE_POINTS]
    for route in routes:  # replies to the execute points vanish: their connects time out
        subprocess.run(["ip", "-n", ns, "route", "add", "blackhole", route], check=True)
    wait = 240
    try:
        proc = site.client_run(
            [site_python, "-c", UNREACHABLE.replace("WAIT", str(wait))],
            env=_client_env(tmp_path), cwd=tmp_path, timeout=wait + 60,
        )  # fmt: skip
    finally:
        for route in routes:
            subprocess.run(["ip", "-n", ns, "route", "delete", "blackhole", route], check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    lines = proc.stdout.splitlines()
    seconds = int(lines[0].split()[1])
    message = "\n".join(lines[1:])
    print(f"\nreported after {seconds} s (wait timeout {wait} s):\n{message}")
    assert f"cannot connect back to the scheduler at tcp://{SUBNET}.100:" in message, message
    assert "most often its Python" not in message
    assert f".{DOMAIN}" in message and "never connected" in message
    assert "firewall" in message and "docs/admins.md" in message
    # The failed session removed its worker job.
    assert _until_gone(site, 'CondorNbKind == "dask-worker"') == []
