"""Which address the dask scheduler listens on, away from the personal pool (real sockets)."""

from __future__ import annotations

import pytest

from condor_nb.dask import network
from condor_nb.dask.session import scheduler_options


@pytest.mark.parametrize(
    ("value", "endpoints"),
    [
        ("cm.example.edu", [("cm.example.edu", 9618)]),
        ("cm.example.edu:9620", [("cm.example.edu", 9620)]),
        ("<10.0.0.2:9618?addrs=10.0.0.2-9618&sock=collector>", [("10.0.0.2", 9618)]),
        ("cm1.example.edu, cm2.example.edu:9619", [("cm1.example.edu", 9618),
                                                   ("cm2.example.edu", 9619)]),
        ("$(CONDOR_HOST)", []),
        ("", []),
        (None, []),
    ],
)  # fmt: skip
def test_collector_endpoints(value: str | None, endpoints: list[tuple[str, int]]) -> None:
    assert network.collector_endpoints(value) == endpoints


def test_loopback_collector_says_nothing_about_the_execute_nodes() -> None:
    assert network.local_address_towards("127.0.0.1", 9618) == "127.0.0.1"
    assert network.choose_scheduler_host([("127.0.0.1", 9618)]) is None


def test_scheduler_options_choose_the_pool_route_unless_told() -> None:
    found = network.SchedulerHost("10.77.0.100", "the interface ... collector cm")
    common = {"port": 0, "dashboard_address": None}
    assert scheduler_options(local=True, host=None, contact_address=None, **common,
                             pool_host=lambda: found)["host"] == "127.0.0.1"  # fmt: skip
    assert scheduler_options(local=False, host=None, contact_address=None, **common,
                             pool_host=lambda: found)["host"] == "10.77.0.100"  # fmt: skip
    given = scheduler_options(local=False, host="0.0.0.0", contact_address=None, **common,
                              pool_host=lambda: found)  # fmt: skip
    assert given["host"] == "0.0.0.0"
    told = scheduler_options(local=False, host=None, contact_address="tcp://nat:1", **common,
                             pool_host=lambda: found)  # fmt: skip
    assert "host" not in told and told["contact_address"] == "tcp://nat:1"
    assert "host" not in scheduler_options(local=False, host=None, contact_address=None,
                                           **common)  # fmt: skip
