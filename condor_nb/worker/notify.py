"""Tell the job's ``--notify`` targets that it ended, FROM THE JOB (shipped as
``condor_nb_notify.py``), so that no condor_nb process needs to be alive.

Standard library only (urllib), Python >= 3.9, never condor_nb. Every target is tried
once more after a transient failure (no answer, a timeout, HTTP 5xx or 429), within a
few seconds; any failure is recorded (:func:`notify_all` returns one record per target)
and never raised: a notification never changes the job's outcome.

The webhook payload (``kind`` ``condor_nb.job.ended``, version 1) is documented in
docs/users.md. Slack is driven through its Web API as documented: ``chat.postMessage``
(JSON, ``Authorization: Bearer``), then the external upload of the HTML report:
``files.getUploadURLExternal`` (form fields ``filename``, ``length``), a POST of the
bytes to the ``upload_url`` it returns, and ``files.completeUploadExternal`` (``files``,
``channel_id``). The bot token is read from the job's environment (a ``--secret``) and
goes nowhere but the Authorization header; error texts never hold it.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable

#: One attempt's time bound, and all attempts' for one target (seconds).
ATTEMPT_TIMEOUT = 5.0
TARGET_BUDGET = 20.0
RETRY_PAUSE = 1.0
PAYLOAD_KIND = "condor_nb.job.ended"
PAYLOAD_VERSION = 1
_MAX_TEXT = 500
#: Set by the schedule runner (cron.py) for the wrapper it starts: this firing's run id.
RUN_ID_ENV = "CONDOR_NB_RUN_ID"


class NotifyError(Exception):
    """A target could not be told; ``transient`` ones are tried once more."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def state_of(outcome: str) -> str:
    """condor_nb's state for the wrapper's outcome (as ``condor_nb status`` shows it)."""
    return "COMPLETED" if outcome == "completed" else "FAILED"


def reason_of(result: dict[str, Any]) -> str:
    """One line saying how the job ended."""
    outcome = result.get("outcome", "")
    done = f"{result.get('cells_executed', 0)}/{result.get('cells_total', 0)} code cells run"
    if outcome == "completed":
        return f"completed: {done}"
    failure = result.get("failure") or {}
    if failure.get("summary"):  # the cell as the user counts it, as `condor_nb status` says
        return f"{outcome.replace('_', ' ')}: {failure['summary']}"[:_MAX_TEXT]
    error = result.get("error") or {}
    where = result.get("failed_cell")
    cell = "" if where is None else f" in notebook cell {where}"
    what = f": {error.get('name', '')}: {error.get('value', '')!s}" if error else ""
    return f"{outcome.replace('_', ' ')}{cell}{what} ({done})"[:_MAX_TEXT]


def payload(job: dict[str, Any], result: dict[str, Any], links: dict[str, str]) -> dict[str, Any]:
    """The webhook's JSON body (docs/users.md, "Notifications")."""
    error = result.get("error") or None
    return {
        "kind": PAYLOAD_KIND,
        "version": PAYLOAD_VERSION,
        "id": str(job.get("job_id", "")),
        "name": str(job.get("name") or job.get("notebook", "")),
        "notebook": str(job.get("notebook", "")),
        "parameters": job.get("parameters") if isinstance(job.get("parameters"), dict) else {},
        "run_id": os.environ.get(RUN_ID_ENV) or None,
        "state": state_of(str(result.get("outcome", ""))),
        "outcome": result.get("outcome"),
        "reason": reason_of(result),
        "exit_code": result.get("exit_code"),
        "failed_cell": result.get("failed_cell"),
        "failure": result.get("failure"),
        "error": None if not error else {
            "name": str(error.get("name", "")), "value": str(error.get("value", ""))[:_MAX_TEXT]
        },
        "started_at": result.get("started_at"),
        "finished_at": result.get("finished_at"),
        "duration_s": result.get("duration_s"),
        "cells_executed": result.get("cells_executed"),
        "cells_total": result.get("cells_total"),
        "links": dict(links),
    }  # fmt: skip


def shown_url(url: str) -> str:
    """A URL as records and messages show it: no user info, query or fragment."""
    parts = urllib.parse.urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}" + (
        "?..." if parts.query else ""
    )


