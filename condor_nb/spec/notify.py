"""Who is told when a job ends: the ``--notify`` targets, parsed and validated once.

A target is one of

- ``https://host/path`` (or ``http://``): a webhook; the job POSTs a JSON summary to it;
- ``slack:CHANNEL_ID`` or ``slack:CHANNEL_ID:SECRET``: the job posts a summary to a
  Slack channel and attaches its HTML report. The bot token is the value of the
  ``--secret`` named SECRET (default ``SLACK_BOT_TOKEN``); it is never written in the
  target itself, in the parameters or in the submit description;
- ``email:ADDRESS`` or ``email:ADDRESS:WHEN`` (WHEN: ``complete``, the default,
  ``error`` or ``always``): HTCondor's own ``notify_user``/``notification`` e-mail,
  sent by the access point's schedd.

Webhooks and Slack are sent by the job itself at its end (condor_nb/worker/notify.py):
this module only turns the user's strings into :class:`NotifyTarget` values, the
worker's configuration (:func:`worker_config`) and the submit commands of an e-mail
(:func:`submit_commands`). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from condor_nb.errors import SpecError

#: The secret holding the Slack bot token when a target names none.
DEFAULT_SLACK_SECRET = "SLACK_BOT_TOKEN"
#: HTCondor's ``notification`` values, by the word a target uses.
EMAIL_WHEN = {"complete": "Complete", "error": "Error", "always": "Always"}
MAX_TARGETS = 8
#: ``--notify none`` turns the settings' default off for one job.
NONE = "none"

# What Slack's tokens look like (xoxb- bot, xoxp- user, xoxa-/xoxr-/xoxe- others):
# never accepted where a secret's NAME (or a parameter's value) is expected.
SLACK_TOKEN = re.compile(r"xox[a-z]-[A-Za-z0-9-]{6,}")
_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,20}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*")
_URL_FORBIDDEN = re.compile(r"[\s\"'\\\x00-\x1f\x7f]")
_FORMS = (
    "a webhook URL (https://...), slack:CHANNEL_ID[:SECRET_NAME], "
    "email:ADDRESS[:complete|error|always], or none"
)


@dataclass(frozen=True)
class NotifyTarget:
    """One validated target: ``kind`` is ``webhook``, ``slack`` or ``email``."""

    kind: str
    url: str = ""  # webhook
    channel: str = ""  # slack
    token_secret: str = ""  # slack: the --secret holding the bot token
    address: str = ""  # email
    when: str = ""  # email: Complete, Error or Always
    api_url: str = ""  # slack: the Web API's base URL (setting slack_api_url)
    jupyter_url: str = ""  # webhook, slack: the user's Jupyter server (setting), if known

    def describe(self) -> str:
        """The target as the user may see it (no secret value: none is ever held here)."""
        if self.kind == "webhook":
            return f"webhook {redact_url(self.url)}"
        if self.kind == "slack":
            return f"slack {self.channel} (token: secret {self.token_secret})"
        return f"email {self.address} ({self.when})"


def redact_url(url: str) -> str:
    """A URL without what may be a credential: user info, query and fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}" + ("?..." if parts.query else "")


def _error(given: str, problem: str, hint: str) -> SpecError:
    return SpecError(f"--notify {given!r}: {problem}", hint=hint)


def _looks_like_token(text: str) -> bool:
    return bool(SLACK_TOKEN.search(text))


def _webhook(text: str) -> NotifyTarget:
    shown = redact_url(text) if "://" in text else text
    if _URL_FORBIDDEN.search(text):
        raise _error(shown, "a webhook URL may not contain spaces, quotes or control characters",
                     "percent-encode them (%20...)")  # fmt: skip
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError as exc:
        raise _error(
            shown, f"not a valid URL ({exc})", "give e.g. https://example.org/hook"
        ) from None
    if not parts.hostname:
        raise _error(shown, "the URL has no host", "give e.g. https://example.org/hook")
    if parts.username or parts.password:
        raise _error(
            shown, "user:password@ in a webhook URL would be sent in clear to the job",
            "use a URL without credentials (a secret path is kept out of the logs)",
        )  # fmt: skip
    return NotifyTarget("webhook", url=text)


