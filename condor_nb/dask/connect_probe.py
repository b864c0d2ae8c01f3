"""``condor_nb doctor --dask``: could a dask worker on the pool's execute nodes reach a
scheduler in this process?

A dask session runs its scheduler in the notebook's process; each worker, once its
job runs, opens a TCP connection from the execute node back to this host. When a
firewall or an address the execute nodes cannot route to stops it, the session only
finds out after a worker job ran. This probe answers the question up front, the
way a session would meet it:

1. listen on the address a session would advertise (:mod:`condor_nb.dask.network`
   chooses it: the interface that reaches the pool's collector, or loopback on the
   personal pool), on the port given or a free one;
2. submit one tiny job with the dask workers' site profile, whose standard-library
   Python connects to that address and port and sends a random token back;
3. wait (bounded) until the token arrives or the job ends, then remove the job
   whatever happened. The job also removes itself (``periodic_remove``) if this
   process dies before it could.

Nothing here imports dask: the probe works before dask is installed.
"""

from __future__ import annotations

import base64
import logging
import secrets
import select
import shutil
import socket
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass

from condor_nb.condor import schedd
from condor_nb.errors import CondorNbError
from condor_nb.settings import Settings
from condor_nb.spec import quoting

log = logging.getLogger("condor_nb.dask")

NAME = "dask connect-back"
#: Seconds the probe job tries to connect (distributed's own connect timeout is 30 s).
CONNECT_WAIT = 20
#: Seconds past the doctor's own timeout after which the schedd removes a probe job
#: that nobody removed (the doctor was killed).
ORPHAN_GRACE = 120
#: The probe job's attribute (``condor_nb`` lists and cleans probes by it).
PROBE_ATTR = "CondorNbProbe"
PROBE_KIND = "dask-connect-back"

#: Exit codes of the probe job's script, and what each says.
EXIT_REACHED = 0
OUTCOMES = {
    70: "connection refused (nothing listens there as seen from the execute node, or a "
    "firewall rejects it)",
    71: f"no answer within {CONNECT_WAIT} s (a firewall drops the packets, or the replies "
    "cannot find their way back)",
    72: "no route from the execute node to that address (network or host unreachable)",
    73: "the connection failed",
    74: "the execute node cannot resolve that name",
    75: "something answered that is not this probe (another host holds that address, "
    "or a proxy or NAT sits in between)",
}

#: Runs on the execute node, standard library only, Python >= 3.9.
SCRIPT = """\
import errno, socket, sys
host, port, token, wait = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
try:
    conn = socket.create_connection((host, port), timeout=wait)
except socket.gaierror as exc:
    print("resolve", host, exc); sys.exit(74)
except socket.timeout as exc:
    print("timeout", host, port, exc); sys.exit(71)
except ConnectionRefusedError as exc:
    print("refused", host, port, exc); sys.exit(70)
except OSError as exc:
    print("error", host, port, exc)
    sys.exit(72 if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH) else 73)
try:
    conn.settimeout(wait)
    conn.sendall(token.encode() + b"\\n")
    answer = conn.recv(64)
except OSError as exc:
    print("exchange", exc); sys.exit(75)
print("answer", answer)
sys.exit(0 if answer.strip() == b"ok " + token.encode() else 75)
"""


@dataclass(frozen=True)
class Target:
    """Where the probe listens and what the worker is told, and why that address."""

    address: str
    why: str


@dataclass(frozen=True)
class Outcome:
    """What the probe found: ``reached`` None means it could not tell (no job ran)."""

    reached: bool | None
    address: str  # "HOST:PORT" tried
    detail: str
    job: int | None = None
    machine: str = ""
    peer: str = ""
    code: int | None = None  # the probe script's exit code


