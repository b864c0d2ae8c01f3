"""The one classifier of schedd errors: what is worth another try (table of cases).

Messages are the htcondor2 bindings' own, measured against the personal pool
(see condor_nb/condor/transient.py)."""

from __future__ import annotations

import doctest

import pytest

from condor_nb.condor import transient
from condor_nb.condor.deadline import ChildError
from condor_nb.condor.transient import Kind

T, R, INV, OTH = Kind.TRANSIENT, Kind.REFUSED, Kind.INVALID, Kind.OTHER
H = "HTCondorException"

CASES = [
    # nothing listens at the schedd's address (each call says it its own way)
    ("Failed to connect to <127.0.0.1:9>", H, None, T),
    ("Failed to fetch ads from schedd, errmsg=CEDAR:6001:Failed to connect to <127.0.0.1:9>",
     H, True, T),
    ("DCSchedd::receiveJobSandbox:6001:Failed to connect to schedd", H, None, T),
    ("Failed to connect to schedd.", H, None, T),
    ("Unable to connect to the remote daemon.", H, None, T),
    # a restarted or hung schedd
    ("SECMAN:2007:Failed to end classad message (resume session)", H, None, T),
    ("SECMAN:2007: This service is running, but did not respond in a reasonable time", H, None,
     T),
    ("Failed to read resume session response", H, None, T),
    ("SECMAN:2003:TCP connection to <10.0.0.1:9618> failed.", H, None, T),
    # a query with an empty answer: a broken connection, or a constraint it cannot parse
    ("Failed to fetch ads from schedd, errmsg=", H, True, T),
    ("Failed to fetch ads from schedd, errmsg=", H, False, INV),
    ("Failed to fetch ads from schedd, errmsg=", H, None, OTH),
    # constraints the bindings reject before sending
    ("invalid constraint", "ValueError", None, INV),
    ("The job_spec string must be a clusterID[.procID] or the string form of an ExprTree.",
     "ValueError", None, INV),
    ("Unable to parse string into a ClassAd.", "ClassAdException", None, INV),
    # the credential: never transient, even when the connection part looks like one
    ("AUTHENTICATE:1003:Failed to authenticate with any method", H, None, R),
    ("SECMAN:2010:Received \"DENIED\" from server for user alice", H, None, R),
    ("Failed to connect: PERMISSION DENIED to alice@pool", H, None, R),
    # answers another try would not change
    ("Unable to edit jobs matching constraint", H, True, OTH),
    ("Error when performing action on the schedd.", H, True, OTH),
    ("Failed to create job ad, errmsg=Submit:-1:Cannot set hold", H, None, OTH),
    ("the process making the call died", "ChildDied", None, OTH),
]  # fmt: skip


@pytest.mark.parametrize(("message", "kind", "parses", "expected"), CASES)
def test_classify(message: str, kind: str, parses: bool | None, expected: Kind) -> None:
    assert transient.classify(message, kind, constraint_parses=parses) is expected


def test_a_child_error_is_classified_by_its_original_type() -> None:
    assert transient.of(ChildError("ValueError", "bad")) is Kind.INVALID
    assert transient.is_transient(ChildError(H, "Failed to connect to schedd."))
    assert not transient.is_transient(ChildError(H, "AUTHENTICATE:1003:Failed to authenticate"))
    assert not transient.is_transient(RuntimeError("Unable to edit jobs matching constraint"))


def test_only_a_call_that_never_connected_may_be_sent_twice() -> None:
    assert transient.never_reached(ChildError(H, "Failed to connect to schedd, errmsg=..."))
    assert transient.never_reached(ChildError(H, "SECMAN:2007:resume session"))
    assert not transient.never_reached(ChildError(H, "timed out while spooling"))
    assert not transient.never_reached(ChildError(H, "SECMAN:2010: DENIED"))


def test_doctests() -> None:
    assert doctest.testmod(transient).failed == 0
