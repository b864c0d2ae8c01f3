"""condor_nb why on the site-like pool, against condor_q -better-analyze on the access point.

Three jobs from the notebook host: one no slot can hold (100 GB of memory), one that
only ep1 (the node with OSPool attributes) can run, kept idle because ep1 is busy
with its twin, and one held. The counts of matching slots ``why --json`` gives must
be the ones HTCondor's own analyser prints on the access point for the same jobs.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from deploy import DOMAIN, Site

pytestmark = pytest.mark.site

NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    },
    "cells": [
        {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]},
         "execution_count": None, "outputs": [], "source": "seconds = 1"},
        {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": None,
         "outputs": [], "source": "import time; time.sleep(seconds)"},
    ],
}  # fmt: skip


def _better_analyze(site: Site, condor_id: str) -> dict[str, Any]:
    """The clause rows and the summary of ``condor_q -better-analyze`` on the access point."""
    out = site.run("ap", ["condor_q", "-better-analyze", condor_id]).stdout
    rows = {m.group(2).strip(): int(m.group(1))
            for m in re.finditer(r"^\[\d+\]\s+(\d+)\s+(.+)$", out, re.M)}  # fmt: skip
    summary = re.search(
        r"Of (\d+) machines,\s+(\d+) are rejected by your job's requirements\s+"
        r"(\d+) reject your job because of their own requirements",
        out,
    )
    assert summary, out
    machines, by_job, by_slot = (int(g) for g in summary.groups())
    return {"rows": rows, "machines": machines, "by_job": by_job, "by_slot": by_slot,
            "text": out}  # fmt: skip


def test_why_agrees_with_better_analyze_on_the_access_point(site: Site, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "ep1only.sub").write_text(
        "# only execute points with OSPool attributes (ep1)\n"
        "requirements = (OSGVO_OS_STRING =!= undefined)\n",
        encoding="utf-8",
    )
    nb = tmp_path / "sleep.ipynb"
    nb.write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    env = {"CONDOR_NB_HOME": str(tmp_path / "home"), "CONDOR_NB_PROFILES_PATH": str(profiles)}

    def cnb(*args: str) -> str:
        proc = site.client_run([sys.executable, "-m", "condor_nb", *args], env=env,
                               cwd=tmp_path, timeout=300)  # fmt: skip
        assert proc.returncode == 0, f"condor_nb {args}: {proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def submit(*args: str) -> tuple[str, str]:
        out = cnb("submit", str(nb), *args)
        found = re.search(r"submitted (\S+) .* as HTCondor job (\d+\.\d+)", out)
        assert found, out
        return found.group(1), found.group(2)

    def why(job_id: str) -> dict[str, Any]:
        for _ in range(120):  # the schedd releases a spooled job a moment after upload
            answer: dict[str, Any] = json.loads(cnb("why", job_id, "--json"))
            if "being uploaded" not in answer["summary"]:
                return answer
            time.sleep(1)
        raise AssertionError(f"{job_id} still uploading: {answer}")

    cpus = site.run("cm", ["condor_status", "-af", "TotalSlotCpus",
                           "-constraint", f'Machine == "ep1.{DOMAIN}" && PartitionableSlot']
                    ).stdout.split()  # fmt: skip
    assert cpus, "ep1 has no partitionable slot"
    whole_ep1 = ["--profile", "ep1only", "--cpus", cpus[0]]
    ids: list[str] = []
    try:
        nowhere, nowhere_cid = submit("--memory", "100GB", "--allow-no-match", "-p", "seconds", "1")
        ids.append(nowhere)
        twins = [submit(*whole_ep1, "-p", "seconds", str(600 + i)) for i in range(2)]
        ids += [t[0] for t in twins]
        held, _ = submit(*whole_ep1, "-p", "seconds", "602")
        ids.append(held)
        cnb("hold", held)

        # Nowhere: the memory clause, in words, and the same counts as HTCondor's.
        answer = why(nowhere)
        assert "no slot can ever run it: request_memory 102400 MB: 0 of" in answer["summary"]
        assert re.search(r"the largest has \d+ MB", answer["summary"]), answer
        theirs = _better_analyze(site, nowhere_cid)
        assert theirs["rows"]["TARGET.Memory >= RequestMemory"] == 0, theirs["text"]
        assert theirs["machines"] == answer["machines"], (theirs["text"], answer)
        assert theirs["by_job"] == answer["machines"] - answer["matching"] == answer["machines"]

        # One node: ep1 runs one twin; the other waits for room there, and only there.
        for _ in range(300):
            states = {i: json.loads(cnb("why", i, "--json")) for i, _ in twins}
            waiting = [i for i, w in states.items() if w["summary"].startswith("waiting for room")]
            if waiting and any(w["state"] == "RUNNING" for w in states.values()):
                break
            time.sleep(2)
        else:
            raise AssertionError(f"no twin running with the other waiting: {states}")
        idle_id = waiting[0]
        idle_cid = dict(twins)[idle_id]
        answer = why(idle_id)
        assert answer["summary"].startswith("waiting for room: 1 slot(s) can run it"), answer
        (ospool,) = [c for c in answer["clauses"] if "OSGVO_OS_STRING" in c["text"]]
        assert ospool["ever"] == 1 and ospool["ever"] < answer["machines"]
        theirs = _better_analyze(site, idle_cid)
        (row,) = [n for text, n in theirs["rows"].items() if "OSGVO_OS_STRING" in text]
        assert row == ospool["matched"], (theirs["text"], answer)
        assert theirs["machines"] == answer["machines"], (theirs["text"], answer)
        assert theirs["by_job"] == answer["machines"] - answer["matching"], (theirs["text"], answer)
        assert theirs["by_slot"] == answer["rejecting"], (theirs["text"], answer)

        # Before submitting (what the submit path can call): the same verdicts.
        code = """
import json
from condor_nb.condor import analysis
from condor_nb.diagnostics.why import never_matches
from condor_nb.settings import load_settings
slots = analysis.fetch_slots(load_settings())
base = {"request_cpus": "1", "request_memory": "1024", "request_disk": "1048576"}
asks = {"big": {"request_memory": "102400"},
        "ep1": {"requirements": "(OSGVO_OS_STRING =!= undefined)"},
        "custom": {"requirements": "(HasQuantumChip == true)"}}
out = {}
for name, ask in asks.items():
    never = never_matches(analysis.job_ad_from_description({**base, **ask}), slots)
    out[name] = None if never is None else [never.reason, never.may_match_new_machines]
print(json.dumps(out))
"""
        proc = site.client_python(code, env=env, check=True)
        verdicts = json.loads(proc.stdout)
        assert verdicts["ep1"] is None, verdicts
        assert "request_memory 102400 MB: 0 of 2 slots" in verdicts["big"][0]
        assert verdicts["big"][1] is False  # refuse: more than any machine has
        assert verdicts["custom"][1] is True, verdicts  # warn: a new kind of machine may come

        # Held: the reason in words and the command.
        answer = why(held)
        assert answer["state"] == "HELD" and "held by the user" in answer["summary"], answer
        assert answer["command"] == f"condor_nb release {held}"
        status = cnb("status", held)
        assert f"do:  condor_nb release {held}" in status, status
    finally:
        for job_id in ids:
            site.client_run([sys.executable, "-m", "condor_nb", "rm", "--force", job_id],
                            env=env, cwd=tmp_path, timeout=300)  # fmt: skip
