"""Network and parity checks, and the explanation of missing workers (pure)."""

from __future__ import annotations

import pytest

from condor_nb.dask import checks
from condor_nb.errors import ConfigError

CLIENT = {"host": {"python": "3.11.7.final.0"},
          "packages": {"dask": "2026.8.0", "distributed": "2026.8.0", "cloudpickle": "3.1.2",
                       "msgpack": "1.2.4"}}  # fmt: skip


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("tcp://127.0.0.1:8786", True),
        ("tcp://localhost:8786", True),
        ("tls://[::1]:8786", True),
        ("127.0.0.2:1", True),
        ("tcp://10.1.2.3:8786", False),
        ("tcp://ap40.uw.osg-htc.org:8786", False),
        ("tcp://0.0.0.0:8786", False),
    ],
)
def test_loopback_detection(address: str, loopback: bool) -> None:
    assert checks.is_loopback(checks.address_host(address)) is loopback


def test_loopback_refused_for_remote_workers_only() -> None:
    local = "tcp://127.0.0.1:1"
    checks.check_contact_address(listen=local, contact=local, workers_are_local=True,
                                 profile="personal")  # fmt: skip
    with pytest.raises(ConfigError, match=r"advertises tcp://127\.0\.0\.1:1") as err:
        checks.check_contact_address(listen=local, contact=local, workers_are_local=False,
                                     profile="ospool")  # fmt: skip
    assert "contact_address" in str(err.value) and "ospool" in str(err.value)
    with pytest.raises(ConfigError, match="listens on"):
        checks.check_contact_address(listen=local, contact="tcp://1.2.3.4:1",
                                     workers_are_local=False, profile="campus")  # fmt: skip
    checks.check_contact_address(listen="tcp://10.0.0.5:1", contact="tcp://1.2.3.4:1",
                                 workers_are_local=False, profile="campus")  # fmt: skip


def test_versions_match_and_mismatch() -> None:
    same_release = {**CLIENT, "host": {"python": "3.11.9.final.0"}}
    assert checks.compare_versions(CLIENT, same_release) == []
    packages = {"dask": "2026.8.0", "cloudpickle": "3.1.2", "msgpack": "1.2.4"}
    worker = {"host": {"python": "3.13.1.final.0"}, "packages": packages}
    problems = checks.compare_versions(CLIENT, worker)
    assert problems == ["Python: client 3.11.7, worker 3.13.1",
                        "distributed: client 2026.8.0, worker missing"]  # fmt: skip


def test_parity_checker_reports_plainly() -> None:
    checker = checks.ParityChecker(CLIENT, "python3")
    assert checker.check("w-0", "tcp://a:1", CLIENT) is None
    assert checker.report() is None
    found = checker.check("w-1", "tcp://b:1", {"host": {"python": "3.12.0.final.0"},
                                               "packages": CLIENT["packages"]})  # fmt: skip
    assert found is not None and checker.checked == 2
    report = checker.report() or ""
    assert "worker w-1 (tcp://b:1): Python: client 3.11.7, worker 3.12.0" in report
    assert "fix:" in report and "'python3'" in report


def test_explain_missing_workers() -> None:
    queue = [
        {"ClusterId": 5, "ProcId": 0, "JobStatus": 1},
        {"ClusterId": 5, "ProcId": 1, "JobStatus": 5, "HoldReason": "image not found"},
        {"ClusterId": 5, "ProcId": 2, "JobStatus": 2},
    ]
    history = [{"ClusterId": 4, "ProcId": 0, "JobStatus": 4, "ExitCode": 1}]
    text = checks.explain_missing_workers(queue, history, wanted=4, connected=0,
                                          scheduler="tcp://x:1", python="python3")  # fmt: skip
    assert text.startswith("0 of 4 dask workers connected to tcp://x:1.")
    assert "1 worker job(s) wait for a slot" in text
    assert "5.1 is held: image not found" in text
    assert "1 worker job(s) run but only 0 connected" in text
    assert "4.0 exited with code 1" in text and "distributed" in text
    nothing = checks.explain_missing_workers([], [], wanted=1, connected=0, scheduler="s",
                                             python="p")  # fmt: skip
    assert "No worker job of this session is on the schedd" in nothing


def _running(proc: int, name: str, since: int) -> dict[str, object]:
    return {"ClusterId": 12, "ProcId": proc, "JobStatus": 2, "DaskWorkerName": name,
            "EnteredCurrentStatus": since, "RemoteHost": "slot1_1@ep1.example.edu"}  # fmt: skip


def test_running_workers_that_never_connect_are_named() -> None:
    queue = [
        _running(0, "cnb-a-0", 1000),  # 50 s, never connected: the one to report
        _running(1, "cnb-a-1", 1000),  # connected (processes > 1: name-0)
        _running(2, "cnb-a-2", 1030),  # 20 s: may still be importing dask
        {**_running(3, "cnb-a-3", 900), "JobStatus": 1},  # idle: no connection expected
    ]
    stuck = checks.never_connected(
        queue, connected_names={"cnb-a-1-0"}, now=1050, grace=checks.connect_grace(60)
    )
    assert [(s.job, s.machine, s.seconds) for s in stuck] == [("12.0", "ep1.example.edu", 50)]
    message = checks.cannot_connect_message(stuck, "tcp://10.77.0.100:40123")
    assert "cannot connect back to the scheduler at tcp://10.77.0.100:40123" in message
    assert "worker job 12.0 has run 50 s on ep1.example.edu" in message
    assert "port 40123" in message and "firewall" in message
    assert checks.connect_grace(20) == 15.0


def test_exited_after_trying_to_connect_is_explained() -> None:
    history = [
        {"ClusterId": 12, "ProcId": 0, "JobStatus": 4, "ExitCode": 1, "RemoteWallClockTime": 64.0,
         "DaskWorkerName": "cnb-a-0", "LastRemoteHost": "slot1_1@ep2.example.edu"},
        {"ClusterId": 12, "ProcId": 1, "JobStatus": 4, "ExitCode": 1, "RemoteWallClockTime": 1.0,
         "DaskWorkerName": "cnb-a-1"},
    ]  # fmt: skip
    text = checks.explain_missing_workers(
        [], history, wanted=2, connected=0, scheduler="tcp://10.77.0.100:1", python="python3",
        connected_names=set(),
    )  # fmt: skip
    assert "worker job 12.0 ran 64 s on ep2.example.edu and exited without its worker" in text
    assert "worker job 12.1 exited with code 1: most often its Python" in text

    gone = checks.exited_without_connecting(history, connected_names={"cnb-a-1"})
    assert [str(g) for g in gone] == ["worker job 12.0 ran 64 s on ep2.example.edu and exited"]
    removed = [{**history[0], "JobStatus": 3}]
    assert checks.exited_without_connecting(removed, connected_names=set()) == []
