"""Faults on the site-like pool, seen from the notebook host: each ends with a clear
message in bounded time, and nothing a user submitted is lost.

The faults hurt only this session's own site (its own namespaces and roots); each
test puts the site back as it found it (daemons on, links up, the user's token), so
the other site tests of the session are unaffected. Waits are measured and printed
(``-s`` shows them) for docs/reliability.md; no assertion depends on them.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from deploy import DOMAIN, Site, guide_commands
from integration.conftest import write_notebook

pytestmark = pytest.mark.site

#: Seconds any one condor_nb call may take before the test calls it a hang.
HANG = 240


@dataclass
class Client:
    """condor_nb on the notebook host, with a home and profiles of its own."""

    site: Site
    home: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "CONDOR_NB_HOME": str(self.home / "home"),
            "CONDOR_NB_PROFILES_PATH": str(self.home / "profiles"),
        }

    def run(
        self, *args: str, timeout: float = HANG, extra: dict[str, str] | None = None
    ) -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.monotonic()
        proc = self.site.client_run(
            [sys.executable, "-m", "condor_nb", *args],
            env={**self.env, **(extra or {})}, cwd=self.home, timeout=timeout,
        )  # fmt: skip
        return proc, time.monotonic() - started

    def submit(self, name: str, seconds: float) -> tuple[str, int]:
        """Submit a notebook that sleeps ``seconds`` on ep1: (job id, cluster)."""
        nb = self.home / f"{name}.ipynb"
        write_notebook(nb, _cells(seconds))
        proc, _ = self.run("submit", str(nb), "--profile", "ep1", "--no-cache")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        match = re.search(r"submitted ([0-9a-f]{8}) .* as HTCondor job (\d+)\.", proc.stdout)
        assert match, proc.stdout
        return match.group(1), int(match.group(2))

    def wait_state(self, job_id: str, state: str, limit: float = 180) -> None:
        end = time.monotonic() + limit
        while True:
            proc, _ = self.run("status", job_id)
            if re.search(rf"\b{state}\b", proc.stdout):
                return
            assert time.monotonic() < end, f"{job_id} never {state}: {proc.stdout}{proc.stderr}"
            time.sleep(2)

    def start_wait(self, job_id: str) -> subprocess.Popen[str]:
        """``condor_nb wait JOB -o out-JOB`` in the background (see :meth:`finish`)."""
        out = self.home / f"out-{job_id}"
        return self.site.client_popen(
            [sys.executable, "-m", "condor_nb", "wait", job_id, "--timeout", "200", "-o", str(out)],
            env=self.env, cwd=self.home, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def finish(self, job_id: str, waiting: subprocess.Popen[str] | None = None) -> Path:
        """Wait for the job (bounded), fetch it; the executed notebook, complete."""
        out = self.home / f"out-{job_id}"
        if waiting is None:
            proc, _ = self.run("wait", job_id, "--timeout", "200", "-o", str(out), timeout=HANG)
            code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        else:
            try:
                stdout, stderr = waiting.communicate(timeout=HANG)
            finally:
                waiting.kill()
            code = waiting.returncode
        assert code == 0, stdout + stderr
        assert "COMPLETED" in stdout
        executed = next(out.rglob("*.ipynb"))
        text = "".join(
            "".join(o.get("text", ""))
            for cell in json.loads(executed.read_text(encoding="utf-8"))["cells"]
            for o in cell.get("outputs", [])
        )
        assert f"on ep1.{DOMAIN}" in text and "all cells ran" in text, text
        assert (next(out.rglob("made-by-the-notebook.txt"))).read_text() == "kept\n"
        return out


def _cells(seconds: float) -> list[str]:
    """A notebook that says where it ran, sleeps, and leaves a file of its own."""
    return [
        "import socket, time; print('on', socket.gethostname())",
        f"time.sleep({seconds})",
        "open('made-by-the-notebook.txt', 'w').write('kept\\n'); print('all cells ran')",
    ]


@pytest.fixture
def client(site: Site, tmp_path: Path) -> Client:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "ep1.sub").write_text(
        f'# ep1: the execute point with papermill\nrequirements = (Machine == "ep1.{DOMAIN}")\n',
        encoding="utf-8",
    )
    return Client(site, tmp_path)


def _timing(
    what: str, seconds: float, proc: subprocess.CompletedProcess[str] | None = None
) -> None:
    said = f" (exit {proc.returncode}): {proc.stderr.strip()[-600:]}" if proc else ""
    print(f"\nMEASURED {what}: {seconds:.1f} s{said}")


def _job_ad(site: Site, cluster: int, attrs: str) -> str:
    """The job's attributes as the access point's own condor_q/condor_history see them."""
    constraint = f"ClusterId == {cluster}"
    for tool in ("condor_q -allusers", "condor_history"):
        proc = site.run("ap", [*tool.split(), "-constraint", constraint, "-af", *attrs.split()],
                        check=False, timeout=60)  # fmt: skip
        if proc.stdout.strip():
            return proc.stdout.strip()
    return ""


def _link(site: Site, host: str, state: str) -> None:
    subprocess.run(["ip", "-n", site.hosts[host].netns, "link", "set", "eth0", state], check=True)


def _clear(proc: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    """Exit ``code``, one message with ``words``, no traceback."""
    said = proc.stdout + proc.stderr
    assert proc.returncode == code, said
    assert "Traceback" not in said, said
    for word in words:
        assert word in proc.stderr, said


def test_schedd_restart_mid_job_loses_nothing(site: Site, client: Client) -> None:
    """condor_restart -schedd on the access point while the notebook runs: the new
    shadow reconnects to the running starter (the job lease), the job is not rerun; a
    `wait` begun before the restart follows through (it used to exit 5 when a poll fell
    in the restart), and the fetched outputs are complete."""
    job_id, cluster = client.submit("restart", 30)
    client.wait_state(job_id, "cell 2 of 3")  # the notebook itself runs (not only its job)
    waiting = client.start_wait(job_id)  # a `wait` already polling when the schedd goes
    time.sleep(2)
    restarted = time.time()
    site.run("ap", ["condor_restart", "-schedd"])
    proc, took = client.run("q")
    _timing("condor_nb q right after condor_restart -schedd", took, proc)
    assert proc.returncode in (0, 5), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    if proc.returncode == 5:  # still restarting: said plainly, and the next call works
        assert "schedd" in proc.stderr
    proc, _ = client.run("q")
    assert proc.returncode == 0 and job_id in proc.stdout, proc.stdout + proc.stderr
    out = client.finish(job_id, waiting)
    # One run, begun before the restart: the job was reconnected, not rerun.
    result = json.loads(next(out.rglob("result.json")).read_text(encoding="utf-8"))
    started = datetime.fromisoformat(result["started_at"]).timestamp()
    assert started < restarted, (result["started_at"], restarted)
    assert _job_ad(site, cluster, "JobLeaseDuration") == "2400"  # HTCondor's default
    assert re.search(rf"\({cluster}\.0\).*Reconnect SUCCESS", site.log("ap", "ShadowLog"))


def test_execute_point_cut_off_mid_job_loses_nothing(site: Site, client: Client) -> None:
    """ep1's link down for 60 s while the notebook runs, then up: TCP carries the
    shadow-starter connection across the cut (no disconnect, no rerun); condor_nb
    shows the job RUNNING meanwhile and the outputs come back complete."""
    job_id, cluster = client.submit("cut", 15)
    client.wait_state(job_id, "RUNNING")
    _link(site, "ep1", "down")
    cut = time.monotonic()
    try:
        proc, took = client.run("status", job_id)
        _timing("condor_nb status while ep1 is cut off", took, proc)
        assert proc.returncode == 0 and "RUNNING" in proc.stdout, proc.stdout + proc.stderr
        time.sleep(max(0.0, 60 - (time.monotonic() - cut)))
    finally:
        _link(site, "ep1", "up")
    back = time.monotonic()
    client.finish(job_id)
    _timing("ep1 back until the job was fetched", time.monotonic() - back)
    assert _job_ad(site, cluster, "NumJobStarts") == "1"


REVOKED = "etc/condor/config.d/95-revoked-token"


@pytest.fixture
def user_token(site: Site) -> Iterator[Path]:
    """The user's token file on the notebook host, put back afterwards (with the access
    point's revocation list emptied)."""
    path = site.client_dir / "etc-upper" / "condor_nb/tokens.d/ap"
    good = path.read_text(encoding="utf-8")
    try:
        yield path
    finally:
        path.write_text(good, encoding="utf-8")
        revoked = site.hosts["ap"].root / REVOKED
        if revoked.exists():
            revoked.unlink()
            site.run("ap", ["condor_reconfig"])