def _request(
    url: str,
    data: bytes,
    headers: dict[str, str],
    deadline: float,
) -> tuple[int, bytes]:
    """POST ``data``; (status, body). NotifyError (transient or not) on any failure."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise NotifyError("no time left", transient=False)
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=min(ATTEMPT_TIMEOUT, remaining)) as answer:
            return int(answer.status), answer.read(1024 * 1024)
    except urllib.error.HTTPError as exc:
        transient = exc.code >= 500 or exc.code == 429
        raise NotifyError(
            f"HTTP {exc.code} {exc.reason} from {shown_url(url)}", transient
        ) from None
    except (urllib.error.URLError, OSError) as exc:  # refused, unreachable, timed out
        reason = getattr(exc, "reason", exc)
        raise NotifyError(f"no answer from {shown_url(url)}: {reason}", transient=True) from None
    except ValueError as exc:  # a malformed URL
        raise NotifyError(f"cannot post to {shown_url(url)}: {exc}") from None


def _with_retry(step: Callable[[], Any], deadline: float, attempts: list[int]) -> Any:
    """``step()``, once more after a transient failure."""
    for attempt in (1, 2):
        attempts[0] += 1
        try:
            return step()
        except NotifyError as exc:
            if attempt == 2 or not exc.transient or deadline - time.monotonic() < RETRY_PAUSE:
                raise
            time.sleep(RETRY_PAUSE)
    raise AssertionError("unreachable")


def send_webhook(target: dict[str, Any], body: dict[str, Any], deadline: float,
                 attempts: list[int]) -> None:  # fmt: skip
    data = json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "condor_nb-job"}
    _with_retry(lambda: _request(str(target["url"]), data, headers, deadline), deadline, attempts)


def _slack_call(api: str, method: str, token: str, deadline: float, attempts: list[int],
                json_body: dict[str, Any] | None = None,
                form: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """One Web API method; its answer, or NotifyError naming Slack's ``error``."""
    headers = {"Authorization": f"Bearer {token}", "User-Agent": "condor_nb-job"}
    if json_body is not None:
        data = json.dumps(json_body).encode("utf-8")
        headers["Content-Type"] = "application/json; charset=utf-8"
    else:
        data = urllib.parse.urlencode(form or {}).encode("ascii")
        headers["Content-Type"] = "application/x-www-form-urlencoded"

    def call() -> dict[str, Any]:
        _, text = _request(f"{api}/{method}", data, headers, deadline)
        try:
            answer = json.loads(text.decode("utf-8"))
        except ValueError:
            raise NotifyError(f"Slack {method}: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise NotifyError(f"Slack {method}: unexpected answer")
        if answer.get("ok") is not True:
            error = str(answer.get("error") or "unknown error")[:200]
            raise NotifyError(f"Slack {method}: ok false ({error})", error == "ratelimited")
        return answer

    return _with_retry(call, deadline, attempts)  # type: ignore[no-any-return]


def slack_text(body: dict[str, Any]) -> str:
    mark = "finished" if body["state"] == "COMPLETED" else "FAILED"
    lines = [f"condor_nb job {body['id']} ({body['name']}) {mark}: {body['reason']}"]
    links = body.get("links") or {}
    lines += [f"{name}: {value}" for name, value in links.items()]
    return "\n".join(lines)


def send_slack(target: dict[str, Any], body: dict[str, Any], report: bytes | None,
               report_name: str, deadline: float, attempts: list[int]) -> None:  # fmt: skip
    token = os.environ.get(str(target.get("token_env", "")), "")
    if not token:
        raise NotifyError(f"the bot token (secret {target.get('token_env')}) is not set in the job")
    api, channel = str(target["api_url"]).rstrip("/"), str(target["channel"])
    text = slack_text(body)
    _slack_call(api, "chat.postMessage", token, deadline, attempts,
                json_body={"channel": channel, "text": text, "unfurl_links": False})  # fmt: skip
    if report is None:
        return
    got = _slack_call(api, "files.getUploadURLExternal", token, deadline, attempts,
                      form={"filename": report_name, "length": str(len(report))})  # fmt: skip
    upload_url, file_id = got.get("upload_url"), got.get("file_id")
    if not isinstance(upload_url, str) or not isinstance(file_id, str):
        raise NotifyError("Slack files.getUploadURLExternal: no upload_url or file_id")
    headers = {"Content-Type": "application/octet-stream", "User-Agent": "condor_nb-job"}
    _with_retry(lambda: _request(upload_url, report, headers, deadline), deadline, attempts)
    title = f"{body['name']} ({body['id']}) report"
    complete = {"files": [{"id": file_id, "title": title}], "channel_id": channel}
    _slack_call(api, "files.completeUploadExternal", token, deadline, attempts, json_body=complete)


def describe(target: dict[str, Any]) -> str:
    if target.get("kind") == "webhook":
        return shown_url(str(target.get("url", "")))
    if target.get("kind") == "slack":
        return str(target.get("channel", ""))
    return str(target.get("kind"))


def notify_all(
    job: dict[str, Any],
    result: dict[str, Any],
    report_path: str | None,
    clean: Callable[[str], str] = lambda text: text,
) -> list[dict[str, Any]]:
    """Tell every target of ``job["notify"]``; one record per target: ``kind``,
    ``target`` (shown without credentials), ``ok``, ``error`` (None when ok),
    ``attempts``. ``clean`` takes secrets out of texts (the wrapper's redaction)."""
    records: list[dict[str, Any]] = []
    report: bytes | None = None
    if report_path and os.path.isfile(report_path):
        with open(report_path, "rb") as f:
            report = f.read()
    for target in job.get("notify") or []:
        if not isinstance(target, dict):
            continue
        kind = str(target.get("kind", ""))
        raw_links = target.get("links")
        links = raw_links if isinstance(raw_links, dict) else {}
        body = payload(job, result, links)
        record: dict[str, Any] = {"kind": kind, "target": describe(target), "ok": False,
                                  "error": None, "attempts": 0}  # fmt: skip
        attempts = [0]
        deadline = time.monotonic() + TARGET_BUDGET
        try:
            if kind == "webhook":
                send_webhook(target, body, deadline, attempts)
            elif kind == "slack":
                name = f"{body['name']}-{body['id']}.html".replace("/", "_")
                send_slack(target, body, report, name, deadline, attempts)
            else:
                raise NotifyError(f"unknown kind of target {kind!r}")
            record["ok"] = True
        except NotifyError as exc:
            record["error"] = str(exc)
        except Exception as exc:  # never let a notification fail the job
            record["error"] = f"{type(exc).__name__}: {exc}"
        if record["error"]:
            text = clean(str(record["error"]))
            token = os.environ.get(str(target.get("token_env", ""))) if kind == "slack" else None
            record["error"] = text.replace(token, "[secret]") if token else text
        record["attempts"] = attempts[0]
        records.append(record)
    return records
