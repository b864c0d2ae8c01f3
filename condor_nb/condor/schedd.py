"""The schedd client: the only module that imports the HTCondor bindings.

A small interface (:class:`ScheddClient`) with one implementation on the v2
bindings. Client configuration is process-global in HTCondor, so it is decided
once, before ``htcondor2`` is first imported (:func:`configure_bindings`).
Note for the Jupyter side: these calls hold the GIL; run them in a worker process.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, NoReturn, Protocol

from condor_nb.condor import auth_refused, site_hints, transient

# Re-exported: the schedd client is where callers find the bindings' configuration.
from condor_nb.condor.bindings import client_params as client_params
from condor_nb.condor.bindings import condor_config_for as condor_config_for
from condor_nb.condor.bindings import configure_bindings as configure_bindings
from condor_nb.condor.deadline import (
    ChildError,
    DeadlineExceeded,
    call_reporting_with_deadline,
    call_with_deadline,
)
from condor_nb.errors import (
    CredentialsError,
    ScheddUnavailableError,
    SubmitError,
)
from condor_nb.settings import Settings

Action = Literal["hold", "release", "remove"]
log = logging.getLogger(__name__)
#: Waits between tries of a transient failure: 0.5 s, doubling, at most 4 s.
_RETRY_WAIT = {"multiplier": 0.5, "min": 0.5, "max": 4.0}
#: How long a collector that lists no schedd is asked again (a schedd restarting).
_UNLISTED_WAIT = 30.0
_RETRIEVE_FACTOR = 30  # 30 min with the default schedd_timeout


class ScheddClient(Protocol):
    name: str

    def submit(
        self,
        description: Mapping[str, str],
        *,
        spool: bool = True,
        itemdata: Sequence[Mapping[str, str]] | None = None,
        on_submitted: Callable[[int], None] | None = None,
    ) -> tuple[int, int]: ...

    def query(self, constraint: str, projection: Sequence[str]) -> list[Mapping[str, Any]]: ...

    def history(
        self, constraint: str, projection: Sequence[str], match: int = -1
    ) -> list[Mapping[str, Any]]: ...

    def summary(self, constraint: str) -> Mapping[str, Any]: ...

    def act(self, action: Action, constraint: str, reason: str) -> int: ...

    def edit(self, constraint: str, attribute: str, value: str) -> int: ...

    def retrieve(self, constraint: str) -> None: ...

    def whoami(self) -> str | None: ...


def _parses(constraint: str) -> bool:
    """Does ``constraint`` parse as a ClassAd expression (asked only after a failure)?"""
    import classad2

    try:
        classad2.ExprTree(constraint)
    except Exception:
        return False
    return True


class HTCondorSchedd:
    """:class:`ScheddClient` on the htcondor2 bindings (remote submission with spooling)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._htcondor = configure_bindings(settings)
        self._schedd = self._locate()

    def _locate(self) -> Any:
        """Find the schedd; a failed first try is retried (after a daemon restart the
        client's cached security session is stale and only the next call renews it).
        A collector that answers but lists no schedd is asked again for up to
        _UNLISTED_WAIT s: a restarting schedd withdraws its ad and advertises anew."""
        unlisted_until = time.monotonic() + _UNLISTED_WAIT
        for delay in (0.2, 1.0, None):
            try:
                return self._locate_once()
            except ScheddUnavailableError as exc:
                if exc.unlisted:
                    log.info("%s; asking again for up to %g s", exc.message, _UNLISTED_WAIT)
                    while time.monotonic() + 2.0 < unlisted_until:
                        time.sleep(2.0)
                        with contextlib.suppress(ScheddUnavailableError):
                            return self._locate_once()
                if delay is None:
                    raise
                log.info("finding the schedd failed, trying again in %g s: %s", delay, exc)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _locate_once(self) -> Any:
        h = self._htcondor
        where = self._settings.collector or h.param.get("COLLECTOR_HOST") or "(none)"
        try:
            collector = (
                h.Collector(self._settings.collector)
                if self._settings.collector
                else (h.Collector())
            )
            limit = self._settings.schedd_timeout
            if self._settings.schedd:
                wanted = self._settings.schedd
                ad = call_with_deadline(
                    lambda: collector.locate(h.DaemonType.Schedd, wanted), limit
                )
            else:
                ads = call_with_deadline(lambda: collector.locateAll(h.DaemonType.Schedd), limit)
                if not ads:
                    unlisted = ScheddUnavailableError(
                        f"the collector at {where} knows no schedd",
                        hint=site_hints.schedd_not_listed(where),
                    )
                    unlisted.unlisted = True
                    raise unlisted
                ad = ads[0]
        except ScheddUnavailableError:
            raise
        except DeadlineExceeded:
            raise ScheddUnavailableError(
                f"finding the schedd: the collector at {where} did not answer within "
                f"{self._settings.schedd_timeout:g} s",
                hint="it may be overloaded, hung or cut off; try again later "
                "(CONDOR_NB_SCHEDD_TIMEOUT sets how long to wait)",
            ) from None
        except Exception as exc:
            raise ScheddUnavailableError(
                f"cannot reach the schedd through the collector at {where}: {exc}",
                hint=site_hints.collector_unreachable(where),
            ) from exc
        if ad is None:
            raise ScheddUnavailableError(f"no schedd named {self._settings.schedd!r} at {where}")
        self.name = str(ad.get("Name"))
        self._ad = ad
        log.debug("schedd %s at %s (collector %s)", self.name, ad.get("MyAddress"), where)
        return h.Schedd(ad)

    def _bounded(
        self, what: str, call: Callable[[], Any], limit: float | None = None, end: float = 0.0
    ) -> Any:
        """``call()`` with a time bound (see :mod:`condor_nb.condor.deadline`): a schedd that does
        not answer in ``limit`` seconds (``schedd_timeout``), or by the monotonic time
        ``end`` if given, is an error (exit 5), not a hang."""
        limit = self._settings.schedd_timeout if limit is None else limit
        seconds = end - time.monotonic() if end else limit
        try:
            return call_with_deadline(call, max(seconds, 0.1))
        except DeadlineExceeded:
            raise ScheddUnavailableError(
                f"{what}: the schedd {self.name} did not answer within {limit:g} s",
                hint="it may be overloaded, hung or cut off; try again later "
                "(CONDOR_NB_SCHEDD_TIMEOUT sets how long to wait)",
            ) from None
        # A ChildError (the call raised in the child) keeps the bindings' message and
        # exception type: condor_nb.condor.transient classifies it.

    def _retrying(
        self,
        what: str,
        call: Callable[[], Any],
        budget: float | None = None,
        constraint: str | None = None,
        writes: bool = False,
    ) -> Any:
        """Idempotent calls survive a schedd restart: only transient failures
        (:mod:`condor_nb.condor.transient`) are tried again, with exponential waits,
        each logged; anything else is raised at once, as what it is.

        Every try, and all of them together, stay within ``budget`` seconds
        (``schedd_timeout`` unless given). Failed tries are retried for up to
        ``schedd_timeout``: a restarting access point's schedd takes 15-20 s to answer
        again (and to advertise its new address), longer than the first waits alone."""
        limit = self._settings.schedd_timeout if budget is None else budget
        deadline = time.monotonic() + limit
        retry_until = min(deadline, time.monotonic() + self._settings.schedd_timeout)
        try:
            return self._bounded(what, call, limit, deadline)
        except ScheddUnavailableError:
            raise
        except Exception as exc:
            if not transient.is_transient(exc):
                self._raise_failure(what, exc, constraint, 1, writes)
            first = exc
        # tenacity imports asyncio and tornado (~0.1 s): only once a call has failed.
        import tenacity

        def out_of_time(state: tenacity.RetryCallState) -> bool:
            return time.monotonic() + (state.upcoming_sleep or 0.0) >= retry_until

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.info(
                "%s on schedd %s failed (try %d), trying again in %.1f s: %s",
                what, self.name, state.attempt_number, state.upcoming_sleep, exc,
            )  # fmt: skip

        policy = tenacity.Retrying(
            retry=tenacity.retry_if_exception(transient.is_transient),
            wait=tenacity.wait_exponential(**_RETRY_WAIT),
            stop=out_of_time,
            before_sleep=before_sleep,
            reraise=True,
        )
        tries = 0
        try:
            for attempt in policy:
                with attempt:
                    tries += 1
                    if tries == 1:  # the first try, made above, goes through the policy too
                        raise first
                    # A restarted schedd has a new address: find it again.
                    with contextlib.suppress(ScheddUnavailableError):
                        self._schedd = self._locate()
                    return self._bounded(what, call, limit, deadline)
        except ScheddUnavailableError:
            raise
        except Exception as exc:
            self._raise_failure(what, exc, constraint, tries, writes)
        raise AssertionError("unreachable")

    def _raise_failure(
        self, what: str, exc: Exception, constraint: str | None, tries: int, writes: bool
    ) -> NoReturn:
        """Raise what ``exc`` means: unavailable (after the tries a transient failure
        deserves), a refused credential, an unusable constraint, or the schedd's answer
        (for a write, a :class:`SubmitError` once a handshake showed the credential is
        not the cause)."""
        parses = _parses(constraint) if constraint is not None else None
        kind = transient.of(exc, constraint_parses=parses)
        if kind is transient.Kind.TRANSIENT:
            raise ScheddUnavailableError(
                f"{what} failed on schedd {self.name} ({tries} tr{'y' if tries == 1 else 'ies'}):"
                f" {exc}",
                hint="the schedd may be restarting or unreachable; try again shortly",
            ) from exc
        if kind is transient.Kind.REFUSED:
            raise auth_refused.refused(self._settings, what, self.name, str(exc)) from None
        if kind is transient.Kind.INVALID:
            raise transient.InvalidConstraintError(
                f"{what}: the schedd {self.name} cannot use the constraint {constraint!r}: {exc}",
                hint="a ClassAd expression was expected (HTCondor manual, 'ClassAd syntax'); "
                "if condor_nb built it, this is a bug: please report it",
            ) from exc
        if writes:
            self._raise_if_refused(what, exc)
            raise SubmitError(f"{what} failed on schedd {self.name}: {exc}") from exc
        raise transient.ScheddCallError(
            f"{what} failed on schedd {self.name}: {exc}",
            hint="the schedd answered with an error that trying again would not change",
        ) from exc

    def submit(
        self,
        description: Mapping[str, str],
        *,
        spool: bool = True,
        itemdata: Sequence[Mapping[str, str]] | None = None,
        on_submitted: Callable[[int], None] | None = None,
    ) -> tuple[int, int]:
        """Submit and (with ``spool``) upload inputs as one operation: on any failure
        the cluster is removed. Without ``spool`` the access point must see the input
        files at the same paths (a shared filesystem); nothing is uploaded."""
        h = self._htcondor
        if log.isEnabledFor(logging.DEBUG):
            # Secrets travel as a file (encrypt_input_files), never in the description.
            text = "\n".join(f"  {key} = {value}" for key, value in description.items())
            many = f", {len(itemdata)} proc(s) of itemdata" if itemdata else ""
            log.debug("submit description sent to schedd %s%s:\n%s", self.name, many, text)
        submit = h.Submit(dict(description))
        limit = self._settings.schedd_timeout
        cluster: int | None = None
        spooled_procs = 0  # set once the jobs are queued and their inputs uploaded

        def remember(value: Any) -> None:
            nonlocal cluster, spooled_procs
            if isinstance(value, tuple):  # ("spooled", number of procs)
                spooled_procs = int(value[1])
                return
            cluster = int(value)
            if on_submitted is not None:
                on_submitted(cluster)

        def work(report: Callable[[Any], None]) -> int:
            # In a child process with a time bound (condor_nb.condor.deadline): a hung schedd
            # or a stalled upload cannot hold the caller for ever.
            items: Iterable[Mapping[str, str]] | None = iter(itemdata) if itemdata else None
            result = self._schedd.submit(submit, spool=spool, itemdata=items)
            report(int(result.cluster()))
            if spool:
                self._schedd.spool(result)
            report(("spooled", int(result.num_procs())))
            # No reschedule() here: the bindings' submit already sends the schedd a
            # RESCHEDULE once the jobs are committed (htcondor2/schedd.cpp,
            # _schedd_submit), and the schedd sends one itself once spooled inputs
            # release the jobs. A third would only cost a round trip per submission.
            return int(result.num_procs())

        def send() -> int:
            return call_reporting_with_deadline(
                work, limit, remember, seconds_after_report=limit * _RETRIEVE_FACTOR
            )

        try:
            try:
                procs = send()
            except ChildError as exc:
                # A submission that never reached the schedd submitted nothing: resend once.
                if cluster is not None or not transient.never_reached(exc):
                    raise
                log.info("submitting to schedd %s failed, sending it once more: %s", self.name, exc)
                self._schedd = self._locate()
                procs = send()
        except DeadlineExceeded:
            if spooled_procs and cluster is not None:  # queued and uploaded: submitted
                return cluster, spooled_procs
            done = "nothing was submitted"
            if cluster is not None:
                self._remove_quietly(cluster, "condor_nb: the submission timed out")
                done = f"job {cluster} was removed"
            raise ScheddUnavailableError(
                f"submitting the job: the schedd {self.name} did not answer within {limit:g} s "
                f"({done})",
                hint="it may be overloaded, hung or cut off; try again later "
                "(CONDOR_NB_SCHEDD_TIMEOUT sets how long to wait)",
            ) from None
        except BaseException as exc:
            if cluster is None:
                if not isinstance(exc, ChildError):
                    raise
                if transient.of(exc) is transient.Kind.REFUSED:  # a credential problem
                    raise CredentialsError(
                        f"the schedd {self.name} did not accept the credential presented: {exc}",
                        hint="`condor_nb auth status` shows which credential was presented; an "
                        "unknown issuer, an unmapped subject, another audience or an expired "
                        "token are the usual causes (ask the access point's admins)",
                    ) from None
                raise SubmitError(f"the schedd {self.name} refused the job: {exc}") from None
            step = "uploading the inputs" if spool else "recording the job"
            self._remove_quietly(cluster, f"condor_nb: {step} failed: {exc}")
            if isinstance(exc, Exception):
                raise SubmitError(
                    f"{step} of job {cluster} failed: {exc}",
                    hint="the job was removed; check the input files and submit again",
                ) from exc
            raise
        assert cluster is not None
        return cluster, procs

    def _remove_quietly(self, cluster: int, reason: str) -> None:
        # If even this fails, the next sync removes the abandoned job (tracking.py).
        with contextlib.suppress(Exception):
            self.act("remove", f"ClusterId == {cluster}", reason)

    def query(self, constraint: str, projection: Sequence[str]) -> list[Mapping[str, Any]]:
        # The ClassAds are returned as they are (they are Mappings): converting
        # 10,000 of them to dicts costs more than the query, and most callers
        # read only a few attributes of each.
        proj = list(projection)
        ads = self._retrying(
            "query", lambda: self._schedd.query(constraint, proj), constraint=constraint
        )
        return list(ads)

    def summary(self, constraint: str) -> Mapping[str, Any]:
        """Counts of the matching jobs by status (one small ad): ``Jobs``, ``Idle``, ..."""
        opts = self._htcondor.QueryOpt.SummaryOnly
        ads = self._retrying(
            "summary query",
            lambda: self._schedd.query(constraint, [], opts=opts),
            constraint=constraint,
        )
        return ads[0] if ads else {}

    def history(
        self, constraint: str, projection: Sequence[str], match: int = -1
    ) -> list[Mapping[str, Any]]:
        proj = list(projection)
        return self._retrying(  # type: ignore[no-any-return]
            "history query",
            lambda: list(self._schedd.history(constraint, proj, match=match)),
            constraint=constraint,
        )

    def act(self, action: Action, constraint: str, reason: str) -> int:
        h = self._htcondor
        kind = {
            "hold": h.JobAction.Hold,
            "release": h.JobAction.Release,
            "remove": h.JobAction.Remove,
        }[action]
        log.debug("%s on schedd %s: %s", action, self.name, constraint)
        # A plain string reason is silently dropped by the v2 bindings: pass (text, code).
        result = self._retrying(
            action,
            lambda: self._schedd.act(kind, constraint, (reason, 0)),
            constraint=constraint,
            writes=True,
        )
        if result is None:
            return 0
        log.debug(
            "%s on schedd %s: %s done, %s refused (permission denied)",
            action, self.name, result.get("TotalSuccess", 0),
            result.get("TotalPermissionDenied", 0),
        )  # fmt: skip
        return int(result.get("TotalSuccess", 0))

    def edit(self, constraint: str, attribute: str, value: str) -> int:
        """Set ``attribute`` to the ClassAd expression ``value`` in the matching jobs."""
        return int(
            self._retrying(
                f"editing {attribute}",
                lambda: self._schedd.edit(constraint, attribute, value),
                constraint=constraint,
                writes=True,
            )
        )

    def _raise_if_refused(self, what: str, exc: Exception) -> None:
        """A CredentialsError if ``exc`` was the schedd refusing our credential. The
        bindings' act() says only "Error when performing action": a WRITE handshake
        (bounded) tells a refused token from any other failure."""
        reason = str(exc) if auth_refused.is_refusal(exc) else None
        if reason is None:
            ping = self._htcondor.ping
            reason = auth_refused.write_refused(
                lambda level: self._bounded("ping", lambda: ping(self._ad, level), 20)
            )
        if reason is not None:
            raise auth_refused.refused(self._settings, what, self.name, reason) from None

    def retrieve(self, constraint: str) -> None:
        # Outputs can be large: a transfer gets _RETRIEVE_FACTOR times the usual bound.
        budget = self._settings.schedd_timeout * _RETRIEVE_FACTOR
        self._retrying(
            "retrieving outputs",
            lambda: self._schedd.retrieve(constraint),
            budget,
            constraint=constraint,
        )

    def whoami(self) -> str | None:
        """The user the schedd maps our credential to (the Owner of our jobs), or None.

        Asked with the security handshake the bindings do anyway (``ping``, WRITE
        level): ``MyRemoteUserName`` is "user@UID_DOMAIN". Bounded like every other call:
        ``htcondor2.ping`` has no time-out of its own (against a schedd that accepts the
        connection and never answers, a SIGSTOPped one, it waited over 100 s).
        """
        ping, ad = self._htcondor.ping, self._ad
        try:
            answer = self._bounded("asking the schedd who we are", lambda: ping(ad, "WRITE"))
        except ScheddUnavailableError:
            raise  # a hung schedd: said as such, not taken for "no answer"
        except Exception:
            return None
        name = str(answer.get("MyRemoteUserName") or "")
        user = name.split("@", 1)[0]
        return user or None


_clients: dict[tuple[Any, ...], HTCondorSchedd] = {}


def client_for(settings: Settings) -> ScheddClient:
    """One client per (pool, schedd) per process: locating the schedd costs a round trip."""
    key = (condor_config_for(settings), settings.collector, settings.schedd)
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = HTCondorSchedd(settings)
    return client
