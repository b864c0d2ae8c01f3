"""Hostile inputs against the real CLI and pool: inputs that reached the worker and
then failed (or silently ran otherwise), and inputs that gave tracebacks or waited
forever. Each is now refused at submission with a clear error, or runs, or fails on
the worker with the real reason. (Property tests: tests/unit/test_hostile_inputs.py.)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Cnb

RAW = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
HOSTILE_NAME = "evil\u202egpj.exe\x1b[2J\u2028fake line\rX"


def _submitted_id(out: str) -> str:
    match = re.search(r"submitted ([0-9a-f]{8}) ", out)
    assert match, out
    return match.group(1)


def test_inputs_that_reached_the_worker(cnb: Cnb, schedd_ads: Any) -> None:
    """A '-' file name runs; a missing --kernel FAILS naming what the worker has; a wall
    time is refused or stored exactly; a hostile name is shown escaped; another home
    of the same Owner does not adopt the job by its id."""
    dash = cnb.notebook("-dash.ipynb", ["print('ran', 6 * 7)"])
    nb = cnb.notebook("plain.ipynb", ["print('should not run')"])

    refused = cnb.run("submit", str(nb), "--wall-time", str(2**31))
    assert refused.returncode == 2 and "wall time: expected at most" in refused.stderr
    assert "Traceback" not in refused.stderr

    assert dash.parent == cnb.workdir  # the CLI's working directory: a user's "-x.ipynb"
    run = cnb.run("submit", "--wall-time", "1d", "--name", HOSTILE_NAME, "--", dash.name)
    assert run.returncode == 0, run.stderr
    assert not RAW.search(run.stdout + run.stderr)
    dash_id = _submitted_id(run.stdout)
    kern = cnb.run("submit", str(nb), "--kernel", "no_such_kernel", "--no-cache", check=True)
    kern_id = _submitted_id(kern.stdout)

    done = cnb.run("wait", dash_id, "--no-fetch")
    assert done.returncode == 0 and "COMPLETED" in done.stdout, done.stdout + done.stderr
    ad = schedd_ads(dash_id)
    assert ad["AllowedExecuteDuration"] == 86400 + 300  # stored exactly (was 0 when huge)
    assert "ran 42" in cnb.run("logs", dash_id, check=True).stdout

    failed = cnb.run("wait", kern_id, "--no-fetch")
    assert failed.returncode == 9 and "FAILED" in failed.stdout, failed.stdout + failed.stderr
    detail = cnb.run("status", kern_id).stdout
    assert "'no_such_kernel'" in detail and "python3" in detail, detail  # what the worker has

    for args in (("q",), ("status", dash_id)):
        shown = cnb.run(*args, check=True).stdout
        assert "evil\\u202egpj.exe\\x1b[2J\\u2028fake line\\rX" in shown
        assert not RAW.search(shown), repr(shown)

    # The same Owner, another condor_nb home: the job is not found, nor adopted.
    other = {**cnb.env, "CONDOR_NB_HOME": str(cnb.workdir / "other-home")}
    lookup = subprocess.run(
        [sys.executable, "-m", "condor_nb", "status", dash_id], cwd=cnb.workdir,
        env={**os.environ, **other}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert lookup.returncode == 7, lookup.stdout + lookup.stderr
    assert f"no job with id {dash_id!r}" in lookup.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "condor_nb", "q"], cwd=cnb.workdir,
        env={**os.environ, **other}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert dash_id not in listed.stdout


def test_inputs_that_gave_tracebacks(cnb: Cnb, tmp_path: Path) -> None:
    """Each of these printed a Python traceback (or read forever); now a clear error,
    its exit code, and nothing left behind."""
    nb = cnb.notebook("nb.ipynb", ["1"])
    home = Path(cnb.env["CONDOR_NB_HOME"])

    rel = subprocess.run(
        [sys.executable, "-m", "condor_nb", "submit", str(nb)], cwd=cnb.workdir,
        env={**os.environ, **cnb.env, "CONDOR_NB_HOME": "relhome"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert rel.returncode == 3, rel.stderr
    assert "expected an absolute path; got 'relhome'" in rel.stderr
    assert str(cnb.workdir / "relhome") in rel.stderr  # the path to use instead

    cases: list[tuple[bytes, str]] = [
        (b'profile = "x"\n\xff\xfe = 1\n', "expected UTF-8 text"),
        (b'profile = "x"\n[profiles]\nx = 3\n', "expected a table of settings"),
    ]
    for text, expected in cases:
        config = tmp_path / "config.toml"
        config.write_bytes(text)
        proc = subprocess.run(
            [sys.executable, "-m", "condor_nb", "q"], cwd=cnb.workdir,
            env={**os.environ, **cnb.env, "CONDOR_NB_CONFIG": str(config)},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 3 and expected in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr

    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\xff\xfe\x00binary")
    sub = cnb.run("submit", str(nb), "--secret", f"KEY={secret}")
    assert sub.returncode == 2 and "secret KEY: expected UTF-8 text" in sub.stderr, sub.stderr
    assert "Traceback" not in sub.stderr
    assert not (home / "jobs").exists() or not any((home / "jobs").iterdir())  # no orphan

    # The file changes between the check and the staging: refused, and still no folder.
    changed = cnb.python(
        "from pathlib import Path\n"
        "from condor_nb.api import submit_job\n"
        "from condor_nb.errors import SpecError\n"
        "from condor_nb.settings import load_settings\n"
        "from condor_nb.spec.job import notebook_job\n"
        "Path('later.txt').write_text('fine')\n"
        "settings = load_settings()\n"
        f"spec = notebook_job({str(nb)!r}, settings=settings, secrets=['KEY=later.txt'])\n"
        "Path('later.txt').write_bytes(b'\\xff')\n"
        "try:\n"
        "    submit_job(spec, settings, cache=False)\n"
        "except SpecError as exc:\n"
        "    print('refused:', exc)\n"
    )
    assert "refused: secret" in changed.stdout and "expected UTF-8" in changed.stdout, changed
    assert not (home / "jobs").exists() or not any((home / "jobs").iterdir())

    zero = cnb.run("render", "/dev/zero", timeout=60)  # read forever before
    assert zero.returncode == 2 and "special file" in zero.stderr, zero.stderr

    import jwt

    claims = {"sub": HOSTILE_NAME, "iss": "https://issuer\u2029x", "exp": 10**30}
    token = jwt.encode(claims, "k" * 32, algorithm="HS256")
    auth = subprocess.run(
        [sys.executable, "-m", "condor_nb", "auth", "status"], cwd=cnb.workdir,
        env={**os.environ, **cnb.env, "BEARER_TOKEN": token,
             "_condor_SEC_CLIENT_AUTHENTICATION_METHODS": "SCITOKENS,IDTOKENS"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "Traceback" not in auth.stderr, auth.stderr
    assert "'exp' (expiry) claim is 1000000000000000000000000000000" in auth.stdout
    claims["exp"] = 2_000_000_000
    token = jwt.encode(claims, "k" * 32, algorithm="HS256")
    auth = subprocess.run(
        [sys.executable, "-m", "condor_nb", "auth", "status"], cwd=cnb.workdir,
        env={**os.environ, **cnb.env, "BEARER_TOKEN": token,
             "_condor_SEC_CLIENT_AUTHENTICATION_METHODS": "SCITOKENS,IDTOKENS"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "evil\\u202egpj.exe" in auth.stdout and "issuer\\u2029x" in auth.stdout
    assert not RAW.search(auth.stdout + auth.stderr), repr(auth.stdout)


# -- a hung schedd, on a throwaway copy of the pool in a network namespace of its own --
NETNS = f"condor_nb_test_hung{os.getpid()}"  # two runs at once do not collide


def _in_ns(
    *cmd: str, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", NETNS, "env", *(f"{k}={v}" for k, v in env.items()), *cmd],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.fixture
def throwaway_pool(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A copy of the personal pool (its root without jobs or logs), started in a
    network namespace with its own loopback; stopped and removed afterwards."""
    from condor_nb.pool import pool_paths

    source = pool_paths().base
    if os.geteuid() != 0 or not shutil.which("ip") or not (source / "built.json").exists():
        pytest.skip("needs root, iproute2 and a built personal pool to copy")
    copy = tmp_path / "pool"
    copy.mkdir()
    subprocess.run(["cp", "-a", "--one-file-system", str(source / "root"), str(copy)], check=True)
    shutil.copy2(source / "built.json", copy)
    for sub in ("var/spool/condor", "var/lib/condor/execute", "var/log/condor"):
        for entry in (copy / "root" / sub).iterdir():  # never another pool's queued jobs
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    env = {"CONDOR_NB_POOL_DIR": str(copy), "CONDOR_NB_HOME": str(tmp_path / "home"),
           "CONDOR_CONFIG": "", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}  # fmt: skip
    try:
        subprocess.run(["ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up"], check=True)
        started = _in_ns(sys.executable, "-m", "condor_nb", "pool", "start", env=env)
        assert started.returncode == 0, started.stdout + started.stderr
        yield env
    finally:
        _in_ns(sys.executable, "-m", "condor_nb", "pool", "stop", env=env)
        for pid in _ns_pids():  # anything the stop left
            os.kill(pid, signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", NETNS], check=False)


def _ns_pids() -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", NETNS], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _schedd_pid() -> int:
    for pid in _ns_pids():
        if Path(f"/proc/{pid}/comm").read_text().strip() == "condor_schedd":
            return pid
    raise AssertionError("no condor_schedd in the throwaway pool")


def test_a_hung_schedd_gives_exit_5_not_a_hang(throwaway_pool: dict[str, str]) -> None:
    env = throwaway_pool
    cnb = [sys.executable, "-m", "condor_nb"]
    assert _in_ns(*cnb, "q", env=env).returncode == 0
    pid = _schedd_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        bounded = {**env, "CONDOR_NB_SCHEDD_TIMEOUT": "3"}
        # q (summary, query) and a lookup by id (query, then the history: the call that
        # waited forever) each end with a clear exit 5 (the test's own timeout: 120 s).
        for args in (("q",), ("status", "deadbeef")):
            proc = _in_ns(*cnb, *args, env=bounded, timeout=120)
            assert proc.returncode == 5, proc.stdout + proc.stderr
            assert "did not answer within 3 s" in proc.stderr
            assert "CONDOR_NB_SCHEDD_TIMEOUT" in proc.stderr
        # The history call, with the security session already open (as in a long-lived
        # Jupyter worker): it waited forever; now it too ends at the bound.
        os.kill(pid, signal.SIGCONT)
        history = _in_ns(sys.executable, "-c", _HISTORY_WHILE_STOPPED, str(pid), env=bounded)
        assert history.stdout.strip().endswith("ScheddUnavailableError: did not answer"), (
            history.stdout + history.stderr
        )
    finally:
        os.kill(pid, signal.SIGCONT)
    assert _in_ns(*cnb, "q", env=env).returncode == 0  # and it recovers


def test_a_hung_schedd_or_collector_cannot_hold_a_submission(
    throwaway_pool: dict[str, str],
) -> None:
    """Submit, a sweep and a schedule with the schedd stopped, then with the collector
    stopped: each ends at the bound with exit 5, and leaves no staging folder and no job.
    The same for a submission from a process whose security session is already open
    (a Jupyter worker, a notebook): it used to wait for ever."""
    env = throwaway_pool
    cnb = [sys.executable, "-m", "condor_nb"]
    home = Path(env["CONDOR_NB_HOME"])
    notebook = str(Path(__file__).parents[2] / "examples" / "hello.ipynb")
    assert _in_ns(*cnb, "q", env=env).returncode == 0
    bounded = {**env, "CONDOR_NB_SCHEDD_TIMEOUT": "3"}
    submissions = (
        ("submit", notebook),
        ("sweep", "run", notebook, "--grid", "repeat=1,2"),
        ("schedule", "create", notebook, "--cron", "0 0 1 1 *"),
    )
    for daemon, said in (("condor_schedd", "did not answer within 3 s"),
                         ("condor_collector", "did not answer within 3 s")):  # fmt: skip
        pid = _daemon_pid(daemon)
        os.kill(pid, signal.SIGSTOP)
        try:
            for args in submissions:
                proc = _in_ns(*cnb, *args, env=bounded, timeout=120)
                assert proc.returncode == 5, (daemon, args, proc.stdout + proc.stderr)
                assert said in proc.stderr and "CONDOR_NB_SCHEDD_TIMEOUT" in proc.stderr
                left = sorted(p.name for p in (home / "jobs").glob("*"))
                assert left == [], (daemon, args, left)
        finally:
            os.kill(pid, signal.SIGCONT)
    pid = _daemon_pid("condor_schedd")
    opened = _in_ns(sys.executable, "-c", _SUBMIT_WHILE_STOPPED, str(pid), notebook, env=bounded)
    assert opened.stdout.strip().endswith("ScheddUnavailableError: did not answer"), (
        opened.stdout + opened.stderr
    )
    assert sorted(p.name for p in (home / "jobs").glob("*")) == []
    queue = _in_ns(sys.executable, "-c", _WHOLE_QUEUE, env=env)
    assert queue.returncode == 0 and queue.stdout.strip() == "[]", queue.stdout + queue.stderr


_WHOLE_QUEUE = """
from condor_nb.condor import schedd
from condor_nb.settings import load_settings
print([ad["ClusterId"] for ad in schedd.client_for(load_settings()).query("true", ["ClusterId"])])
"""


def _daemon_pid(name: str) -> int:
    for pid in _ns_pids():
        if Path(f"/proc/{pid}/comm").read_text().strip() == name[:15]:  # comm: 15 chars
            return pid
    raise AssertionError(f"no {name} in the throwaway pool")


_SUBMIT_WHILE_STOPPED = """
import os, signal, sys
import condor_nb
from condor_nb.condor import schedd
from condor_nb.errors import ScheddUnavailableError
from condor_nb.settings import load_settings
client = schedd.client_for(load_settings())
client._schedd.query("true", ["ClusterId"])  # opens the session in this process
pid = int(sys.argv[1])
os.kill(pid, signal.SIGSTOP)
try:
    condor_nb.submit(sys.argv[2])
    print("answered")
except ScheddUnavailableError as exc:
    print("ScheddUnavailableError: did not answer" if "did not answer" in str(exc) else exc)
finally:
    os.kill(pid, signal.SIGCONT)
"""


_HISTORY_WHILE_STOPPED = """
import os, signal, sys
from condor_nb.condor import schedd
from condor_nb.errors import ScheddUnavailableError
from condor_nb.settings import load_settings
client = schedd.HTCondorSchedd(load_settings())
client._schedd.query("true", ["ClusterId"])  # opens the session in this process
pid = int(sys.argv[1])
os.kill(pid, signal.SIGSTOP)
try:
    client.history("true", ["ClusterId"], match=1)
    print("answered")
except ScheddUnavailableError as exc:
    print("ScheddUnavailableError: did not answer" if "did not answer" in str(exc) else exc)
finally:
    os.kill(pid, signal.SIGCONT)
"""


def test_schedule_names_and_error_messages_are_shown_escaped(cnb: Cnb) -> None:
    """A schedule's hostile name in create/list/pause output, and user text inside
    error messages (a missing notebook's path, a bad cron field), reach the terminal
    escaped: no raw control, bidi or separator character."""
    nb = cnb.notebook("yearly.ipynb", ["print(1)"])
    made = cnb.run("schedule", "create", str(nb), "--cron", "0 0 1 1 *", "--name", HOSTILE_NAME)
    assert made.returncode == 0, made.stdout + made.stderr
    schedule_id = made.stdout.split()[2]
    try:
        for args in (("schedule", "list"), ("schedule", "pause", schedule_id)):
            shown = cnb.run(*args, check=True).stdout
            assert "evil\\u202egpj.exe" in shown and "\\u2028fake line" in shown, shown
            assert not RAW.search(shown), repr(shown)
    finally:
        cnb.run("schedule", "delete", schedule_id)
    for args in (
        ("submit", "no\u202efile\x1b[2J\u2028x.ipynb"),
        ("schedule", "check", "0 0 \u202e1\x1b 1 *"),
        ("fetch", "deadbeef", "-o", "x\u2029y"),
    ):
        err = cnb.run(*args)
        assert err.returncode != 0 and err.stderr.startswith("error: "), err.stderr
        assert not RAW.search(err.stderr), repr(err.stderr)


def test_a_failed_sweep_or_schedule_submission_leaves_nothing_staged(cnb: Cnb) -> None:
    """A submission that fails after staging (here: the schedd it names is not in the
    pool) removes the staging folder of a single job, a sweep and a schedule alike."""
    nb = cnb.notebook("staged.ipynb", ["print(n)"], params="n = 1")
    home = cnb.workdir / "failing-home"
    env = {**os.environ, **cnb.env, "CONDOR_NB_HOME": str(home), "CONDOR_NB_SCHEDD": "no-such"}
    for args in (
        ("submit", str(nb)),
        ("sweep", "run", str(nb), "--grid", "n=1,2"),
        ("schedule", "create", str(nb), "--cron", "0 0 1 1 *"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "condor_nb", *args], cwd=cnb.workdir, env=env,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 5 and "no-such" in proc.stderr, proc.stdout + proc.stderr
        left = sorted(p.name for p in (home / "jobs").glob("*"))
        assert left == [], (args, left)


def test_rm_keeps_outputs_brought_back_but_never_fetched(cnb: Cnb) -> None:
    """Outputs retrieved into the staging folder (here by `logs`) but never fetched count
    as unfetched: rm refuses without --force; rm --force removes the job and keeps the
    staging copy, which fetch still copies."""
    import condor_nb
    from condor_nb.condor.status import JobState

    nb = cnb.notebook("kept.ipynb", ["print('kept output', 6 * 7)"])
    job_id = _submitted_id(cnb.run("submit", str(nb), "--no-cache", check=True).stdout)
    assert "COMPLETED" in cnb.run("wait", job_id, "--no-fetch", check=True).stdout
    assert "kept output 42" in cnb.run("logs", job_id, check=True).stdout  # retrieves
    out_dir = Path(condor_nb.get(job_id).record.job_dir) / "out"
    staged = sorted(p.name for p in out_dir.rglob("*"))
    assert "_condor_nb_output.ipynb" in staged, staged

    refused = cnb.run("rm", job_id)
    assert refused.returncode == 8, refused.stdout + refused.stderr
    assert "staging folder" in refused.stderr and "never fetched" in refused.stderr
    assert condor_nb.get(job_id).status().state is JobState.COMPLETED

    assert _in_queue(cnb, job_id)
    assert cnb.run("rm", "--force", job_id).returncode == 0
    assert not _in_queue(cnb, job_id)  # removed from the schedd's queue
    assert sorted(p.name for p in out_dir.rglob("*")) == staged  # the staging copy stays
    fetched = cnb.run("fetch", job_id, "-o", "got\u202ex\u2028y")  # the paths shown: escaped
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    assert "got\\u202ex\\u2028y" in fetched.stdout and not RAW.search(fetched.stdout)
    assert (cnb.workdir / "got\u202ex\u2028y" / "kept.ipynb").is_file()


def _in_queue(cnb: Cnb, job_id: str) -> bool:
    from condor_nb.condor import schedd

    client = schedd.client_for(cnb.settings())
    return bool(client.query(f'CondorNbId == "{job_id}"', ["ClusterId"]))


KILL_WRAPPER_AFTER_FIFO = r"""
import os, signal
os.mkfifo("gaps_late.fifo")
pid = os.getpid()
while pid > 1:  # the wrapper is an ancestor of the kernel: SIGKILL it (no clean-up)
    with open(f"/proc/{pid}/stat") as f:
        pid = int(f.read().rsplit(")", 1)[1].split()[1])
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        if b"condor_nb_run.py" in f.read():
            os.kill(pid, signal.SIGKILL)
            break
"""


def test_a_fifo_left_by_a_killed_wrapper_cannot_hang_the_job(cnb: Cnb) -> None:
    """The notebook makes a FIFO, then SIGKILLs the wrapper, so the wrapper never sets
    the FIFO apart. The starter's PostCmd removes it before the output transfer: the
    job ends (FAILED: its wrapper died) and its slot is freed. If it ever hangs, the
    FIFO is opened for writing so the shared pool's starter is never left blocked."""
    from condor_nb.pool import pool_paths

    nb = cnb.notebook("killer.ipynb", [KILL_WRAPPER_AFTER_FIFO])
    job_id = _submitted_id(cnb.run("submit", str(nb), "--no-cache", check=True).stdout)
    execute = pool_paths().base / "root" / "var" / "lib" / "condor" / "execute"
    try:
        done = cnb.run("wait", job_id, "--no-fetch", "--timeout", "240", timeout=300)
        assert "timed out" not in done.stderr, done.stdout + done.stderr
        assert "FAILED" in done.stdout, done.stdout + done.stderr
        assert not _in_queue_running(cnb, job_id)  # not RUNNING/TransferringOutput: slot free
    finally:
        for fifo in execute.glob("*/gaps_late.fifo"):  # unblock a starter stuck on it
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def _in_queue_running(cnb: Cnb, job_id: str) -> bool:
    from condor_nb.condor import schedd

    client = schedd.client_for(cnb.settings())
    return bool(client.query(f'CondorNbId == "{job_id}" && JobStatus == 2', ["ClusterId"]))
