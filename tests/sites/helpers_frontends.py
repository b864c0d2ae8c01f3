"""Helpers for the front-end tests on the site (test_frontends.py).

A fresh user on the notebook host: a HOME that never started a personal pool, its
own condor_nb home and Jupyter data dir, and commands run on the notebook host
(``site.client_run``). A Jupyter server there listens on the notebook host's own
loopback (its network namespace), so its HTTP requests are made from inside that
namespace too (:meth:`Jupyter.request`, :meth:`Jupyter.wait_job`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy import Site

TOKEN = "condor-nb-site-token"
PORT = 8888  # the notebook host's own loopback: nothing else listens there

NOTEBOOK: dict[str, Any] = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    },
    "cells": [
        {"cell_type": "code", "id": "p0", "metadata": {"tags": ["parameters"]},
         "execution_count": None, "outputs": [], "source": 'greeting = "hello"\nn = 1'},
        {"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": None,
         "outputs": [],
         "source": "import socket, condor_nb\ncondor_nb.record('square', n * n)\n"
                   "print(f'{greeting} x{n} from {socket.gethostname()}')"},
        {"cell_type": "code", "id": "c2", "metadata": {}, "execution_count": None,
         "outputs": [], "source": "if n == 0:\n    raise ValueError('n must not be zero')"},
    ],
}  # fmt: skip


@dataclass
class User:
    """A user of the notebook host with a fresh HOME."""

    site: Site
    base: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def fresh(cls, site: Site, base: Path) -> User:
        home = base / "home"
        home.mkdir(parents=True)
        env = {
            "HOME": str(home),
            "CONDOR_NB_HOME": str(home / "condor_nb"),
            "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_RUNTIME_DIR": str(home / "run"),
        }
        return cls(site, base, env)

    @property
    def home(self) -> Path:
        return Path(self.env["HOME"])

    def command(self, args: list[str]) -> list[str]:
        """``args`` in this user's environment (``env`` sets it on the notebook host)."""
        # Nothing of the test runner's own condor_nb settings may leak in.
        unset = [f"-u{k}" for k in os.environ if k.startswith("CONDOR_NB_")]
        return ["env", *unset, *(f"{k}={v}" for k, v in self.env.items()), *args]

    def run(self, args: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """``args`` on the notebook host, in this user's environment, from base."""
        return self.site.client_run(self.command(args), cwd=self.base, timeout=timeout)

    def start(self, *cli_args: str) -> subprocess.Popen[str]:
        """``condor_nb CLI_ARGS`` started on the notebook host (see :func:`finish`)."""
        return self.site.client_popen(
            self.command([sys.executable, "-m", "condor_nb", *cli_args]), cwd=self.base,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return self.run([sys.executable, "-m", "condor_nb", *args], timeout=timeout)

    def start_python(self, code: str) -> subprocess.Popen[str]:
        return self.site.client_popen(
            self.command([sys.executable, "-c", code]), cwd=self.base,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def python(self, code: str, timeout: float = 600) -> Any:
        """Run ``code`` on the notebook host; it prints one JSON document, returned."""
        proc = self.run([sys.executable, "-c", code], timeout=timeout)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])


def finish(proc: subprocess.Popen[str], timeout: float = 300) -> str:
    """The stdout of a started command, which must succeed."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:] + err[-5000:]
    return out


SCHEDD_ADS = """
import json, sys, htcondor2 as h
constraint, attrs = sys.argv[1], sys.argv[2].split(",")
schedd = h.Schedd()
seen = {}
for ad in schedd.history(constraint, attrs, match=100):
    seen[(ad.get("ClusterId"), ad.get("ProcId"))] = ad
for ad in schedd.query(constraint, attrs):
    seen[(ad.get("ClusterId"), ad.get("ProcId"))] = ad
print(json.dumps([{a: (None if ad.get(a) is None else str(ad.get(a))) for a in attrs}
                  for ad in seen.values()]))
"""

REMOVE = """
import sys, htcondor2 as h
h.Schedd().act(h.JobAction.Remove, sys.argv[1], ("test teardown", 0))
"""


def schedd_ads(site: Site, constraint: str, attrs: list[str]) -> list[dict[str, str | None]]:
    """What the access point's schedd stored (queue and history), asked as the user."""
    proc = site.client_run(
        [sys.executable, "-c", SCHEDD_ADS, constraint, ",".join(["ClusterId", "ProcId", *attrs])],
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return list(json.loads(proc.stdout))


def remove_jobs(site: Site, constraint: str) -> None:
    site.client_run([sys.executable, "-c", REMOVE, constraint], timeout=120)


def mine(user: User) -> str:
    """The constraint matching every job this user's condor_nb home submitted."""
    prefix = str(user.home)
    return f'Owner == "alice" && substr(CondorNbJobDir, 0, {len(prefix)}) == "{prefix}"'


REQUEST = """
import json, sys, time, urllib.error, urllib.request
port, token, calls = int(sys.argv[1]), sys.argv[2], json.loads(sys.stdin.read())

def request(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("Authorization", f"token {token}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            text = resp.read().decode()
            return resp.status, json.loads(text) if text else None
    except urllib.error.HTTPError as exc:
        text = exc.read().decode()
        try:
            return exc.code, json.loads(text)
        except ValueError:
            return exc.code, text
    except OSError as exc:
        return 0, str(exc)

out = []
for call in calls:
    if call.get("until"):  # poll a GET until a field takes one of the values
        deadline = time.monotonic() + call["timeout"]
        while True:
            status, body = request("GET", call["path"])
            got = body.get(call["until"]) if isinstance(body, dict) else None
            if (status == 200 and got in call["values"]) or time.monotonic() > deadline:
                break
            time.sleep(call.get("every", 2))
    else:
        status, body = request(call["method"], call["path"], call.get("body"))
    out.append([status, body])
print(json.dumps(out))
"""


class Jupyter:
    """A Jupyter server with condor_nb's extension, running on the notebook host."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.root = user.base / "server-root"
        self.root.mkdir()
        self.log = user.base / "jupyter.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={PORT}",
            f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={self.root}",
            "--allow-root", "--ServerApp.ip=127.0.0.1",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.proc = self.user.site.client_popen(
                self.user.command(cmd), cwd=self.root, stdout=log, stderr=log,
                start_new_session=True, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + 90
        while True:
            ((status, _),) = self.calls([{"method": "GET", "path": "/api/status"}])
            if status == 200:
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"jupyter server did not start:\n{self.tail()}")
            time.sleep(1)

    def tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-6000:]

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass
        self.proc = None

    def calls(self, calls: list[dict[str, Any]], timeout: float = 600) -> list[tuple[int, Any]]:
        """Several requests in one process on the notebook host, in order."""
        proc = subprocess.run(
            self.user.site.client_command([sys.executable, "-c", REQUEST, str(PORT), TOKEN]),
            input=json.dumps(calls), capture_output=True, text=True, timeout=timeout,
            check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        return [(int(s), b) for s, b in json.loads(proc.stdout)]

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.calls([{"method": method, "path": path, "body": body}])[0]

    def wait_job(self, job_id: str, states: tuple[str, ...], timeout: float = 420) -> Any:
        call = {"path": f"/scheduler/jobs/{job_id}", "until": "status",
                "values": list(states), "timeout": timeout}  # fmt: skip
        ((status, body),) = self.calls([call], timeout=timeout + 60)
        assert status == 200, body
        assert body["status"] in states, f"job {job_id} never reached {states}: {body}"
        return body
