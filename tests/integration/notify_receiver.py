"""A loopback HTTP server that plays every --notify receiver (webhook, Slack's Web API),
shared by the notification tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHANNEL = "C0NOTIFY42"


class Receiver:
    """Every request received: (method, path, headers, body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append((self.command, self.path, dict(self.headers), body))
                status, answer = receiver.answer(self.path, body)
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"

    def answer(self, path: str, body: bytes) -> tuple[int, Any]:
        if path == "/hook500":
            return 500, {"error": "down"}
        if path == "/slow":  # longer than the job's bound on one request (5 s)
            time.sleep(8)
        if path.startswith("/slackbad/api/"):
            return 200, {"ok": False, "error": "channel_not_found"}
        if path == "/slack/api/chat.postMessage":
            return 200, {"ok": True, "channel": CHANNEL, "ts": "1700000000.000100"}
        if path == "/slack/api/files.getUploadURLExternal":
            return 200, {"ok": True, "upload_url": f"{self.base}/upload/F0UPLOAD1",
                         "file_id": "F0UPLOAD1"}  # fmt: skip
        if path.startswith("/upload/"):
            return 200, b"OK - " + str(len(body)).encode()
        if path == "/slack/api/files.completeUploadExternal":
            return 200, {"ok": True, "files": [{"id": "F0UPLOAD1", "title": "report"}]}
        return 200, {"ok": True}

    def of(self, prefix: str) -> list[tuple[str, str, dict[str, str], bytes]]:
        with self.lock:
            return [r for r in self.requests if r[1].startswith(prefix)]


@contextmanager
def serving() -> Iterator[Receiver]:
    """A receiver answering on loopback for the duration of the block."""
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def header(headers: dict[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")