def default_address() -> str:
    """dask's own default (distributed.utils.get_ip): the Internet route's interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("8.8.8.8", 80))  # no packet is sent
            return str(probe.getsockname()[0])
        except OSError:
            pass
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def choose_target(settings: Settings, host: str | None = None) -> Target:
    """The address a dask session with these settings would listen on and advertise."""
    from condor_nb.dask import network

    if host:
        return Target(host, "given with --dask-host, as dask_session(host=...)")
    if network.workers_share_this_host(settings, settings.profile):
        return Target("127.0.0.1", "the personal pool's jobs run on this machine")
    found = network.scheduler_host_for(settings)
    if found is not None:
        return Target(found.address, found.why)
    return Target(default_address(), "dask's default (the interface of the Internet route)")


def arguments(python: str, host: str, port: int, token: str, wait: int) -> str:
    """The probe job's arguments (HTCondor's new syntax): python -c SCRIPT HOST PORT ..."""
    from condor_nb.dask.description import quote_arguments

    code = base64.b64encode(SCRIPT.encode()).decode()
    loader = f"import base64;exec(base64.b64decode('{code}'))"
    return quote_arguments([python, "-c", loader, host, str(port), token, str(wait)])


def probe_description(
    settings: Settings, *, host: str, port: int, token: str, folder: str, timeout: float
) -> dict[str, str]:
    """A dask worker's site profile (``dask-worker`` layered on top), running the script."""
    from condor_nb.dask.backend import load_templates
    from condor_nb.dask.description import _merge

    ours = {
        "executable": "/usr/bin/env",
        "transfer_executable": "false",
        "arguments": arguments(settings.worker_python, host, port, token, CONNECT_WAIT),
        "should_transfer_files": "YES",
        "when_to_transfer_output": "ON_EXIT",
        "initialdir": quoting.transfer_path(folder),
        "request_cpus": "1",
        "request_memory": "128",
        "request_disk": "102400",
        "leave_in_queue": "false",
        "periodic_remove": f"time() - QDate > {int(timeout) + ORPHAN_GRACE}",
        "batch_name": "condor_nb-doctor-dask",
        f"MY.{PROBE_ATTR}": "true",
        "MY.CondorNbProbeKind": f'"{PROBE_KIND}"',
    }
    if settings.image:
        ours["CONDOR_NB_IMAGE"] = settings.image
        templates = load_templates(settings.profile)
        if not any("CONDOR_NB_IMAGE" in v for t in templates for _, v in t.commands):
            ours["container_image"] = settings.image
    return _merge(load_templates(settings.profile), ours)


class Listener:
    """The stand-in scheduler: accepts connections, answers the one that sends the token."""

    def __init__(self, address: str, port: int, token: str) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.create_server((address, port), family=family, backlog=16)
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])
        self.token = token.encode()
        self.peers: list[str] = []  # every address that connected (ours or not)

    def close(self) -> None:
        self.sock.close()

    def wait(self, seconds: float) -> str | None:
        """Up to ``seconds``: the peer address that sent the token, if one did."""
        readable, _, _ = select.select([self.sock], [], [], max(seconds, 0))
        if not readable:
            return None
        try:
            conn, peer = self.sock.accept()
        except OSError:
            return None
        with conn:
            self.peers.append(str(peer[0]))
            conn.settimeout(5)
            try:
                data = conn.recv(256).strip()
                if data != self.token:
                    return None
                conn.sendall(b"ok " + self.token + b"\n")
            except OSError:
                return None
        return str(peer[0])


def _machine(ad: Mapping[str, object]) -> str:
    host = str(ad.get("RemoteHost") or ad.get("LastRemoteHost") or "")
    return host.rsplit("@", 1)[-1]


def run(settings: Settings, target: Target, *, port: int = 0, timeout: float = 180.0) -> Outcome:
    """Listen, submit the probe job, wait at most ``timeout`` s, remove the job.

    Raises OSError when this host cannot listen there (not one of its addresses, port
    taken), CondorNbError when the job cannot be submitted.
    """

    token = secrets.token_hex(16)
    listener = Listener(target.address, port, token)  # OSError: cannot listen there
    where = f"{target.address}:{listener.port}"
    folder = tempfile.mkdtemp(prefix="condor_nb_dask_probe_")
    client = schedd.client_for(settings)
    cluster: int | None = None
    projection = ["JobStatus", "ExitCode", "HoldReason", "HoldReasonCode", "RemoteHost",
                  "LastRemoteHost"]  # fmt: skip
    ad: Mapping[str, object] = {}
    try:
        description = probe_description(
            settings, host=target.address, port=listener.port, token=token, folder=folder,
            timeout=timeout,
        )  # fmt: skip
        cluster, _ = client.submit(description, spool=True)
        log.info("dask connect-back probe: job %s connects to %s", cluster, where)
        deadline = time.monotonic() + timeout
        next_look = time.monotonic() + min(settings.poll_interval, 2.0)
        while True:
            now = time.monotonic()
            if now >= deadline:
                return _unfinished(ad, where, cluster, timeout)
            peer = listener.wait(min(next_look, deadline) - now)
            if peer is not None:
                ads = client.query(f"ClusterId == {cluster}", projection)
                machine = _machine(ads[0]) if ads else ""
                return Outcome(True, where, "reached", cluster, machine, peer)
            if time.monotonic() < next_look:
                continue
            next_look = time.monotonic() + settings.poll_interval
            ads = client.query(f"ClusterId == {cluster}", projection)
            if not ads:  # leave_in_queue = false: a finished probe leaves the queue
                ads = client.history(f"ClusterId == {cluster}", projection, match=1)
            ad = ads[0] if ads else {}
            status = ad.get("JobStatus")
            if status == 5 and ad.get("HoldReasonCode") != 16:  # 16: spooling, lifts by itself
                held = f"probe job {cluster} held: {ad.get('HoldReason')}"
                return Outcome(None, where, held, cluster, _machine(ad))
            if status in (3, 4):
                # A token may still sit in the listen queue: look once more.
                peer = listener.wait(0.5)
                if peer is not None:
                    return Outcome(True, where, "reached", cluster, _machine(ad), peer)
                return _ended(ad, where, cluster)
    finally:
        listener.close()
        if cluster is not None:
            try:
                client.act("remove", f"ClusterId == {cluster}", "condor_nb doctor: dask probe done")
            except Exception as exc:  # the job's periodic_remove takes it out later
                log.warning("removing dask probe job %s failed: %s", cluster, exc)
        shutil.rmtree(folder, ignore_errors=True)


