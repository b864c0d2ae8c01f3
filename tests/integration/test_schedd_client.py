"""The schedd client on the real pool: what it retries, what it raises at once, what
``condor_nb --debug`` shows.

Retries are counted from the client's log records (one per retry), never timed.
"""

from __future__ import annotations

import dataclasses
import logging
import re

import pytest

from condor_nb.errors import ScheddUnavailableError, SpecError

from .conftest import Cnb

pytestmark = pytest.mark.pool

BAD = "ClusterId ==== ("
RETRY = re.compile(r"failed \(try \d+\), trying again")


def _retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if RETRY.search(r.getMessage())]


def test_a_constraint_the_schedd_cannot_use_is_raised_at_once_naming_it(
    cnb: Cnb, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: every failure was retried for ~7.5 s, then called "schedd unavailable"."""
    from condor_nb.condor import schedd

    client = schedd.client_for(cnb.settings())
    caplog.set_level(logging.DEBUG, logger="condor_nb")
    calls = {
        "query": lambda: client.query(BAD, ["ClusterId"]),
        "summary query": lambda: client.summary(BAD),
        "history query": lambda: client.history(BAD, ["ClusterId"], match=1),
        "hold": lambda: client.act("hold", BAD, "never"),
        "retrieving outputs": lambda: client.retrieve(BAD),
    }
    for what, call in calls.items():
        with pytest.raises(SpecError) as raised:
            call()
        assert not isinstance(raised.value, ScheddUnavailableError)
        assert BAD in str(raised.value) and what in str(raised.value), raised.value
        assert "ClassAd expression" in (raised.value.hint or "")
    assert _retries(caplog) == []
    # The client is fine afterwards: a good constraint answers.
    assert client.query("ClusterId == -1", ["ClusterId"]) == []


def test_an_unreachable_schedd_is_retried_with_a_log_line_per_try(
    cnb: Cnb, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens at the schedd's address: transient, so retried (exponential
    waits, each logged) within schedd_timeout, then "unavailable" with the count."""
    import classad2

    from condor_nb.condor import schedd

    settings = dataclasses.replace(cnb.settings(), schedd_timeout=4.0)
    client = schedd.HTCondorSchedd(settings)
    real = dict(client._ad)
    dead_ad = classad2.ClassAd({**real, "MyAddress": "<127.0.0.1:9>", "Name": "nowhere"})
    dead = client._htcondor.Schedd(dead_ad)
    client._schedd = dead
    located: list[int] = []

    def locate() -> object:
        located.append(1)
        return dead

    client._locate = locate  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger="condor_nb")
    with pytest.raises(ScheddUnavailableError) as raised:
        client.history("ClusterId == -1", ["ClusterId"], match=1)
    retries = _retries(caplog)
    assert len(retries) >= 2, caplog.text
    assert all("history query" in line and "Failed to connect" in line for line in retries)
    tries = len(retries) + 1
    assert f"({tries} tries)" in str(raised.value), raised.value
    assert "restarting or unreachable" in (raised.value.hint or "")
    assert len(located) == len(retries)  # the schedd is looked up again before each retry


def test_debug_shows_the_description_sent_and_the_sync_decisions(
    cnb: Cnb, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-value-for-debug-5f1e"
    monkeypatch.setenv("CNB_DEBUG_TOKEN", secret)
    nb = cnb.notebook("debug.ipynb", ["print(x)"], params="x = 1")
    sub = cnb.run("--debug", "submit", str(nb), "-p", "x", "2", "--secret", "CNB_DEBUG_TOKEN")
    assert sub.returncode == 0, sub.stderr
    assert "submit description sent to schedd" in sub.stderr, sub.stderr
    assert re.search(r"^  executable = ", sub.stderr, re.M), sub.stderr
    assert re.search(r"^  MY\.CondorNbId = ", sub.stderr, re.M), sub.stderr
    assert "encrypt_input_files" in sub.stderr  # the secret travels as a file...
    assert secret not in sub.stderr + sub.stdout  # ...whose content is never logged
    found = re.search(r"submitted (\w+) ", sub.stdout)
    assert found, sub.stdout
    job_id = found.group(1)
    first = cnb.run("--debug", "q")
    assert first.returncode == 0, first.stderr
    assert "full look: no earlier look" in first.stderr, first.stderr
    second = cnb.run("--debug", "q")
    assert second.returncode == 0, second.stderr
    assert re.search(r"sync \S+: incremental: \d+ job\(s\) changed", second.stderr), second.stderr
    plain = cnb.run("q")
    assert plain.returncode == 0 and "debug " not in plain.stderr, plain.stderr
    rm = cnb.run("--debug", "rm", "--force", job_id)
    assert rm.returncode == 0, rm.stderr
    # The action and its constraint, scoped to our Owner and this home.
    assert re.search(r'remove on schedd \S+: .*CondorNbJobDir.*Owner == "', rm.stderr), rm.stderr
