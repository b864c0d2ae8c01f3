"""The worker submit description: pure, table-driven (no dask, no pool)."""

from __future__ import annotations

from pathlib import Path

import pytest

from condor_nb.dask import description
from condor_nb.dask.options import worker_options
from condor_nb.settings import Settings
from condor_nb.submission.templates import parse

PERSONAL = parse('universe = vanilla\nrequirements = (OpSys == "LINUX")\n',
                 path=Path("personal.sub"), name="personal")  # fmt: skip
COMMAND = ("/venv/bin/python -m distributed.cli.dask_worker tcp://10.0.0.1:8786 "
           "--name cnb-1a2b3c4d-0 --nthreads 1 --memory-limit 1.00GiB --nanny "
           "--death-timeout 60.0")  # fmt: skip


def _options(**kw: object) -> description.WorkerOptions:
    return worker_options(Settings(home=Path("/h")), session_id="1a2b3c4d", **kw)  # type: ignore[arg-type]


def _render(templates: list[object] | None = None, **kw: object) -> dict[str, str]:
    ctx = description.BatchContext("tcp://10.0.0.1:8786", "host:42", "/h/dask", 1000)
    command = description.batch_command(COMMAND, "cnb-1a2b3c4d-0")
    return description.render_batch(_options(**kw), command=command,
                                    templates=templates or [PERSONAL], context=ctx)  # type: ignore[arg-type]  # fmt: skip


def test_description_core_commands() -> None:
    sub = _render(memory="2GB", disk="3GB", cpus=2)
    assert sub["universe"] == "vanilla"
    assert sub["executable"] == "/bin/sh"
    assert sub["request_cpus"] == "2"
    assert sub["request_memory"] == "2048"
    assert sub["request_disk"] == str(3 * 1024 * 1024)
    assert sub["leave_in_queue"] == "false"
    assert "stream_output" not in {k.lower() for k in sub}, "Stream_Output conflicts with spooling"
    assert sub["MY.CondorNbId"] == '"$(CnbId)"'
    assert sub["MY.CondorNbKind"] == '"dask-worker"'
    assert sub["MY.CondorNbDaskSession"] == '"1a2b3c4d"'
    assert sub["MY.CondorNbHeartbeat"] == "1000"
    assert sub["MY.CondorNbNotebook"] == '"dask session 1a2b3c4d"'
    assert "--name $(CnbWorkerName)" in sub["arguments"]
    assert sub["arguments"].startswith("\"-c '") and sub["arguments"].endswith("'\"")


def test_removal_policy_reads_heartbeat_and_lifetime() -> None:
    sub = _render(heartbeat_timeout=120, heartbeat_interval=30)
    assert (
        sub["periodic_remove"]
        == "(CondorNbHeartbeat =!= undefined && time() - CondorNbHeartbeat > 120)"
    )
    with_lifetime = _render(lifetime=3600)["periodic_remove"]
    assert "JobCurrentStartDate > 3660" in with_lifetime


def test_image_and_profile_layering() -> None:
    site = parse("universe = vanilla\n+ProjectName = \"p\"\nrequest_memory = 99\n",
                 path=Path("ospool.sub"), name="ospool")  # fmt: skip
    dask_defaults = parse("+ProjectName = \"dask\"\n", path=Path("dask-worker.sub"),
                          name="dask-worker")  # fmt: skip
    sub = _render([site, dask_defaults], image="/cvmfs/img:1", memory="1GB")
    assert sub["container_image"] == "/cvmfs/img:1"
    assert sub["+ProjectName"] == '"dask"', "a later profile wins"
    assert sub["request_memory"] == "1024", "our resources win over a profile's"


def test_batch_command_escapes_dollars_and_needs_the_name() -> None:
    cmd = description.batch_command("echo $HOME; w --name n-1 x", "n-1")
    assert cmd == "echo $(DOLLAR)HOME; w --name $(CnbWorkerName) x"
    with pytest.raises(ValueError, match="exactly once"):
        description.batch_command("w --name other", "n-1")
    with pytest.raises(ValueError, match="cannot carry"):
        description.batch_command("w --name a b", "a b")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-c", "a b"], "\"-c 'a b'\""),
        (["x'y"], "\"'x''y'\""),
        (['say "hi"'], '"\'say ""hi""\'"'),
        ([""], "\"''\""),
    ],
)
def test_quote_arguments(args: list[str], expected: str) -> None:
    assert description.quote_arguments(args) == expected


def test_itemdata_and_text() -> None:
    items = description.itemdata([("w-0", "abcd0001"), ("w-1", "abcd0002")])
    assert items == [{"CnbWorkerName": "w-0", "CnbId": "abcd0001"},
                     {"CnbWorkerName": "w-1", "CnbId": "abcd0002"}]  # fmt: skip
    text = description.to_text({"executable": "/bin/sh"}, items)
    assert text.endswith("queue CnbWorkerName,CnbId from (\n  w-0, abcd0001\n  w-1, abcd0002\n)\n")
    with pytest.raises(ValueError):
        description.itemdata([("w 0", "abcd")])
    with pytest.raises(ValueError):
        description.itemdata([("w0", "XYZ")])


def test_session_constraint() -> None:
    assert description.session_constraint("1a2b3c4d") == 'CondorNbDaskSession == "1a2b3c4d"'
