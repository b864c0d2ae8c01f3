"""Where the dask scheduler listens, so that workers on the pool's execute nodes reach it.

The scheduler runs in the notebook's process; the workers (HTCondor jobs on the
execute nodes) connect back to it. dask's own default listens on every interface
and tells the workers the address of the interface that routes to the Internet
(``8.8.8.8``), or the host name's address when there is no such route. On a
notebook host with two networks (a public one with the default route, a private
cluster network that the execute nodes share) that is the wrong one: the workers
try to reach an address they cannot, and the session waits for nothing.

The pool's own hosts tell us which network the execute nodes share: this host
already talks to the pool's collector. :func:`choose_scheduler_host` picks the
local address through which the collector is reached (no packet is sent: a UDP
socket is only *connected*, which makes the kernel choose the route). A user
overrides it with ``host=`` / ``contact_address=`` (or dask-jobqueue's
``interface=``).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from condor_nb.condor import bindings, condor_config, schedd
from condor_nb.settings import Settings

log = logging.getLogger("condor_nb.dask")

#: HTCondor's default port, when COLLECTOR_HOST names none.
DEFAULT_COLLECTOR_PORT = 9618
_SINFUL = re.compile(r"^<([^:>?]+|\[[^\]]+\])(?::(\d+))?")


@dataclass(frozen=True)
class SchedulerHost:
    """The address to listen on and why it was chosen (logged, and said in errors)."""

    address: str
    why: str


def collector_endpoints(value: str | None) -> list[tuple[str, int]]:
    """``COLLECTOR_HOST`` as (host, port) pairs: a list, ``host:port`` or sinful strings.

    >>> collector_endpoints("cm.example.edu:9618, <10.0.0.2:9620?sock=collector>")
    [('cm.example.edu', 9618), ('10.0.0.2', 9620)]
    >>> collector_endpoints("cm.example.edu")
    [('cm.example.edu', 9618)]
    >>> collector_endpoints(None)
    []
    """
    found: list[tuple[str, int]] = []
    for item in re.split(r"[\s,]+", value or ""):
        if not item or "$(" in item:
            continue
        sinful = _SINFUL.match(item)
        if sinful:
            host, port = sinful.group(1).strip("[]"), sinful.group(2)
        elif item.count(":") == 1:
            host, port = item.split(":")
        else:
            host, port = item, None
        found.append((host, int(port) if port and port.isdigit() else DEFAULT_COLLECTOR_PORT))
    return found


def local_address_towards(host: str, port: int) -> str | None:
    """This host's address on the route to ``host`` (None: no route, unknown name)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError):
        return None
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect(sockaddr)
            except OSError:
                continue
            return str(probe.getsockname()[0])
    return None


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def choose_scheduler_host(endpoints: Sequence[tuple[str, int]]) -> SchedulerHost | None:
    """The local address that routes to the first reachable pool host, if any.

    A collector on this very host (loopback) says nothing about the execute nodes'
    network: it is skipped.
    """
    for host, port in endpoints:
        address = local_address_towards(host, port)
        if address is None or _is_loopback(address):
            continue
        return SchedulerHost(
            address, f"the interface through which this host reaches the collector {host}"
        )
    return None


def scheduler_host_for(settings: Settings) -> SchedulerHost | None:
    """:func:`choose_scheduler_host` for the pool the settings point at."""
    value = _collector_value(settings)
    chosen = choose_scheduler_host(collector_endpoints(value))
    if chosen is None:
        log.warning(
            "could not tell which interface reaches the pool's collector (%s): the dask "
            "scheduler uses dask's default address; pass host=... if workers cannot connect",
            value or "COLLECTOR_HOST unset",
        )
    return chosen


def _collector_value(settings: Settings) -> str | None:
    if settings.collector:
        return settings.collector

    return schedd.client_params(settings, ["COLLECTOR_HOST"]).get("COLLECTOR_HOST")


def workers_share_this_host(settings: Settings, profile: str) -> bool:
    """Do the workers run on this machine (the personal pool, used as such)?

    Only with the ``personal`` profile, and only when the client configuration is the
    personal pool's (or names a collector on this machine's loopback, as the personal
    pool's does when CONDOR_CONFIG points at it): on a notebook host whose
    ``/etc/condor/condor_config`` names a site, the default profile is still
    ``personal`` but the workers run elsewhere.
    """
    if profile != "personal":
        return False

    if condor_config.choose(settings, set_by_us=bindings._set_by_us).is_personal_pool:
        return True
    endpoints = collector_endpoints(_collector_value(settings))
    routes = [local_address_towards(host, port) for host, port in endpoints]
    return bool(routes) and all(r is not None and _is_loopback(r) for r in routes)
