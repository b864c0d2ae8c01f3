"""Smoke tests of the site-like pool: what a notebook host on a real site sees.

Everything the client does runs "on the notebook host" (``site.client_run``): its
own network namespace, /etc/condor/condor_config and a user token, no
CONDOR_CONFIG. The site's own hosts are reached with ``site.run(host, ...)``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from deploy import DOMAIN, USER, Site, guide_blocks

pytestmark = pytest.mark.site

OSPOOL_SUB = Path(__file__).resolve().parents[2] / "submit_templates" / "ospool.sub"


def _ospool_requirements() -> str:
    lines = OSPOOL_SUB.read_text(encoding="utf-8").splitlines()
    (line,) = [ln for ln in lines if ln.startswith("requirements")]
    return line.split("=", 1)[1].strip()


def test_client_sees_differing_execute_points(site: Site) -> None:
    code = f"""
import json, htcondor2 as h
c = h.Collector()
attrs = ["Machine", "OSGVO_OS_STRING", "HAS_SINGULARITY", "Microarch", "GLIDEIN_Site"]
slots = [{{a: str(ad.get(a)) for a in attrs}} for ad in c.query(h.AdTypes.Startd, projection=attrs)]
ospool = [str(ad["Machine"]) for ad in
          c.query(h.AdTypes.Startd, constraint={_ospool_requirements()!r}, projection=["Machine"])]
