"""Which schedd errors are worth another try: the one classifier (pure, table-tested).

The bindings say what went wrong only in their message (and in the exception's type,
which :class:`condor_nb.condor.deadline.ChildError` keeps as ``kind``). Only a call
that did not reach the schedd, or got no answer from it, is transient: a restarting
schedd (new address, stale security session), a hung or overloaded one. A refused
credential, a constraint the schedd cannot parse or anything else it answered is
not: another try gives the same answer later, and the user deserves that answer now.

Messages measured with the htcondor2 bindings (25.x) against a 23.9 schedd:

- nothing listens at the address: ``Failed to connect to <127.0.0.1:9>`` (history),
  ``Failed to fetch ads from schedd, errmsg=CEDAR:6001:Failed to connect to ...``
  (query), ``DCSchedd::receiveJobSandbox:6001:Failed to connect to schedd``
  (retrieve), ``Failed to connect to schedd.`` (edit), ``Unable to connect to the
  remote daemon.`` (ping);
- after a restart or a hang: ``SECMAN:2007 ... resume session``, ``SECMAN:2007 ...
  did not respond in a reasonable time``, ``Failed to read resume session response``;
- a constraint that does not parse: ``invalid constraint`` (history), ``The job_spec
  string must be a clusterID[.procID] or the string form of an ExprTree.`` (act,
  edit, retrieve), and for a query only ``Failed to fetch ads from schedd, errmsg=``
  with nothing after it (hence ``constraint_parses``);
- a refused credential: ``AUTHENTICATE:1003:Failed to authenticate with any method``,
  ``PERMISSION DENIED`` (see :mod:`condor_nb.condor.auth_refused`).
"""

from __future__ import annotations

import enum

from condor_nb.errors import ScheddUnavailableError, SpecError


class Kind(enum.Enum):
    TRANSIENT = "transient"  # did not reach the schedd, or no answer: try again
    REFUSED = "refused"  # the schedd did not accept our credential
    INVALID = "invalid"  # the constraint (or expression) cannot be used
    OTHER = "other"  # any other answer: raised as it is


#: Authentication itself failed (the credential): never transient.
REFUSAL_MARKERS = ("AUTHENTICATE", "Failed to authenticate", "PERMISSION DENIED", "SECMAN:2010")
#: The call did not reach the schedd, or the schedd did not answer.
TRANSIENT_MARKERS = (
    "Failed to connect",
    "Unable to connect",
    ":6001:",  # CEDAR: connect failed
    # The security handshake (2003: TCP connection failed; 2007: no answer in time, or
    # a stale session after a restart). Refusals (2010 DENIED) are caught first.
    "SECMAN:",
    "resume session",
    "Connection refused",
    "Connection reset",
    "timed out",
)
#: A query whose constraint the schedd could not parse answers only this.
EMPTY_FETCH = "Failed to fetch ads from schedd, errmsg="
INVALID_MARKERS = ("invalid constraint", "job_spec string must be", "Unable to parse")
#: Exception types (by name) the bindings raise for an argument they cannot use.
INVALID_KINDS = ("ValueError", "ClassAdException", "ClassAdParseError")


def classify(message: str, kind: str = "", *, constraint_parses: bool | None = None) -> Kind:
    """What an error of type name ``kind`` with this ``message`` means.

    ``constraint_parses`` tells, when known, whether the call's constraint parses as
    a ClassAd expression (a query's error does not say so).

    >>> classify("Failed to connect to <127.0.0.1:9>", "HTCondorException")
    <Kind.TRANSIENT: 'transient'>
    >>> classify("invalid constraint", "ValueError")
    <Kind.INVALID: 'invalid'>
    """
    if any(marker in message for marker in REFUSAL_MARKERS):
        return Kind.REFUSED
    if constraint_parses is False:
        return Kind.INVALID
    if any(marker in message for marker in INVALID_MARKERS) or kind in INVALID_KINDS:
        return Kind.INVALID
    if any(marker in message for marker in TRANSIENT_MARKERS):
        return Kind.TRANSIENT
    if message.strip() == EMPTY_FETCH.strip():
        # A constraint that parses here and an empty answer: the connection broke.
        return Kind.TRANSIENT if constraint_parses else Kind.OTHER
    return Kind.OTHER


def of(exc: BaseException, *, constraint_parses: bool | None = None) -> Kind:
    """:func:`classify` for an exception (a ChildError carries the original type name)."""
    kind = str(getattr(exc, "kind", "") or type(exc).__name__)
    return classify(str(exc), kind, constraint_parses=constraint_parses)


def is_transient(exc: BaseException) -> bool:
    """Worth another try (the retry predicate)."""
    return of(exc) is Kind.TRANSIENT


def never_reached(exc: BaseException) -> bool:
    """The call surely did not reach the schedd (no connection was made), so even a
    call that must not run twice (a submission) can be sent again."""
    text = str(exc)
    refused = of(exc) is Kind.REFUSED
    return not refused and ("Failed to connect" in text or "SECMAN" in text)


class InvalidConstraintError(SpecError):
    """The schedd cannot use a constraint (or an expression) it was given."""


class ScheddCallError(ScheddUnavailableError):
    """The schedd answered with an error another try would not change."""
