"""A real Jupyter server (a subprocess with a token) with condor_nb_jupyter, against the pool.

Each test gets its own server root, Jupyter data dir (jupyter-scheduler's database and
staging area) and condor_nb home; :meth:`Server.restart` keeps them, as a user's
server restart would.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from integration.conftest import pool_env, remove_leftover_jobs, write_notebook  # noqa: E402

__all__ = [
    "Forwarder",
    "Server",
    "collector_address",
    "pool_env",
    "running_server",
    "write_notebook",
]
pytest.importorskip("jupyter_scheduler", reason="needs the [jupyter] extra")
TOKEN = "condor-nb-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, base: Path, env: dict[str, str]) -> None:
        self.root = base / "root"
        self.data = base / "jupyter-data"
        self.home = base / "condor_nb-home"
        self.log = base / "server.log"
        for d in (self.root, self.data, self.home):
            d.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            **env,
            "CONDOR_NB_HOME": str(self.home),
            "JUPYTER_DATA_DIR": str(self.data),
            "CONDOR_NB_POLL_INTERVAL": "0.5",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        #: Run before the server's command (e.g. to start it as another user).
        self.command_prefix: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str) -> None:
        self.port = free_port()
        cmd = [
            *self.command_prefix,
            sys.executable,
            "-m",
            "jupyter",
            "server",
            "--no-browser",
            f"--port={self.port}",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={self.root}",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            *extra,
        ]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd, env=self.env, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/api/status")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"jupyter server did not start:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # the server and its worker processes
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL the server and its workers: no shutdown handler runs."""
        if self.proc is None:
            return
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def terminal(self, command: str, timeout: float = 240) -> str:
        """Output of ``command`` typed into a new JupyterLab terminal (terminals API).

        Reads until a marker echoed after the command appears (the output line, not the
        echo of the command line itself), then closes the terminal.
        """
        import asyncio
        import re
        import uuid

        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        status, term = self.request("POST", "/api/terminals", {})
        assert status == 200, term
        marker = f"END-{uuid.uuid4().hex[:8]}"
        printed = re.compile(rf"(?<!echo ){marker}")

        async def run() -> str:
            url = f"ws://127.0.0.1:{self.port}/terminals/websocket/{term['name']}"
            headers = {"Authorization": f"token {TOKEN}"}
            ws = await websocket_connect(HTTPRequest(url, headers=headers))
            ws.write_message(json.dumps(["stdin", f"{command}; echo {marker}\r"]))
            seen = ""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not printed.search(seen):
                msg = await asyncio.wait_for(ws.read_message(), timeout=timeout)
                if msg is None:
                    break
                kind, *payload = json.loads(msg)
                if kind == "stdout":
                    seen += payload[0]
            ws.close()
            return seen

        try:
            return asyncio.run(run())
        finally:
            self.request("DELETE", f"/api/terminals/{term['name']}")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        token: bool = True,
        timeout: float = 120,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if token:
            req.add_header("Authorization", f"token {TOKEN}")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                text = resp.read().decode()
                return resp.status, json.loads(text) if text else None
        except urllib.error.HTTPError as exc:
            text = exc.read().decode()
            try:
                return exc.code, json.loads(text)
            except ValueError:
                return exc.code, text

    def notebook(self, name: str, cells: list[str], params: str | None = None) -> Path:
        return write_notebook(self.root / name, cells, params)

    def create_job(
        self, notebook: str, params: dict[str, str] | None = None, name: str = "test job"
    ) -> str:
        status, body = self.request(
            "POST",
            "/scheduler/jobs",
            {
                "input_uri": notebook,
                "runtime_environment_name": "personal",
                "name": name,
                "parameters": params or {},
                "output_formats": ["ipynb", "html"],
            },
        )
        assert status == 200, body
        return str(body["job_id"])

    def wait_job(
        self, job_id: str, states: tuple[str, ...], timeout: float = 240
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        body: Any = None
        while time.monotonic() < deadline:
            status, body = self.request("GET", f"/scheduler/jobs/{job_id}")
            assert status == 200, body
            if body["status"] in states:
                return dict(body)
            time.sleep(1)
        raise AssertionError(f"job {job_id} never reached {states}: {body}")


class Forwarder:
    """A TCP port that forwards to ``target`` ("host:port") while :meth:`open`, and refuses
    connections (closed, as a collector that is down or firewalled with a reject) while
    closed. A server configured to reach its collector there loses the pool
    and gets it back, without a restart of the pool or of the server."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self.target = (host or "127.0.0.1", int(port))
        self.port = free_port()  # nothing listens there until open()
        self._listener: socket.socket | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def open(self) -> None:
        import threading

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _accept(self, listener: socket.socket) -> None:
        import threading

        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # closed
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                conn.close()
                continue
            upstream.settimeout(None)
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for end in (src, dst):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


def collector_address(env: dict[str, str]) -> str:
    """The test pool's collector ("host:port"), from the HTCondor configuration it uses."""
    import re

    from condor_nb.condor.bindings import condor_config_for
    from condor_nb.settings import load_settings

    config = env.get("CONDOR_NB_CONDOR_CONFIG") or condor_config_for(load_settings())
    text = Path(str(config)).read_text() if config else ""
    found = re.search(r"^\s*COLLECTOR_HOST\s*=\s*(\S+)", text, re.M)
    host = found.group(1) if found else "127.0.0.1"
    return host if ":" in host else f"{host}:9618"


@contextmanager
def running_server(base: Path, env: dict[str, str]) -> Iterator[Server]:
    """A started server; on exit it is stopped and its home's leftover jobs removed."""
    srv = Server(base, env)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        remove_leftover_jobs(srv.home)


@pytest.fixture
def server(tmp_path: Path, pool_env: dict[str, str]) -> Iterator[Server]:
    with running_server(tmp_path, pool_env) as srv:
        yield srv


@pytest.fixture(scope="module")
def shared_server(
    tmp_path_factory: pytest.TempPathFactory, pool_env: dict[str, str]
) -> Iterator[Server]:
    """One server for a module's read-only or error-path tests (starting one costs ~3 s)."""
    with running_server(tmp_path_factory.mktemp("shared-server"), pool_env) as srv:
        yield srv