print(json.dumps({{"collector": h.param["COLLECTOR_HOST"], "slots": slots, "ospool": ospool}}))
"""
    proc = site.client_python(code, check=True)
    seen = json.loads(proc.stdout)
    assert seen["collector"] == f"cm.{DOMAIN}:9618"
    by_machine = {s["Machine"]: s for s in seen["slots"]}
    assert {f"ep1.{DOMAIN}", f"ep2.{DOMAIN}"} <= set(by_machine), seen
    assert len(seen["slots"]) >= 2
    ep1, ep2 = by_machine[f"ep1.{DOMAIN}"], by_machine[f"ep2.{DOMAIN}"]
    assert ep1["OSGVO_OS_STRING"] == "RHEL 9" and ep1["HAS_SINGULARITY"] == "True"
    assert ep1["Microarch"] == "x86_64-v3"
    assert ep2["OSGVO_OS_STRING"] == "None" and ep2["HAS_SINGULARITY"] == "None"
    # The collector itself evaluates the ospool profile's requirements: only ep1 fits.
    assert set(seen["ospool"]) == {f"ep1.{DOMAIN}"}


def test_condor_tools_on_the_notebook_host_authenticate_with_the_users_token(site: Site) -> None:
    status = site.client_tool(["condor_status", "-af", "Machine", "OSGVO_OS_STRING"])
    assert status.returncode == 0, status.stderr
    assert sorted(status.stdout.splitlines()) == [
        f"ep1.{DOMAIN} RHEL 9",
        f"ep2.{DOMAIN} undefined",
    ]
    ping = site.client_tool(["condor_ping", "-type", "schedd", "-name", f"ap.{DOMAIN}", "WRITE"])
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert f"using (AES, AES, and IDTOKENS) succeeded as {USER}@{DOMAIN}" in ping.stdout
    queue = site.client_tool(["condor_q", "-totals"])
    assert queue.returncode == 0 and f"Schedd: ap.{DOMAIN}" in queue.stdout, queue.stderr
    # Why the guide's notebook-host block names SCHEDD_HOST: without it, condor_q
    # looks for a schedd on the notebook host itself.
    unnamed = site.client_tool(["condor_q", "-totals"], env={"_CONDOR_SCHEDD_HOST": ""})
    assert unnamed.returncode != 0, unnamed.stdout


def test_client_configuration_is_the_guides_and_the_machine_is_untouched(site: Site) -> None:
    proc = site.client_run(["cat", "/etc/condor/condor_config"], check=True)
    assert proc.stdout == guide_blocks("condor-site-config")["notebook-host"]
    assert "CONDOR_CONFIG" not in site.client_run(["env"], check=True).stdout
    # The machine's own /etc never got the site's files.
    assert not Path("/etc/condor_nb/tokens.d/ap").exists()
    assert not Path("/etc/condor/condor_config").exists() or "cm.example.edu" not in Path(
        "/etc/condor/condor_config"
    ).read_text(encoding="utf-8", errors="replace")


def test_many_commands_at_once_on_the_notebook_host_all_see_its_configuration(
    site: Site,
) -> None:
    # The frontends test starts five condor_nb commands and a Jupyter server at once;
    # each enters the notebook host on its own. None may fail for another's sake
    # (forty at once made overlayfs refuse some mounts before the fix).
    procs = [
        site.client_popen(["cat", "/etc/condor/condor_config"], stdout=-1, stderr=-1, text=True)
        for _ in range(40)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    failed = [err for p, (_, err) in zip(procs, outputs, strict=True) if p.returncode != 0]
    assert not failed, failed[:2]
    expected = guide_blocks("condor-site-config")["notebook-host"]
    assert all(out == expected for out, _ in outputs)


PROBE = """\
#!/bin/sh
out=result-$1.txt
echo "host $(hostname)" > "$out"
echo "user $(id -un)" >> "$out"
python3 -c "import ipykernel; print('ipykernel ok')" >> "$out" 2>&1
python3 -c "import nbconvert; print('nbconvert ok')" >> "$out" 2>&1
python3 -c "import papermill; print('papermill', papermill.__version__)" >> "$out" 2>&1
"""

SUBMIT_AND_RETRIEVE = """
import json, sys, time, htcondor2 as h
schedd = h.Schedd()
sub = h.Submit({
    "executable": "probe.sh",
    "arguments": "$(ProcId)",
    "requirements": '(Machine == "$(node)")',
    "output": "out.$(ProcId)",
    "error": "err.$(ProcId)",
    "should_transfer_files": "YES",
    "when_to_transfer_output": "ON_EXIT",
    "transfer_output_files": "result-$(ProcId).txt",
    "request_memory": "64",
    "request_disk": "1024",
})
nodes = sys.argv[1:]
result = schedd.submit(sub, itemdata=iter([{"node": n} for n in nodes]), spool=True)
schedd.spool(result)
schedd.reschedule()
cluster = result.cluster()
attrs = ["ProcId", "JobStatus", "ExitCode", "LastRemoteHost", "RemoteHost", "Owner", "HoldReason"]
deadline = time.monotonic() + 600
asked = False
while True:
    ads = schedd.query(f"ClusterId == {cluster}", attrs)
    if not asked and ads and all(ad.get("JobStatus") == 1 for ad in ads):
        # Idle once the spool is done: ask for a negotiation cycle now rather than at
        # the next 60 s one (the first reschedule may have come while still spooling).
        schedd.reschedule()
        asked = True
    if all(ad.get("JobStatus") == 4 for ad in ads) and len(ads) == len(nodes):
        break
    spooling = "Spooling input data files"
    held = [ad for ad in ads if ad.get("JobStatus") == 5 and ad.get("HoldReason") != spooling]
    if held or time.monotonic() > deadline:
        schedd.act(h.JobAction.Remove, f"ClusterId == {cluster}")
        print(json.dumps({"failed": [{k: str(ad.get(k)) for k in attrs} for ad in ads]}))
        sys.exit(1)
    time.sleep(1)