def _mint(site: Site, lifetime: int) -> str:
    (command,) = guide_commands("user-token")
    command = re.sub(r"-lifetime \d+", f"-lifetime {lifetime}", command)
    token = site.run("ap", ["sh", "-c", command]).stdout.strip()
    assert token
    return token


def test_expired_or_revoked_token_says_so_and_loses_nothing(
    site: Site, client: Client, user_token: Path
) -> None:
    """Reading the queue needs no identity on the access point (READ is open), so q and
    status keep working; what needs the token (remove, retrieving outputs) says that the
    token expired or was refused, and how to get a new one: exit 4 at once, not retries
    ending in "the schedd may be restarting". With a fresh token, everything comes back."""
    job_id, _ = client.submit("token", 20)
    client.wait_state(job_id, "RUNNING")
    expired = _mint(site, 2)
    time.sleep(3)
    user_token.write_text(expired + "\n", encoding="utf-8")

    proc, _ = client.run("q")
    assert proc.returncode == 0 and job_id in proc.stdout, proc.stdout + proc.stderr
    proc, took = client.run("rm", job_id)
    _timing("condor_nb rm with an expired token", took, proc)
    _clear(proc, 4, "expired", "condor_token_fetch", "not affected")
    proc, took = client.run("wait", job_id, "--timeout", "200")
    _timing("condor_nb wait (the job completes, outputs refused) with an expired token", took, proc)
    _clear(proc, 4, "retrieving outputs", "expired", "condor_token_fetch")
    assert "COMPLETED" in proc.stderr  # the job itself ran to its end

    revoked = _mint(site, 3600)
    claims = json.loads(base64.urlsafe_b64decode(revoked.split(".")[1] + "=="))
    (site.hosts["ap"].root / REVOKED).write_text(
        f'SEC_TOKEN_REVOCATION_EXPR = jti =?= "{claims["jti"]}"\n', encoding="utf-8"
    )
    site.run("ap", ["condor_reconfig"])
    user_token.write_text(revoked + "\n", encoding="utf-8")
    proc, took = client.run("fetch", job_id)
    _timing("condor_nb fetch with a revoked token", took, proc)
    _clear(proc, 4, "revoked", "condor_token_fetch")

    # A fresh token: the job is still there, its outputs complete.
    user_token.write_text(_mint(site, 3600) + "\n", encoding="utf-8")
    client.finish(job_id)


