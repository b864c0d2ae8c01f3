"""What users can break: hostile strings, a submitter that dies, unreachable pools."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

import condor_nb
from condor_nb.condor.status import JobState
from condor_nb.spec.quoting import decode_attr

from .conftest import Cnb

pytestmark = pytest.mark.pool

HOSTILE = [
    'a "quoted" name',
    "back\\slash\\",
    "new\nline",
    "$(Cluster) and $$(Name) and $ENV(HOME)",
    "+Attr = 1",
    'x"\nMY.Evil = "1',
    "]; Evil = true; [",
    "queue 100",
]


def _benign_keys(ad: dict[str, Any]) -> set[str]:
    return set(ad)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_names_and_parameters_give_exactly_the_intended_ad(
    cnb: Cnb, schedd_ads: Any, hostile: str
) -> None:
    nb = cnb.notebook("h.ipynb", ["print(repr(value))"], params="value = 'x'")
    benign = condor_nb.submit(nb, parameters={"value": "plain"}, name="plain")
    job = condor_nb.submit(nb, parameters={"value": hostile}, name=hostile)
    try:
        ad, reference = schedd_ads(job.id), schedd_ads(benign.id)
        assert decode_attr(ad["CondorNbName"]) == hostile
        assert json.loads(decode_attr(ad["CondorNbParams"])) == {"value": hostile}
        # Nothing added, nothing changed: same attributes, same command and arguments.
        volatile = {
            "ServerTime",
            "GlobalJobId",
            "QDate",
            "EnteredCurrentStatus",
            "AutoClusterAttrs",
            "AutoClusterId",
        }  # set once the negotiator saw it
        assert set(ad) - volatile == set(reference) - volatile
        for key in ("Cmd", "Args", "Arguments", "RequestMemory", "RequestCpus", "Owner"):
            assert ad.get(key) == reference.get(key), key
        assert ad["ProcId"] == 0 and "Evil" not in ad and "Attr" not in ad
        # The registry and `q` show it escaped, on one line.
        listing = cnb.run("q", "--no-refresh", check=True).stdout
        assert len(listing.strip().splitlines()) == 3
    finally:
        job.remove(force=True)
        benign.remove(force=True)


def test_submitter_killed_between_submit_and_upload(cnb: Cnb) -> None:
    nb = cnb.notebook("orphan.ipynb", ["print(1)"])
    # The submitter dies (with the child that sends the submission: condor_nb.condor.deadline)
    # right after the schedd accepted the job, before the inputs were uploaded.
    proc = cnb.python(
        "import os, signal, time, htcondor2, condor_nb, condor_nb.condor.schedd as s\n"
        "htcondor2.Schedd.spool = lambda self, result: time.sleep(3600)  # never uploads\n"
        "def children():\n"
        "    for entry in os.listdir('/proc'):\n"
        "        try:\n"
        "            with open(f'/proc/{entry}/stat') as fh:\n"
        "                if int(fh.read().rsplit(')', 1)[1].split()[1]) == os.getpid():\n"
        "                    yield int(entry)\n"
        "        except (ValueError, OSError, IndexError):\n"
        "            pass\n"
        "real = s.HTCondorSchedd.submit\n"
        "def dying(self, desc, *, spool=True, itemdata=None, on_submitted=None):\n"
        "    def die(cluster):\n"
        "        on_submitted(cluster)\n"
        "        print(cluster, flush=True)\n"
        "        for pid in children():\n"
        "            os.kill(pid, signal.SIGKILL)\n"
        "        os._exit(3)\n"
        "    return real(self, desc, spool=spool, itemdata=itemdata, on_submitted=die)\n"
        "s.HTCondorSchedd.submit = dying\n"
        f"condor_nb.submit({str(nb)!r})\n"
    )
    assert proc.returncode == 3, proc.stderr
    cluster = int(proc.stdout.strip())
    listing = cnb.run("q", check=True).stdout
    assert f"{cluster}.0" in listing and "QUEUED" in listing and "uploading inputs" in listing
    # Once it has sat there longer than spool_timeout, any later condor_nb call
    # removes it and says why; it never stays held forever.
    time.sleep(3)
    cnb.env["CONDOR_NB_SPOOL_TIMEOUT"] = "2"
    listing = cnb.run("q", check=True).stdout
    row = next(line for line in listing.splitlines() if f"{cluster}.0" in line)
    assert "never uploaded" in row
    deadline = time.time() + 60
    while time.time() < deadline:
        row = next(
            line for line in cnb.run("q", check=True).stdout.splitlines() if f"{cluster}.0" in line
        )
        if "REMOVED" in row:
            break
        time.sleep(1)
    assert "REMOVED" in row and "never uploaded" in row


def test_unknown_job_id_is_a_clear_error(cnb: Cnb) -> None:
    proc = cnb.run("status", "deadbeef")
    assert proc.returncode == 7
    assert "no job with id 'deadbeef'" in proc.stderr and "condor_nb q" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = cnb.run("fetch", "not-an-id!")
    assert proc.returncode == 7 and "Traceback" not in proc.stderr


def test_unreachable_schedd_is_a_clear_error(cnb: Cnb, tmp_path: Path) -> None:
    config = tmp_path / "nowhere.config"
    from condor_nb import pool

    tokens = pool.client_env()["_CONDOR_SEC_TOKEN_DIRECTORY"]  # a valid credential, no schedd
    config.write_text(
        "COLLECTOR_HOST = 127.0.0.1:1\nSEC_CLIENT_AUTHENTICATION_METHODS = IDTOKENS\n"
        f"SEC_TOKEN_DIRECTORY = {tokens}\nSEC_TOKEN_SYSTEM_DIRECTORY = {tokens}\n"
    )
    cnb.env["CONDOR_NB_CONDOR_CONFIG"] = str(config)
    nb = cnb.notebook("n.ipynb", ["print(1)"])
    proc = cnb.run("submit", str(nb), timeout=120)
    assert proc.returncode == 5, proc.stderr
    assert "cannot reach the schedd" in proc.stderr and "127.0.0.1:1" in proc.stderr
    assert "Traceback" not in proc.stderr
    # Nothing half-submitted is left behind in the registry.
    assert "no jobs" in cnb.run("q", "--no-refresh").stdout


def test_wait_from_cli_shows_progress_and_fetches(cnb: Cnb) -> None:
    nb = cnb.notebook("cli.ipynb", ["print('n is', n)"], params="n = 1")
    proc = cnb.run("submit", str(nb), "-p", "n", "41", "--wait", "-o", "res", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "QUEUED" in proc.stderr or "RUNNING" in proc.stderr  # visible progress
    assert "executed notebook:" in proc.stdout and "HTML report:" in proc.stdout
    executed = json.loads((cnb.workdir / "res" / "cli.ipynb").read_text())
    assert "n is 41" in json.dumps(executed)
    assert JobState.COMPLETED.value in proc.stdout


def test_secret_reaches_the_notebook_and_nowhere_else(
    cnb: Cnb, schedd_ads: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = 'tok-"s3cr3t"-<value>\\x'
    monkeypatch.setenv("API_TOKEN", secret)
    (cnb.workdir / "db.txt").write_text("db-password-123456\n")
    nb = cnb.notebook(
        "secret.ipynb",
        [
            "import os\nprint('token length', len(os.environ['API_TOKEN']))\n"
            "print('leaked:', os.environ['API_TOKEN'])\n"
            "assert os.environ['DB_PASSWORD'] == 'db-password-123456'",
            "os.environ['API_TOKEN']",
        ],
    )
    proc = cnb.run(
        "submit", str(nb), "--secret", "API_TOKEN", "--secret", "DB_PASSWORD=db.txt",
        "--wait", "-o", "out", timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    job_id = proc.stdout.split()[1]
    out = cnb.workdir / "out"
    executed = (out / "secret.ipynb").read_text()
    assert f"token length {len(secret)}" in executed  # the notebook had it
    for path in out.iterdir():  # nothing that came back shows it
        text = path.read_text(errors="replace")
        assert "s3cr3t" not in text and "db-password-123456" not in text, path.name
    assert "leaked: [secret]" in (out / "stdout.txt").read_text()
    # Not in the job ad (anyone on the schedd can read that), nor in the registry,
    # nor left in the staging folder.
    ad = schedd_ads(job_id)
    assert "s3cr3t" not in repr(dict(ad.items())) and "db-password" not in repr(dict(ad.items()))
    registry = cnb.settings().registry_path.read_bytes()
    assert b"s3cr3t" not in registry and b"db-password" not in registry
    for path in (cnb.settings().jobs_dir / job_id).rglob("*"):
        if path.is_file():
            assert b"s3cr3t" not in path.read_bytes(), path
    # A secret that is not set is refused before anything is submitted, without a value.
    monkeypatch.delenv("API_TOKEN")
    proc = cnb.run("submit", str(nb), "--secret", "API_TOKEN")
    assert proc.returncode == 2 and "API_TOKEN is not set" in proc.stderr
