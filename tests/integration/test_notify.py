"""--notify end to end on the real pool: the job itself tells a webhook and Slack that it
ended (receivers on loopback: the pool's worker runs on this host), and HTCondor's own
e-mail is asked for in the job ad.

One HTTP server plays every receiver: a webhook (/hook), a webhook that always answers
HTTP 500 (/hook500), Slack's Web API as documented (/slack/api/METHOD: chat.postMessage,
files.getUploadURLExternal, the upload URL it hands out, files.completeUploadExternal)
and a Slack that answers ``ok: false`` (/slackbad/api/METHOD). Three jobs: one that
succeeds (webhook + Slack + e-mail), one whose notebook fails (webhook), one that
succeeds while every receiver fails (Slack ok:false, HTTP 500): it still COMPLETES and
its result file says what failed. No secret leaks into the ad, the logs or the outputs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from secret_leaks import scan

from .conftest import Cnb, write_notebook
from .notify_receiver import CHANNEL, Receiver, header, serving


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as r:
        yield r


def wait_done(cnb: Cnb, job_id: str) -> None:
    proc = cnb.run("wait", job_id, "--timeout", "600", timeout=700)
    assert "COMPLETED" in proc.stdout + proc.stderr or "FAILED" in proc.stdout + proc.stderr, (
        proc.stdout + proc.stderr
    )


def test_the_job_notifies_webhook_slack_and_asks_htcondor_for_mail(
    cnb: Cnb, receiver: Receiver, schedd_ads: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "xoxb-" + secrets.token_hex(12)
    monkeypatch.setenv("SLACK_BOT_TOKEN", token)
    hook, hook500 = f"{receiver.base}/hook", f"{receiver.base}/hook500"
    good = cnb.notebook("good.ipynb", ["x = 6 * 7\nprint('answer', x)"])
    bad = cnb.notebook("bad.ipynb", ["print('before')", "raise ValueError('boom here')"])
    quiet = cnb.notebook("quiet.ipynb", ["print('fine')"])

    def submit(nb: Path, *args: str, slack_api: str = "") -> str:
        env_api = {"CONDOR_NB_SLACK_API_URL": slack_api} if slack_api else {}
        cnb.env.update(env_api)
        try:
            proc = cnb.run("submit", str(nb), *args)
        finally:
            cnb.env.pop("CONDOR_NB_SLACK_API_URL", None)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()[1]

    ok_id = submit(good, "--name", "good job", "--notify", hook, "--notify", f"slack:{CHANNEL}",
                   "--secret", "SLACK_BOT_TOKEN", "--notify", "email:ada@example.org:error",
                   slack_api=f"{receiver.base}/slack/api")  # fmt: skip
    bad_id = submit(bad, "--notify", hook)
    with socket.socket() as free:  # a port nobody listens on: the receiver is down
        free.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{free.getsockname()[1]}/down"
    quiet_id = submit(quiet, "--notify", f"slack:{CHANNEL}", "--secret", "SLACK_BOT_TOKEN",
                      "--notify", hook500, "--notify", down, "--notify", f"{receiver.base}/slow",
                      slack_api=f"{receiver.base}/slackbad/api")  # fmt: skip

    # E-mail is HTCondor's: the schedd stored who and when, in the job ad.
    ad = schedd_ads(ok_id)
    assert ad.get("NotifyUser") == "ada@example.org", ad
    assert ad.get("JobNotification") == 3, ad  # 3: Error
    assert "JobNotification" not in schedd_ads(bad_id) or schedd_ads(bad_id)["JobNotification"] == 0

    for job_id in (ok_id, bad_id, quiet_id):
        wait_done(cnb, job_id)
    for job_id in (ok_id, bad_id, quiet_id):  # the ads, now that they ended: no token
        assert token not in json.dumps(dict(schedd_ads(job_id)), default=str)

    # (a) the webhook: one POST of JSON per job, saying how it ended.
    hooks = {json.loads(body)["id"]: (method, headers, json.loads(body))
             for method, _, headers, body in receiver.of("/hook") if _ == "/hook"}  # fmt: skip
    assert set(hooks) == {ok_id, bad_id}, hooks
    method, headers, body = hooks[ok_id]
    assert method == "POST" and header(headers, "Content-Type") == "application/json"
    assert body["kind"] == "condor_nb.job.ended" and body["version"] == 1
    assert (body["name"], body["state"], body["exit_code"]) == ("good job", "COMPLETED", 0)
    assert body["reason"].startswith("completed") and body["error"] is None
    assert body["links"]["status"] == f"condor_nb status {ok_id}"
    assert body["links"]["fetch"] == f"condor_nb fetch {ok_id}"
    _, _, body = hooks[bad_id]
    assert (body["name"], body["state"], body["outcome"]) == ("bad", "FAILED", "cell_error")
    assert body["exit_code"] == 3 and body["error"]["name"] == "ValueError"
    assert "boom here" in body["reason"] and "boom here" in body["error"]["value"]
    summary = "cell 2: `raise ValueError('boom here')`: ValueError: boom here"  # as status says
    assert body["failure"]["summary"] == summary and body["reason"] == f"cell error: {summary}"

    # (b) Slack, as its Web API documents it, with the token from --secret.
    slack = receiver.of("/slack/api/")
    methods = [path.rsplit("/", 1)[1] for _, path, _, _ in slack]
    assert methods == ["chat.postMessage", "files.getUploadURLExternal",
                       "files.completeUploadExternal"], methods  # fmt: skip
    for _, _, headers, _ in slack:
        assert header(headers, "Authorization") == f"Bearer {token}"
    _, _, headers, raw = slack[0]
    assert header(headers, "Content-Type").startswith("application/json")
    message = json.loads(raw)
    assert message["channel"] == CHANNEL and ok_id in message["text"]
    assert "good job" in message["text"] and "finished" in message["text"]
    _, _, headers, raw = slack[1]
    assert header(headers, "Content-Type") == "application/x-www-form-urlencoded"
    form = dict(urllib.parse.parse_qsl(raw.decode()))
    uploads = receiver.of("/upload/F0UPLOAD1")
    assert len(uploads) == 1
    html = uploads[0][3]
    assert form["filename"].endswith(".html") and int(form["length"]) == len(html) > 0
    assert b"answer 42" in html  # the executed notebook's report
    assert header(uploads[0][2], "Authorization") == ""  # the token goes to Slack's API only
    complete = json.loads(slack[2][3])
    assert complete["channel_id"] == CHANNEL
    assert [f["id"] for f in complete["files"]] == ["F0UPLOAD1"]

    # The job that could tell nobody still COMPLETED; its result says what failed.
    bad_slack = receiver.of("/slackbad/api/")
    assert [p.rsplit("/", 1)[1] for _, p, _, _ in bad_slack] == ["chat.postMessage"]
    assert len(receiver.of("/hook500")) == 2  # tried once more, then given up
    out = cnb.workdir / "quiet_out"
    assert cnb.run("fetch", quiet_id, "-o", str(out)).returncode == 0
    result = json.loads((out / "result.json").read_text())
    assert result["outcome"] == "completed" and result["exit_code"] == 0
    slack_record, *hook_records = result["notifications"]
    assert slack_record["kind"] == "slack" and slack_record["ok"] is False
    assert "channel_not_found" in slack_record["error"]
    records = {r["target"].rsplit("/", 1)[1]: r for r in hook_records}
    assert set(records) == {"hook500", "down", "slow"}, hook_records
    for record in records.values():  # each tried once more, then given up
        assert (record["kind"], record["ok"], record["attempts"]) == ("webhook", False, 2), record
    assert "HTTP 500" in records["hook500"]["error"]
    assert "refused" in records["down"]["error"].lower(), records["down"]
    assert "timed out" in records["slow"]["error"].lower(), records["slow"]
    assert len(receiver.of("/slow")) == 2
    status = cnb.run("status", quiet_id)
    assert "COMPLETED" in status.stdout, status.stdout
    assert "notified: slack" in status.stdout and "channel_not_found" in status.stdout
    assert "notified: webhook" in status.stdout and "FAILED" in status.stdout

    out_ok = cnb.workdir / "ok_out"
    assert cnb.run("fetch", ok_id, "-o", str(out_ok)).returncode == 0
    result = json.loads((out_ok / "result.json").read_text())
    assert [(r["kind"], r["ok"]) for r in result["notifications"]] == [
        ("webhook", True), ("slack", True)]  # fmt: skip
    assert "notified: slack C0NOTIFY42: ok" in cnb.run("status", ok_id).stdout

    # No secret anywhere: outputs, logs, staging folders.
    files = [p for d in (out, out_ok) for p in d.rglob("*") if p.is_file()]
    files += [p for p in cnb.settings().jobs_dir.rglob("*") if p.is_file()]
    assert scan([token], files) == {}


def test_a_token_is_refused_where_it_would_leak(cnb: Cnb, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Slack token as a parameter, in the target, or a Slack target without its --secret:
    refused before anything is submitted, and the error does not repeat the token."""
    token = "xoxb-" + secrets.token_hex(12)
    nb = cnb.notebook("p.ipynb", ["print(token)"], params="token = ''")
    cases = [
        (["-p", "token", token], "looks like a Slack token"),
        (["--notify", f"slack:{CHANNEL}:{token}"], "--secret"),
        (["--notify", f"slack:{CHANNEL}"], "--secret SLACK_BOT_TOKEN"),
        (["--notify", "email:not-an-address"], "e-mail address"),
        (["--notify", "ftp://example.org/x"], "webhook URL"),
    ]
    for args, expected in cases:
        proc = cnb.run("submit", str(nb), *args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert expected in proc.stderr, (args, proc.stderr)
        assert token not in proc.stdout + proc.stderr


# -- e-mail: HTCondor's own, delivered by the schedd's MAIL program to an SMTP receiver --
# The pool's mail settings are the schedd's configuration: never the shared pool's. A
# throwaway copy of the pool runs in a network namespace of its own (its own loopback),
# with MAIL pointing at a relay that speaks SMTP to a receiver in the same namespace.
NETNS = f"condor_nb_test_mail{os.getpid()}"
SMTP_PORT = 2525

RELAY = """#!/usr/bin/env python3
# HTCondor runs MAIL as `MAIL -s SUBJECT [options] ADDRESS...` with the message on stdin.
import smtplib, sys
args, subject, rcpts, i = sys.argv[1:], "", [], 0
while i < len(args):
    if args[i] == "-s":
        subject, i = args[i + 1], i + 2
    elif args[i].startswith("-"):
        i += 2 if args[i] in ("-r", "-f", "-c", "-b", "-a") else 1
    else:
        rcpts, i = rcpts + [args[i]], i + 1
body = sys.stdin.read()
head = "From: condor@pool\\r\\nTo: %s\\r\\nSubject: %s\\r\\n\\r\\n" % (", ".join(rcpts), subject)
msg = head + body
with smtplib.SMTP("127.0.0.1", PORT, timeout=20) as smtp:
    smtp.sendmail("condor@pool", rcpts, msg.encode("utf-8"))
"""

# A minimal SMTP receiver (standard library): every message as one JSON line.
SMTP_RECEIVER = r"""
import json, socketserver, sys
port, out = int(sys.argv[1]), sys.argv[2]
class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        say = lambda text: (self.wfile.write(text.encode() + b"\r\n"), self.wfile.flush())
        say("220 test ESMTP")
        mail = {"from": "", "to": [], "data": ""}
        while True:
            line = self.rfile.readline().decode("utf-8", "replace")
            if not line:
                return
            verb = line[:4].upper()
            if verb in ("HELO", "EHLO"):
                say("250 test")
            elif verb == "MAIL":
                mail["from"] = line.split(":", 1)[1].strip(); say("250 ok")
            elif verb == "RCPT":
                mail["to"].append(line.split(":", 1)[1].strip().strip("<>")); say("250 ok")
            elif verb == "DATA":
                say("354 go on")
                lines = []
                while True:
                    data = self.rfile.readline().decode("utf-8", "replace")
                    if data in ("", ".\r\n", ".\n"):
                        break
                    lines.append(data)
                mail["data"] = "".join(lines)
                with open(out, "a") as f:
                    f.write(json.dumps(mail) + "\n")
                say("250 queued")
            elif verb == "QUIT":
                say("221 bye"); return
            else:
                say("250 ok")
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def _in_ns(
    *cmd: str, env: dict[str, str], timeout: float = 300, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", NETNS, "env", *(f"{k}={v}" for k, v in env.items()), *cmd],
        capture_output=True, text=True, timeout=timeout, cwd=cwd,
    )  # fmt: skip


def _ns_pids() -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", NETNS], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.fixture
def mail_pool(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """A copy of the personal pool whose MAIL relays to an SMTP receiver on the loopback
    of its own network namespace; (the env to use it, the receiver's file of messages)."""
    from condor_nb.pool import pool_paths

    source = pool_paths().base
    if os.geteuid() != 0 or not shutil.which("ip") or not (source / "built.json").exists():
        pytest.skip("needs root, iproute2 and a built personal pool to copy")
    copy = tmp_path / "pool"
    copy.mkdir()
    subprocess.run(["cp", "-a", "--one-file-system", str(source / "root"), str(copy)], check=True)
    shutil.copy2(source / "built.json", copy)
    root = copy / "root"
    for sub in ("var/spool/condor", "var/lib/condor/execute", "var/log/condor"):
        for entry in (root / sub).iterdir():  # never another pool's queued jobs
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    relay = root / "usr/local/bin/condor_nb_test_mail"
    relay.write_text(RELAY.replace("PORT", str(SMTP_PORT)), encoding="utf-8")
    relay.chmod(0o755)
    (root / "etc/condor/config.d/90-condor-nb-test-mail").write_text(
        f"MAIL = /usr/local/bin/{relay.name}\n", encoding="utf-8"
    )
    mails = tmp_path / "mails.jsonl"
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    env = {"CONDOR_NB_POOL_DIR": str(copy), "CONDOR_NB_HOME": str(tmp_path / "home"),
           "CONDOR_CONFIG": "", "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
           "CONDOR_NB_POLL_INTERVAL": "0.5"}  # fmt: skip
    smtp = None
    try:
        subprocess.run(["ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up"], check=True)
        smtp = subprocess.Popen(["ip", "netns", "exec", NETNS, sys.executable, "-c",
                                 SMTP_RECEIVER, str(SMTP_PORT), str(mails)])  # fmt: skip
        started = _in_ns(sys.executable, "-m", "condor_nb", "pool", "start", env=env)
        assert started.returncode == 0, started.stdout + started.stderr
        yield env, mails
    finally:
        _in_ns(sys.executable, "-m", "condor_nb", "pool", "stop", env=env)
        if smtp is not None:
            smtp.kill()
            smtp.wait()
        for pid in _ns_pids():  # anything the stop left
            os.kill(pid, signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", NETNS], check=False)


def test_htcondor_mails_the_address_given_by_notify(
    mail_pool: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, mails = mail_pool
    nb = write_notebook(tmp_path / "mailed.ipynb", ["print('mail me')"])
    cnb = [sys.executable, "-m", "condor_nb"]
    proc = _in_ns(*cnb, "submit", str(nb), "--notify", "email:ada@example.org", env=env,
                  cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    job_id = proc.stdout.split()[1]
    waited = _in_ns(*cnb, "wait", job_id, "--timeout", "300", env=env, timeout=400, cwd=tmp_path)
    assert "COMPLETED" in waited.stdout + waited.stderr, waited.stdout + waited.stderr

    def to_ada() -> list[dict[str, Any]]:
        lines = mails.read_text().splitlines() if mails.exists() else []
        return [m for m in map(json.loads, lines) if m["to"] == ["ada@example.org"]]

    deadline = time.monotonic() + 120  # the mail may follow the job's end by a moment
    while not to_ada() and time.monotonic() < deadline:
        time.sleep(1)
    everything = mails.read_text() if mails.exists() else "(nothing)"
    assert len(to_ada()) == 1, everything
    mail = to_ada()[0]["data"]
    assert "Subject: [Condor] Condor Job" in mail, mail
    assert "exited normally with status 0" in mail, mail