def test_collector_unreachable_ends_in_bounded_time(site: Site, client: Client) -> None:
    """The central manager cut off, then its collector off: condor_nb calls end with
    exit 5 naming the collector and what to check; the job on the access point runs on
    and is fetched complete once the collector is back."""
    job_id, _ = client.submit("collector", 10)
    client.wait_state(job_id, "RUNNING")  # matched: it needs no collector from now on
    where = f"cm.{DOMAIN}:9618"
    _link(site, "cm", "down")
    try:
        proc, took = client.run("q")
        _timing("condor_nb q with the central manager cut off", took, proc)
        _clear(proc, 5, where, "central manager")
    finally:
        _link(site, "cm", "up")
    site.run("cm", ["condor_off", "-collector"])
    try:
        proc, took = client.run("status", job_id)
        _timing("condor_nb status with the collector off", took, proc)
        _clear(proc, 5, where, "central manager")
    finally:
        site.run("cm", ["condor_on", "-collector"])
    # A restarted collector knows no schedd until the schedd advertises itself again.
    proc, took = client.run("q")
    _timing("condor_nb q right after the collector restarted", took, proc)
    if proc.returncode != 0:
        _clear(proc, 5, where, "SCHEDD_INTERVAL")
    # Put the site back: every daemon advertises itself at its start (rather than
    # within SCHEDD_INTERVAL / UPDATE_INTERVAL, 300 s): restart each host's master (a
    # daemon alone cannot be named: the tools look it up in the collector). The job
    # has ended by now; its outputs wait in the schedd's spool.
    _collector_answers(site)
    site.run("cm", ["condor_restart"])
    time.sleep(1)
    _collector_answers(site)
    for host in ("ap", "ep1", "ep2"):
        site.run(host, ["condor_restart"])
    site.wait_ready()
    client.finish(job_id)


def _collector_answers(site: Site) -> None:
    end = time.monotonic() + 60
    while site.run("cm", ["condor_status", "-collector", "-af", "Name"], check=False).returncode:
        assert time.monotonic() < end, "the collector did not come back"
        time.sleep(1)


def _schedd_pid(site: Site) -> int:
    """The access point's condor_schedd (found among its network namespace's processes)."""
    pids = subprocess.run(["ip", "netns", "pids", site.hosts["ap"].netns], capture_output=True,
                          text=True, check=True).stdout.split()  # fmt: skip
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "condor_schedd":
                return int(pid)
        except OSError:
            continue
    raise AssertionError(f"no condor_schedd among the access point's processes {pids}")


def test_a_hung_schedd_ends_a_new_users_first_command_in_bounded_time(
    site: Site, client: Client
) -> None:
    """The access point's schedd stopped (SIGSTOP: it accepts connections and never
    answers): a first `condor_nb q` from a home that has not yet asked the schedd who
    it is (the owner of its jobs) ends with exit 5 saying the schedd did not answer,
    instead of waiting for ever in that question (htcondor2.ping has no time-out)."""
    pid = _schedd_pid(site)
    os.kill(pid, signal.SIGSTOP)
    try:
        proc, took = client.run("q", extra={"CONDOR_NB_SCHEDD_TIMEOUT": "10"})
        _timing("condor_nb q, schedd stopped, first command of a home", took, proc)
        _clear(proc, 5, "did not answer within 10 s")
    finally:
        os.kill(pid, signal.SIGCONT)
    proc, _ = client.run("q")  # the schedd answers again: so does condor_nb
    assert proc.returncode == 0, proc.stdout + proc.stderr