def _slack(text: str, rest: str) -> NotifyTarget:
    channel, _, secret = rest.partition(":")
    if _looks_like_token(rest):
        raise _error(
            "slack:[token]", "a Slack token was written into the target",
            "never put the token on the command line or in parameters: keep it in a file or "
            "an environment variable and give it with --secret SLACK_BOT_TOKEN (or --secret "
            "NAME and slack:CHANNEL_ID:NAME)",
        )  # fmt: skip
    if not _CHANNEL_ID.fullmatch(channel):
        raise _error(
            text, f"expected a Slack channel ID such as C0123ABCDEF; got {channel!r}",
            "open the channel's details in Slack and copy its ID (a name cannot receive files)",
        )  # fmt: skip
    secret = secret or DEFAULT_SLACK_SECRET
    if not _SECRET_NAME.fullmatch(secret):
        raise _error(text, f"expected the NAME of a --secret holding the bot token; got {secret!r}",
                     "give slack:CHANNEL_ID:NAME with --secret NAME")  # fmt: skip
    return NotifyTarget("slack", channel=channel, token_secret=secret)


def _email(text: str, rest: str) -> NotifyTarget:
    address, _, when = rest.partition(":")
    if not _EMAIL.fullmatch(address):
        raise _error(text, f"expected an e-mail address such as ada@example.org; got {address!r}",
                     "give email:ADDRESS or email:ADDRESS:error")  # fmt: skip
    if when.lower() not in ("", *EMAIL_WHEN):
        raise _error(text, f"expected when to send it: complete, error or always; got {when!r}",
                     "complete: at every end; error: on failures and holds; always: also on "
                     "evictions")  # fmt: skip
    return NotifyTarget("email", address=address, when=EMAIL_WHEN[when.lower() or "complete"])


def parse_target(text: str) -> NotifyTarget:
    """One ``--notify`` value -> a :class:`NotifyTarget` (SpecError saying how to fix it)."""
    if not isinstance(text, str) or not text.strip():
        raise SpecError(f"--notify: expected {_FORMS}; got {text!r}")
    text = text.strip()
    scheme, sep, rest = text.partition(":")
    lowered = scheme.lower()
    if lowered in ("http", "https") and rest.startswith("//"):
        return _webhook(text)
    if lowered == "slack" and sep:
        return _slack(text, rest)
    if lowered in ("email", "mailto") and sep:
        return _email(text, rest)
    shown = "[a Slack token]" if _looks_like_token(text) else text
    raise SpecError(
        f"--notify: expected {_FORMS}; got {shown!r}",
        hint="e.g. --notify https://example.org/hook --notify email:ada@example.org",
    )


def parse_targets(
    values: Iterable[str] | str | None,
    default: str | None = None,
    *,
    slack_api_url: str = "https://slack.com/api",
    jupyter_url: str | None = None,
) -> tuple[NotifyTarget, ...]:
    """The targets given (``--notify`` repeated), else the settings' default (targets
    separated by spaces); ``none`` means no target at all."""
    if isinstance(values, str):
        values = [values]
    given = list(values or ())
    for value in given:
        if not isinstance(value, str) or not value.strip():
            raise SpecError(f"--notify: expected {_FORMS}; got {value!r}",
                            hint="an empty target is often an unset shell variable")  # fmt: skip
    if not given:
        given = (default or "").split()
    if any(isinstance(v, str) and v.strip().lower() == NONE for v in given):
        if len(given) > 1:
            raise SpecError("--notify none: expected alone (it turns every notification off)")
        return ()
    targets = tuple(parse_target(v) for v in given)
    if any(t.kind == "slack" for t in targets):
        api = urlsplit(slack_api_url)
        if api.scheme not in ("http", "https") or not api.hostname:
            raise SpecError(
                f"setting slack_api_url: expected an http(s) URL; got {slack_api_url!r}",
                hint="leave it unset (https://slack.com/api) unless you test against a stand-in",
            )
    extra = {"api_url": slack_api_url.rstrip("/"), "jupyter_url": (jupyter_url or "").rstrip("/")}
    targets = tuple(replace(t, **extra) if t.kind != "email" else t for t in targets)
    if len(targets) > MAX_TARGETS:
        raise SpecError(f"--notify: expected at most {MAX_TARGETS} targets; got {len(targets)}")
    if sum(t.kind == "email" for t in targets) > 1:
        raise SpecError(
            "--notify: expected at most one e-mail address (HTCondor's notify_user is one)",
            hint="use a mailing list address to reach several people",
        )
    return targets