def _ended(ad: Mapping[str, object], where: str, cluster: int) -> Outcome:
    code = ad.get("ExitCode")
    machine = _machine(ad)
    if ad.get("JobStatus") == 4 and code == EXIT_REACHED:  # reached, yet no token here
        return Outcome(False, where, OUTCOMES[75], cluster, machine)
    if ad.get("JobStatus") == 4 and isinstance(code, int) and code in OUTCOMES:
        return Outcome(False, where, OUTCOMES[code], cluster, machine, code=code)
    what = f"exited with code {code}" if ad.get("JobStatus") == 4 else "was removed"
    return Outcome(None, where, f"probe job {cluster} {what} before trying to connect "
                   "(is the worker's Python there? CONDOR_NB_WORKER_PYTHON)",
                   cluster, machine)  # fmt: skip


def _unfinished(ad: Mapping[str, object], where: str, cluster: int, timeout: float) -> Outcome:
    status = ad.get("JobStatus")
    state = {1: "still idle (no slot matched yet)", 2: "still running"}.get(
        status if isinstance(status, int) else 0, "not finished"
    )
    return Outcome(None, where, f"probe job {cluster} {state} after {timeout:.0f} s",
                   cluster, _machine(ad))  # fmt: skip


#: The execute node could not even route to (or resolve) the address: it is the wrong one.
WRONG_ADDRESS = {72, 74}
FIX_ADDRESS = (
    "the execute nodes cannot reach {address}: give an address of this host on their "
    "network with --dask-host ADDRESS (dask_session(host=...)), or behind NAT "
    "contact_address='tcp://NAME:PORT' (docs/dask.md, 'Networking'); "
    "docs/admins.md, section 11, 'Dask sessions' says what the site must allow"
)
#: What a site must allow, and how users work around a wrong address.
FIX_BLOCKED = (
    "this host must accept TCP connections from the execute nodes on the scheduler's port: "
    "ask your admins to open a port range (docs/admins.md, section 11, 'Dask sessions') and "
    "pin it, e.g. `condor_nb doctor --dask --dask-port 40123` and dask_session(port=40123); "
    "if {address} is not an address the execute nodes can reach, try another interface of "
    "this host with --dask-host ADDRESS (dask_session(host=...)); behind NAT use "
    "contact_address='tcp://NAME:PORT' (docs/dask.md, 'Networking')"
)


@dataclass(frozen=True)
class Verdict:
    """The probe's answer for ``condor_nb doctor``: reached, blocked, or unknown."""

    status: str  # REACHED, BLOCKED, UNKNOWN
    detail: str
    fix: str = ""


REACHED, BLOCKED, UNKNOWN = "reached", "blocked", "unknown"


def check(
    settings: Settings, *, host: str | None = None, port: int = 0, timeout: float = 180.0
) -> Verdict:
    """Run the probe and say what it found, the address tried, and the fix."""

    target = choose_target(settings, host)
    try:
        outcome = run(settings, target, port=port, timeout=timeout)
    except OSError as exc:
        return Verdict(
            BLOCKED,
            f"cannot listen on {target.address}:{port} ({target.why}) on this host: "
            f"{exc.strerror or exc}",
            "--dask-host must be an address of this host (`ip addr` lists them), and "
            "--dask-port a free port (or 0 for any)",
        )
    except CondorNbError as exc:
        return Verdict(UNKNOWN, f"could not run the probe job: {exc.message}", exc.hint or "")
    on = f" on {outcome.machine}" if outcome.machine else ""
    chosen = f"{outcome.address} ({target.why})"
    if outcome.reached:
        peer = f", connecting from {outcome.peer}" if outcome.peer else ""
        return Verdict(REACHED, f"reached: job {outcome.job}{on} connected to {chosen}{peer}")
    if outcome.reached is False:
        return Verdict(
            BLOCKED,
            f"not reached: job {outcome.job}{on} could not connect to {chosen}: "
            f"{outcome.detail}; dask workers could not connect back either",
            (FIX_ADDRESS if outcome.code in WRONG_ADDRESS else FIX_BLOCKED).format(
                address=target.address
            ),
        )
    return Verdict(
        UNKNOWN,
        f"could not tell whether {chosen} is reachable: {outcome.detail}",
        f"condor_nb doctor --dask --timeout {int(timeout * 2)}   (the pool may be busy)",
    )