schedd.retrieve(f"ClusterId == {cluster}")
print(json.dumps({"jobs": [{k: str(ad.get(k)) for k in attrs} for ad in ads]}))
"""


def test_spooled_jobs_run_on_the_chosen_node_and_papermill_is_missing_on_ep2(
    site: Site, tmp_path: Path
) -> None:
    probe = tmp_path / "probe.sh"
    probe.write_text(PROBE, encoding="utf-8")
    probe.chmod(0o755)
    nodes = [f"ep1.{DOMAIN}", f"ep2.{DOMAIN}"]
    proc = site.client_run(
        [sys.executable, "-c", SUBMIT_AND_RETRIEVE, *nodes], cwd=tmp_path, timeout=700
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jobs = {int(j["ProcId"]): j for j in json.loads(proc.stdout)["jobs"]}
    # The token's identity is the job's owner: the schedd authenticated the client.
    assert {j["Owner"] for j in jobs.values()} == {USER}
    # Each proc ran where it asked to, as the user, and its output came back.
    for proc_id, node in enumerate(nodes):
        assert jobs[proc_id]["LastRemoteHost"].endswith(f"@{node}"), jobs[proc_id]
        result = (tmp_path / f"result-{proc_id}.txt").read_text(encoding="utf-8")
        assert f"host {node}" in result and f"user {USER}" in result
        assert "ipykernel ok" in result
    assert jobs[0]["ExitCode"] == "0"
    assert "papermill 2." in (tmp_path / "result-0.txt").read_text(encoding="utf-8")
    # ep2 really lacks papermill: the import fails there and the job says so.
    assert jobs[1]["ExitCode"] == "1"
    assert "No module named 'papermill'" in (tmp_path / "result-1.txt").read_text(encoding="utf-8")


def test_daemons_run_htcondors_default_timings(site: Site) -> None:
    # The running negotiator reports its interval: HTCondor's default cycle.
    negotiator = site.run("cm", ["condor_config_val", "-negotiator", "NEGOTIATOR_INTERVAL"])
    assert negotiator.stdout.strip() == "60"
    # No configuration file of any host sets a timing: each is HTCondor's default
    # ("<Default>" from the parameter table, or "Not defined": the daemon's built-in one).
    knobs = {
        "cm": ["NEGOTIATOR_INTERVAL", "NEGOTIATOR_CYCLE_DELAY", "NEGOTIATOR_MIN_INTERVAL"],
        "ap": ["SCHEDD_INTERVAL", "SHADOW_QUEUE_UPDATE_INTERVAL", "CHIRP_DELAYED_UPDATE_PREFIX"],
        "ep1": ["STARTER_UPDATE_INTERVAL", "UPDATE_INTERVAL"],
        "ep2": ["STARTER_UPDATE_INTERVAL", "UPDATE_INTERVAL"],
    }
    for host, names in knobs.items():
        for name in names:
            shown = site.run(host, ["condor_config_val", "-v", name], check=False)
            where = re.findall(r"# at: (.*)", shown.stdout)
            assert where in ([], ["<Default>"]), (host, name, shown.stdout)
    assert site.run("ap", ["condor_config_val", "CHIRP_DELAYED_UPDATE_PREFIX"]).stdout.strip() == (
        "Chirp*"
    )
    # The sandbox's own settings come from the file that says so, nothing else.
    shown = site.run("ep2", ["condor_config_val", "-v", "MOUNT_UNDER_SCRATCH"], check=False)
    assert "90-sandbox" in shown.stdout
    # No minicondor (a one-host pool bound to 127.0.0.1) on any host.
    for host in site.hosts:
        assert site.run(host, ["dpkg-query", "-W", "minicondor"], check=False).returncode != 0


def test_condor_nb_submit_from_the_notebook_host(site: Site, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "ep1.sub").write_text(
        f'# ep1: the execute point with papermill\nrequirements = (Machine == "ep1.{DOMAIN}")\n',
        encoding="utf-8",
    )
    nb = tmp_path / "hello.ipynb"
    nb.write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    env = {"CONDOR_NB_HOME": str(tmp_path / "home"), "CONDOR_NB_PROFILES_PATH": str(profiles)}
    proc = site.client_run(
        [sys.executable, "-m", "condor_nb", "submit", str(nb), "--profile", "ep1", "--wait",
         "-o", str(tmp_path / "out")],
        env=env, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    executed = next((tmp_path / "out").rglob("hello*.ipynb"))
    outputs = json.loads(executed.read_text(encoding="utf-8"))["cells"][0]["outputs"]
    assert f"ep1.{DOMAIN}" in "".join("".join(o.get("text", "")) for o in outputs)


NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    },
    "cells": [{"cell_type": "code", "id": "c0", "metadata": {}, "execution_count": None,
               "outputs": [], "source": "import socket; print(socket.gethostname())"}],
}  # fmt: skip
