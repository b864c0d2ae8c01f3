"""`condor_nb doctor --dask` on the site: can a dask worker on ep1/ep2 connect back to
the notebook host? Asked by a tiny job, before any dask session is started.

The notebook host gets a second, "public" interface holding the default route (as a
JupyterHub host on a campus network has; the address dask itself would advertise):
the probe must listen on the address a session would use (the interface that reaches
the pool), and be reached there. Then the notebook host drops what the execute points
send (a firewall), and advertises an address they cannot route to: each time the
doctor says "not reached", with the address tried, and the fix. No probe job is left
in the access point's queue.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy import DOMAIN, SUBNET, Site

pytestmark = pytest.mark.site

EXECUTE_POINTS = ("ep1", "ep2")
#: The notebook host's "public" network: TEST-NET-1, nothing answers there.
PUBLIC = ("campus1", "192.0.2.100", "192.0.2.1")
PROBES = 'CondorNbProbeKind == "dask-connect-back"'
#: Seconds any one doctor run may take before the test calls it a hang.
HANG = 400


@pytest.fixture
def public_interface(site: Site) -> Iterator[str]:
    """A second interface on the notebook host, with the default route through it."""
    name, address, gateway = PUBLIC
    ns = site.client_netns
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


def _probes_left(site: Site, limit: float = 60) -> list[str]:
    """Probe jobs in the access point's queue (as its admin sees them), once settled."""
    deadline = time.monotonic() + limit
    while True:
        shown = site.run("ap", ["condor_q", "-allusers", "-constraint", PROBES,
                                "-af", "ClusterId", "JobStatus"], timeout=60)  # fmt: skip
        left = shown.stdout.splitlines()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(1)


def _doctor(site: Site, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = site.client_run(
        [sys.executable, "-m", "condor_nb", "doctor", *args],
        env={"CONDOR_NB_HOME": str(tmp_path / "home")}, cwd=tmp_path, timeout=HANG,
    )  # fmt: skip
    print(f"\n$ condor_nb doctor {' '.join(args)}  -> {proc.returncode}\n{proc.stdout}")
    return proc


def _line(output: str) -> str:
    """The doctor's dask connect-back line and its fix line."""
    lines = output.splitlines()
    found = [i for i, ln in enumerate(lines) if "dask connect-back" in ln]
    assert found, output
    return "\n".join(lines[found[0] : found[0] + 2])


def test_doctor_dask_says_whether_workers_can_connect_back(
    site: Site, public_interface: str, tmp_path: Path
) -> None:
    pool_address = re.escape(f"{SUBNET}.100")
    ep_addresses = "|".join(re.escape(site.hosts[ep].address) for ep in EXECUTE_POINTS)
    ep_names = "|".join(re.escape(f"{ep}.{DOMAIN}") for ep in EXECUTE_POINTS)

    # Plain doctor runs no job, and says that the check exists.
    plain = _doctor(site, tmp_path)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "[skip] dask connect-back" in plain.stdout
    assert "condor_nb doctor --dask" in plain.stdout

    # Reachable: a job on an execute point connects to the notebook host's address on the
    # pool's network (not the public interface dask's own default would pick).
    ok = _doctor(site, tmp_path, "--dask", "--timeout", "240")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    line = _line(ok.stdout)
    assert line.startswith("[  ok] dask connect-back"), line
    assert re.search(rf"reached: job \d+ on ({ep_names}) connected to {pool_address}:\d+ ", line)
    assert re.search(rf"connecting from ({ep_addresses})\b", line), line
    assert public_interface not in line
    assert _probes_left(site) == []

    # A firewall on the notebook host: what the execute points send gets no answer.
    ns = site.client_netns
    routes = [f"{site.hosts[ep].address}/32" for ep in EXECUTE_POINTS]
    for route in routes:
        subprocess.run(["ip", "-n", ns, "route", "add", "blackhole", route], check=True)
    try:
        blocked = _doctor(site, tmp_path, "--dask", "--dask-port", "40123", "--timeout", "240")
    finally:
        for route in routes:
            subprocess.run(["ip", "-n", ns, "route", "delete", "blackhole", route], check=False)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    line = _line(blocked.stdout)
    assert line.startswith("[FAIL] dask connect-back"), line
    assert re.search(rf"not reached: job \d+ on ({ep_names}) could not connect to "
                     rf"{pool_address}:40123 ", line), line  # fmt: skip
    assert "no answer within" in line and "dask workers could not connect back" in line
    assert "fix: this host must accept TCP connections from the execute nodes" in line
    assert "docs/admins.md" in line and "--dask-host" in line
    assert "1 check(s) failed: dask connect-back" in blocked.stderr
    assert _probes_left(site) == []

    # An address the execute points cannot route to (as dask_session(host=...) would
    # advertise it): said at once, with that address.
    wrong = _doctor(site, tmp_path, "--dask", "--dask-host", public_interface, "--timeout", "240")
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    line = _line(wrong.stdout)
    assert line.startswith("[FAIL] dask connect-back"), line
    assert f"could not connect to {public_interface}:" in line, line
    assert "no route from the execute node" in line, line
    assert f"fix: the execute nodes cannot reach {public_interface}: " in line, line
    assert "--dask-host" in line and "docs/admins.md" in line
    assert _probes_left(site) == []