def check_targets(
    targets: Iterable[NotifyTarget],
    secret_names: Iterable[str],
    parameters: Mapping[str, Any],
) -> None:
    """A Slack target needs its token as a ``--secret``; no parameter may carry a token."""
    names = set(secret_names)
    for target in targets:
        if target.kind == "slack" and target.token_secret not in names:
            raise SpecError(
                f"--notify slack:{target.channel}: the bot token is the secret "
                f"{target.token_secret}, which was not given",
                hint=f"add --secret {target.token_secret} (it takes ${target.token_secret}) or "
                f"--secret {target.token_secret}=/path/to/token-file; a token is never a "
                "notebook parameter",
            )
    for name, value in parameters.items():
        if isinstance(value, str) and _looks_like_token(value):
            raise SpecError(
                f"parameter {name!r}: its value looks like a Slack token (xox...-); a token "
                "passed as a parameter is written into the notebook, its report and the job's "
                "files",
                hint="give it with --secret NAME (the notebook reads os.environ['NAME']); "
                "for notifications use --notify slack:CHANNEL_ID with --secret SLACK_BOT_TOKEN",
            )


def links(job_id: str, jupyter_url: str = "") -> dict[str, str]:
    """How the user reaches the job: the commands, and its Jupyter URL when known."""
    out = {"status": f"condor_nb status {job_id}", "fetch": f"condor_nb fetch {job_id}"}
    if jupyter_url:
        out["jupyter"] = f"{jupyter_url}/condor_nb/jobs/{job_id}"
    return out


def relinked(config: list[Any], old_id: str, new_id: str) -> list[Any]:
    """A job config's ``notify`` (from :func:`worker_config`) for the same job submitted
    again under ``new_id`` (a sweep's retry): its links name the new job."""
    out: list[Any] = []
    for target in config:
        if isinstance(target, dict) and isinstance(target.get("links"), dict):
            moved = {k: str(v).replace(old_id, new_id) for k, v in target["links"].items()}
            target = {**target, "links": moved}
        out.append(target)
    return out


def worker_config(targets: Iterable[NotifyTarget], job_id: str) -> list[dict[str, Any]]:
    """What the job's wrapper needs to notify (``notify`` in condor_nb_job.json): the
    targets it sends itself (webhook, Slack), without any secret value."""
    out: list[dict[str, Any]] = []
    for t in targets:
        if t.kind == "webhook":
            out.append({"kind": "webhook", "url": t.url, "links": links(job_id, t.jupyter_url)})
        elif t.kind == "slack":
            out.append({"kind": "slack", "channel": t.channel, "token_env": t.token_secret,
                        "api_url": t.api_url, "links": links(job_id, t.jupyter_url)})  # fmt: skip
    return out


def submit_commands(targets: Iterable[NotifyTarget]) -> dict[str, str]:
    """HTCondor's own e-mail: ``notification`` and ``notify_user`` (else ``Never``)."""
    for t in targets:
        if t.kind == "email":
            return {"notification": t.when, "notify_user": t.address}
    return {}
