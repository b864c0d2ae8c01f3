"""--secret end to end on a real pool: a notebook that prints, displays, records and raises
its secrets (a PEM key from a file, a value with a quote and non-ASCII letters, one with
& and <), submitted with a retry. Checked on what was really stored: the spool directory
on the access point (the secrets are there while the job needs them, a placeholder once
its final run is over, before anything is retrieved), then every byte that comes back."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from secret_leaks import CELLS, PEM, SECRETS, leaks, scan

from .conftest import Cnb

# Sleeps on the job's first start (its ad says NumJobStarts = 0 then, measured on 23.9),
# so that the test can evict it while it runs.
PAUSE_ON_FIRST_START = (
    "import os, re, time\n"
    "ad = open(os.environ['_CONDOR_JOB_AD']).read()\n"
    "starts = int(re.search(r'^NumJobStarts = (\\d+)', ad, re.M).group(1))\n"
    "time.sleep(120 if starts == 0 else 0)"
)


def spool_dir(ad: dict[str, Any]) -> Path | None:
    """The job's spool directory in the personal pool's root (None: another pool)."""
    if os.environ.get("CONDOR_NB_TEST_CONDOR_CONFIG"):
        return None
    from condor_nb import pool

    cluster, proc = ad["ClusterId"], ad["ProcId"]
    spool = pool.pool_paths().root / "var/spool/condor"
    return spool / str(cluster % 10000) / str(proc) / f"cluster{cluster}.proc{proc}.subproc0"


def wait_for(ads: Any, job_id: str, done: Any, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        ad = ads(job_id)
        if done(ad) or time.monotonic() > deadline:
            return dict(ad)
        time.sleep(1)


def finished(ad: Any) -> bool:
    """Completed, removed, or held for another reason than the input upload (code 16)."""
    return ad["JobStatus"] in (3, 4) or (ad["JobStatus"] == 5 and ad["HoldReasonCode"] != 16)


def test_secrets_leave_no_trace_in_outputs_nor_in_the_spool(
    cnb: Cnb, schedd_ads: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (cnb.workdir / "key.pem").write_text(PEM + "\n", encoding="utf-8")
    monkeypatch.setenv("QUOTED", SECRETS["QUOTED"])
    monkeypatch.setenv("MARKUP", SECRETS["MARKUP"])
    nb = cnb.notebook("leaky.ipynb", [PAUSE_ON_FIRST_START, *CELLS])
    proc = cnb.run(
        "submit", str(nb), "--secret", "PEM_KEY=key.pem", "--secret", "QUOTED",
        "--secret", "MARKUP", "--retries", "1",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    job_id = proc.stdout.split()[1]
    secrets = list(SECRETS.values())

    ad = schedd_ads(job_id)  # encrypted in transit, whatever the pool's default
    assert "condor_nb_secrets.json" in ad.get("EncryptInputFiles", ""), ad
    spool = spool_dir(ad)
    if spool is not None:  # while the job needs them, the secrets are in its spool directory
        assert json.loads((spool / "condor_nb_secrets.json").read_text()) == SECRETS

    # Evicted while running (a hold stops it; SIGTERM, the wrapper exits 8): nothing comes
    # back over the spooled secrets, and the restart after the release has them.
    wait_for(schedd_ads, job_id, lambda a: a.get("NumJobStarts", 0) >= 1 or finished(a))
    assert cnb.run("hold", job_id).returncode == 0
    ad = wait_for(schedd_ads, job_id, lambda a: a["JobStatus"] == 5 and "RemoteHost" not in a)
    assert ad["JobStatus"] == 5 and ad["HoldReasonCode"] == 1, ad
    if spool is not None:
        assert json.loads((spool / "condor_nb_secrets.json").read_text()) == SECRETS
    assert cnb.run("release", job_id).returncode == 0

    # Then a cell error, retried once (--retries 1): the retry had its secrets too. Completed,
    # not yet retrieved: the spool holds the outputs, and a placeholder for the secrets.
    ad = wait_for(schedd_ads, job_id, finished)
    assert ad["JobStatus"] == 4 and ad.get("NumJobCompletions") == 2, ad
    assert ad["NumJobStarts"] >= 3, ad
    # The failure summary the job ad shows before any fetch: the error, its secrets redacted.
    summary = str(ad.get("CondorNbFailure"))
    found = [how for one in secrets for how in leaks(one, summary.encode())]
    assert "ValueError: [secret]" in summary and not found, (summary, found)
    if spool is not None:
        files = sorted(p for p in spool.rglob("*") if p.is_file())
        print("spool after the final run:", [p.name for p in files])
        assert scan(secrets, files) == {}
        placeholder = json.loads((spool / "condor_nb_secrets.json").read_text())
        assert list(placeholder) == ["_condor_nb"]

    out = cnb.workdir / "out"
    fetched = cnb.run("fetch", job_id, "-o", str(out))
    assert fetched.returncode == 0, fetched.stderr
    returned = sorted(p for p in out.rglob("*") if p.is_file())
    assert scan(secrets, returned) == {}
    assert "condor_nb_secrets.json" not in {p.name for p in returned}
    staging = [p for p in (cnb.settings().jobs_dir / job_id).rglob("*") if p.is_file()]
    assert scan(secrets, staging) == {}
    assert "condor_nb_secrets.json" not in {p.name for p in staging}

    # The retry had its secrets (the last run is a cell error, not "secrets missing"), and
    # the outputs are still useful: "[secret]" where each one was.
    result = json.loads((out / "result.json").read_text())
    assert result["outcome"] == "cell_error", result
    assert result["error"]["name"] == "ValueError"
    executed = (out / "leaky.ipynb").read_text(encoding="utf-8")
    lengths = sorted(len(v) for v in secrets)
    assert f"lengths {lengths}" in executed
    assert executed.count("printed: [secret]") == 3
    assert "printed: [secret]" in (out / "stdout.txt").read_text()
    assert "[secret]" in (out / "stderr.txt").read_text()
    values = json.loads((out / "_condor_nb_values.json").read_text())
    assert values == {"token": "[secret]", "n": 1}
