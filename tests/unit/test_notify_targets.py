"""--notify targets: parsed and validated once (condor_nb.spec.notify), pure."""

from __future__ import annotations

import pytest

from condor_nb.errors import SpecError
from condor_nb.spec.notify import (
    check_targets,
    parse_targets,
    submit_commands,
    worker_config,
)

TOKEN = "xoxb-1234567890-abcdefABCDEF"


@pytest.mark.parametrize(
    ("given", "kind", "fields"),
    [
        ("https://hooks.example.org/a/b?k=v", "webhook", {"url": "https://hooks.example.org/a/b?k=v"}),
        ("http://127.0.0.1:8080/hook", "webhook", {"url": "http://127.0.0.1:8080/hook"}),
        ("slack:C0123ABCD", "slack", {"channel": "C0123ABCD", "token_secret": "SLACK_BOT_TOKEN"}),
        ("slack:G0123ABCD:MY_TOKEN", "slack", {"channel": "G0123ABCD", "token_secret": "MY_TOKEN"}),
        ("email:ada@example.org", "email", {"address": "ada@example.org", "when": "Complete"}),
        ("email:ada@example.org:ERROR", "email", {"address": "ada@example.org", "when": "Error"}),
        ("mailto:a.b+c@x.example.org:always", "email", {"when": "Always"}),
    ],
)  # fmt: skip
def test_targets_parse(given: str, kind: str, fields: dict[str, str]) -> None:
    (target,) = parse_targets([given])
    assert target.kind == kind
    for name, value in fields.items():
        assert getattr(target, name) == value


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("ftp://example.org/x", "expected a webhook URL"),
        ("https://user:pw@example.org/x", "user:password@"),
        ("https:///nohost", "no host"),
        ("https://example.org/a b", "spaces"),
        ("slack:#general", "channel ID"),
        (f"slack:C0123ABCD:{TOKEN}", "--secret"),
        (TOKEN, "expected a webhook URL"),
        ("email:not-an-address", "e-mail address"),
        ("email:a@b.org\nnotification = Never", "e-mail address"),
        ("email:a@b.org:sometimes", "complete, error or always"),
        ("", "expected a webhook URL"),
    ],
)
def test_bad_targets_are_refused_without_repeating_a_token(given: str, expected: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_targets([given])
    assert expected in str(info.value)
    assert TOKEN not in str(info.value) + str(info.value.hint or "")


def test_default_none_and_limits() -> None:
    assert parse_targets([], "https://a.example/x email:a@b.org")[1].kind == "email"
    assert parse_targets(["none"], "https://a.example/x") == ()
    assert parse_targets(None, None) == ()
    with pytest.raises(SpecError, match="at most one e-mail"):
        parse_targets(["email:a@b.org", "email:c@d.org"])
    with pytest.raises(SpecError, match="slack_api_url"):
        parse_targets(["slack:C0123ABCD"], slack_api_url="file:///tmp")


def test_slack_needs_its_secret_and_no_parameter_carries_a_token() -> None:
    targets = parse_targets(["slack:C0123ABCD"])
    with pytest.raises(SpecError, match="--secret SLACK_BOT_TOKEN"):
        check_targets(targets, [], {})
    check_targets(targets, ["SLACK_BOT_TOKEN"], {"n": 1})
    with pytest.raises(SpecError, match="looks like a Slack token") as info:
        check_targets((), [], {"token": TOKEN})
    assert TOKEN not in str(info.value)


def test_worker_config_and_submit_commands_hold_no_secret_value() -> None:
    given = ["slack:C0123ABCD:TOK", "https://h.example/x", "email:a@b.org:error"]
    api, jupyter = "http://127.0.0.1:1/api/", "https://j.example/"
    targets = parse_targets(given, slack_api_url=api, jupyter_url=jupyter)
    config = worker_config(targets, "abc123")
    assert [c["kind"] for c in config] == ["slack", "webhook"]
    assert config[0]["token_env"] == "TOK" and config[0]["api_url"] == "http://127.0.0.1:1/api"
    assert config[1]["links"] == {
        "status": "condor_nb status abc123",
        "fetch": "condor_nb fetch abc123",
        "jupyter": "https://j.example/condor_nb/jobs/abc123",
    }
    assert submit_commands(targets) == {"notification": "Error", "notify_user": "a@b.org"}
    assert submit_commands(targets[:2]) == {}
