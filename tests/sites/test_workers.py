"""Execute points that differ, on the site: a worker without papermill, one without
ipykernel, the parity report, and the ``ospool`` profile against an OSPool-like node.

All jobs go in together (one negotiation cycle, HTCondor's default 60 s), from the
notebook host with condor_nb's CLI, each pinned by a profile:

- ``work`` on ep2 (Python and ipykernel, no papermill nor nbconvert): runs with the
  executor condor_nb ships;
- ``work`` on ep1 (papermill installed): the worker's own, to compare run times;
- ``hello`` on ep2 with a worker Python that has no ipykernel (a venv built in ep2's
  root): FAILED, saying what is missing and how to fix it;
- ``where`` on ep2 with a kernelspec that names its Python ``python`` (as pip's ipykernel
  installs it), which jupyter_client starts as ``sys.executable``;
- ``hello`` with ``--profile ospool`` and a CVMFS image: only its match is checked (no
  Apptainer here: ep1's starter refuses the container), then it is removed.
"""

from __future__ import annotations

import json
import platform
import re
import shlex
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from deploy import DOMAIN, Site

from condor_nb.contract import CONTRACT_NAME

pytestmark = pytest.mark.site

NO_IPYKERNEL = "/opt/cnb-site-noipykernel"
#: A kernelspec like the one pip's ipykernel installs: "python", not a path.
RELATIVE_KERNEL = {
    "argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
    "display_name": "Python 3 (pip-style kernelspec)",
    "language": "python",
}
IMAGE = "/cvmfs/singularity.opensciencegrid.org/htc/rocky:9"
WORK_CELLS = [
    "import sys, json, socket\nimport yaml\nimport condor_nb\n"
    "print('worker', socket.gethostname(), sys.version_info[:2], x)",
    "condor_nb.record('answer', x * 2)",
]


def _notebook(path: Path, cells: list[str], params: str | None = None) -> Path:
    def cell(cid: str, source: str, tags: list[str] | None = None) -> dict[str, Any]:
        meta = {"tags": tags} if tags else {}
        return {"cell_type": "code", "id": cid, "metadata": meta, "execution_count": None,
                "outputs": [], "source": source}  # fmt: skip

    body = [cell("params", params, ["parameters"])] if params else []
    body += [cell(f"c{i}", src) for i, src in enumerate(cells)]
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": kernelspec},
          "cells": body}  # fmt: skip
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def _texts(nb_path: Path) -> str:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    out = []
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            text = o.get("text") or o.get("data", {}).get("text/plain") or ""
            out.append("".join(text) if isinstance(text, list) else text)
    return "".join(out)


@dataclass
class Batch:
    site: Site
    tmp: Path
    env: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)  # name -> condor_nb id
    clusters: dict[str, int] = field(default_factory=dict)
    waited: dict[str, Any] = field(default_factory=dict)  # name -> CompletedProcess

    def cnb(self, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Any:
        return self.site.client_run(
            [sys.executable, "-m", "condor_nb", *args],
            env={**self.env, **(env or {})}, cwd=self.tmp, timeout=timeout,
        )  # fmt: skip

    def submit(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        proc = self.cnb("submit", *args, "--no-cache", env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        match = re.search(r"submitted (\S+) .* as HTCondor job (\d+)\.0 on ", proc.stdout)
        assert match, proc.stdout
        self.ids[name], self.clusters[name] = match.group(1), int(match.group(2))

    def job_dir(self, name: str) -> Path:
        return self.tmp / "home" / "jobs" / self.ids[name]

    def out_json(self, name: str, file: str) -> dict[str, Any]:
        return json.loads((self.job_dir(name) / "out" / file).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def batch(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Batch:
    tmp = tmp_path_factory.mktemp("workers")
    tmp.chmod(0o755)
    profiles = tmp / "profiles"
    profiles.mkdir()
    for node in ("ep1", "ep2"):
        (profiles / f"{node}.sub").write_text(
            f'# {node} only\nrequirements = (Machine == "{node}.{DOMAIN}")\n', encoding="utf-8"
        )
    # A worker Python with nothing but the standard library, in ep2's own root.
    site.run("ep2", ["python3", "-m", "venv", "--without-pip", "--clear", NO_IPYKERNEL])
    kernels = site.hosts["ep2"].root / "usr/local/share/jupyter/kernels/pipstyle"
    kernels.mkdir(parents=True, exist_ok=True)
    (kernels / "kernel.json").write_text(json.dumps(RELATIVE_KERNEL), encoding="utf-8")
    kernels.parent.parent.parent.chmod(0o755)
    work = _notebook(tmp / "work.ipynb", WORK_CELLS, params="x = 1")
    hello = _notebook(tmp / "hello.ipynb", ["print('never runs')"])
    where = _notebook(tmp / "where.ipynb", ["import sys; print('kernel python', sys.executable)"])
    env = {"CONDOR_NB_HOME": str(tmp / "home"), "CONDOR_NB_PROFILES_PATH": str(profiles)}
    b = Batch(site, tmp, env)
    b.submit("ep2", str(work), "--profile", "ep2", "-p", "x", "21")
    b.submit("ep1", str(work), "--profile", "ep1", "-p", "x", "21")
    b.submit("noipk", str(hello), "--profile", "ep2",
             env={"CONDOR_NB_WORKER_PYTHON": f"{NO_IPYKERNEL}/bin/python"})  # fmt: skip
    b.submit("where", str(where), "--profile", "ep2", "--kernel", "pipstyle")
    b.submit("ospool", str(hello), "--profile", "ospool", "--image", IMAGE)
    for name in ("ep2", "ep1", "noipk", "where"):
        b.waited[name] = b.cnb("wait", b.ids[name], "-o", str(tmp / f"out-{name}"), timeout=600)
    return b


def test_worker_without_papermill_runs_the_shipped_executor(batch: Batch) -> None:
    done = batch.waited["ep2"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{batch.ids['ep2']} COMPLETED" in done.stdout
    out = batch.tmp / "out-ep2"
    executed = next(out.glob("*.ipynb"))
    assert f"worker ep2.{DOMAIN} (3, 13) 21" in _texts(executed)
    report = next(out.glob("*.html")).read_text(encoding="utf-8")
    # nbconvert's report (the shipped nbconvert: ep2 has none), not the plain fallback page.
    assert "jp-Notebook" in report and f"worker ep2.{DOMAIN} (3, 13) 21" in report
    manifest = batch.out_json("ep2", "_condor_nb_manifest.json")
    assert manifest["hostname"] == f"ep2.{DOMAIN}"
    executor = manifest["executor"]
    assert executor["source"] == "shipped"
    assert executor["reason"] == "the worker has no papermill, nbconvert"
    assert executor["papermill"] == metadata.version("papermill")
    # The shipped packages' dependencies that ep2 has in versions they accept (Debian's,
    # compiled already) come from ep2: papermill & co. only from the zip.
    ep2_has = _ep2_versions(batch.site)
    assert executor["from_worker"]["pyyaml"] == ep2_has["pyyaml"]
    assert "papermill" not in executor["from_worker"] and "mistune" in executor["from_worker"]
    assert batch.out_json("ep2", "_condor_nb_values.json")["answer"] == 42
    # HTCondor starts jobs without PATH: the wrapper still knows (and records) its Python.
    assert manifest["python"]["executable"] == "/usr/bin/python3"
    # ep1 ran its own papermill (Debian's).
    assert batch.waited["ep1"].returncode == 0, batch.waited["ep1"].stdout
    ep1 = batch.out_json("ep1", "_condor_nb_manifest.json")
    assert ep1["hostname"] == f"ep1.{DOMAIN}" and ep1["executor"]["source"] == "worker"
    assert ep1["executor"]["papermill"] != metadata.version("papermill")  # not the host's


def test_kernelspec_naming_python_starts_the_workers_python(batch: Batch) -> None:
    """jupyter_client starts a kernelspec's "python" as sys.executable, which Python
    leaves empty when started by name without PATH (a job's environment has none)."""
    done = batch.waited["where"]
    assert done.returncode == 0, done.stdout + done.stderr
    executed = next((batch.tmp / "out-where").glob("*.ipynb"))
    assert "kernel python /usr/bin/python3" in _texts(executed)
    kernel = batch.out_json("where", "_condor_nb_manifest.json")["kernel"]
    assert kernel["name"] == "pipstyle" and not kernel["fallback"]


def test_worker_without_ipykernel_fails_saying_what_is_missing(batch: Batch) -> None:
    failed = batch.waited["noipk"]
    assert failed.returncode == 9, failed.stdout + failed.stderr
    message = failed.stdout + failed.stderr
    job = batch.ids["noipk"]
    assert f"{job} FAILED" in message
    python = f"{NO_IPYKERNEL}/bin/python"
    assert re.search(rf"this worker's Python 3\.13\.\d+ \({re.escape(python)}\) has no ipykernel",
                     message), message  # fmt: skip
    assert "use an image with ipykernel" in message
    assert "set worker_python (CONDOR_NB_WORKER_PYTHON) to a Python that has it" in message
    result = batch.out_json("noipk", "_condor_nb_result.json")
    assert result["outcome"] == "input_error" and "no ipykernel" in result["error"]["value"]
    # The job really ran on ep2 (its manifest placeholder says which Python answered).
    assert result["python"].startswith("3.13")


def _ep2_versions(site: Site) -> dict[str, str]:
    code = (
        "import json, platform, importlib.metadata as m\n"
        "names = ['ipykernel', 'jupyter_client', 'pyyaml']\n"
        "print(json.dumps({'python': platform.python_version(), "
        "**{n: m.version(n) for n in names}}))"
    )
    return json.loads(site.run("ep2", ["python3", "-c", code]).stdout)


def test_parity_lists_the_real_differences_and_nothing_else(batch: Batch) -> None:
    proc = batch.cnb("parity", batch.ids["ep2"])
    assert proc.returncode == 1, proc.stdout + proc.stderr  # differences found
    text = proc.stdout
    ep2 = _ep2_versions(batch.site)
    here = {n: metadata.version(n) for n in ("ipykernel", "jupyter_client", "pyyaml")}
    papermill = metadata.version("papermill")
    expected = [f"python version: here {platform.python_version()}, on the worker {ep2['python']}"]
    for name in ("ipykernel", "jupyter_client"):  # the kernel side always is the worker's
        if here[name] != ep2[name]:
            expected.append(f"package {name}: here {here[name]}, on the worker {ep2[name]}")
    expected.append(
        f"papermill: here installed {papermill}, on the worker {papermill} shipped by "
        "condor_nb (the worker has no papermill, nbconvert)"
    )
    if here["pyyaml"] != ep2["pyyaml"]:
        expected.append(f"import yaml: here {here['pyyaml']}, on the worker {ep2['pyyaml']}")
    lines = [ln.strip() for ln in text.splitlines()[1:]]
    assert sorted(lines) == sorted(expected), text
    assert text.splitlines()[0] == f"job {batch.ids['ep2']}: {len(expected)} difference(s)"
    # Nothing else: no noise for the standard library, condor_nb.record() worked there.
    assert "not recorded" not in text and "import condor_nb" not in text
    imports = batch.out_json("ep2", "_condor_nb_manifest.json")["imports"]
    assert imports["condor_nb"]["helper"] and imports["sys"] == {"stdlib": True}


def _job_ad(site: Site, cluster: int, attrs: list[str]) -> dict[str, str]:
    """The job's ad on the access point: in the queue (spooled, retrieved), or its history."""
    af = " ".join(attrs)
    shown = site.run("ap", ["sh", "-c", f"condor_q {cluster} -af:, {af}; "
                            f"condor_history -match 1 {cluster} -af:, {af}"])  # fmt: skip
    line = next(ln for ln in shown.stdout.splitlines() if ln.strip())
    return dict(zip(attrs, [v.strip() for v in line.split(",")], strict=True))


def test_shipped_executor_overhead_on_the_site(batch: Batch) -> None:
    """Reported, not asserted (no timed assertions): the figures go to the test's output."""
    attrs = ["RemoteWallClockTime", "CommittedTime", "LastRemoteHost"]
    rows = {}
    for name in ("ep1", "ep2"):
        ad = _job_ad(batch.site, batch.clusters[name], attrs)
        result = batch.out_json(name, "_condor_nb_result.json")
        executor = batch.out_json(name, "_condor_nb_manifest.json")["executor"]
        assert ad["LastRemoteHost"].endswith(f"@{name}.{DOMAIN}"), ad
        rows[name] = (float(ad["RemoteWallClockTime"]), result["duration_s"], executor["seconds"])
    for name, (wall, wrapper, setup) in rows.items():
        print(f"\n{name}: RemoteWallClockTime {wall:.0f} s, wrapper {wrapper:.2f} s, "
              f"executor set-up {setup:.3f} s")  # fmt: skip
    wrapper_s, setup_s = (rows["ep2"][i] - rows["ep1"][i] for i in (1, 2))
    print(f"\nshipped executor overhead (ep2 - ep1, jobs running side by side): wrapper "
          f"{wrapper_s:+.2f} s, executor set-up {setup_s:+.3f} s")  # fmt: skip
    # The same set-up without the other jobs' load: the wrapper's executor module on
    # the job's own zip, one host after the other (medians of 3).
    staged = batch.job_dir("ep2") / "in"
    times: dict[str, list[tuple[float, float]]] = {"ep1": [], "ep2": []}  # (wall, CPU)
    for round_ in range(3):
        for name in ("ep1", "ep2"):
            folder = batch.site.hosts[name].root / f"tmp/cnb-setup-{round_}"
            folder.mkdir()
            for file in ("condor_nb_executor.py", "condor_nb_executor.zip", CONTRACT_NAME):
                shutil.copy(staged / file, folder / file)
            shown = batch.site.run(name, ["sh", "-c", f"cd /tmp/cnb-setup-{round_} && "
                                          f"python3 -c {shlex.quote(SETUP_TIMING)}"])  # fmt: skip
            source, wall, cpu = shown.stdout.split()
            assert source == ("worker" if name == "ep1" else "shipped"), shown.stdout
            times[name].append((float(wall), float(cpu)))
    for i, what in enumerate(("wall", "CPU")):
        ep1, ep2 = ([t[i] for t in times[name]] for name in ("ep1", "ep2"))
        print(
            f"\nexecutor set-up + nbconvert import, one at a time, {what}: ep1 (worker's) {ep1}, "
            f"ep2 (shipped) {ep2}; overhead "
            f"{statistics.median(ep2) - statistics.median(ep1):+.2f} s (medians)"
        )


SETUP_TIMING = """
import time
t0, c0 = time.monotonic(), time.process_time()
import condor_nb_executor as e
info = e.choose()
import nbconvert
from nbconvert import HTMLExporter
print(info["source"], round(time.monotonic() - t0, 3), round(time.process_time() - c0, 3))
"""


OSPOOL_MATCH = """
import json, sys, classad2, htcondor2 as h
cluster = int(sys.argv[1])
(job,) = h.Schedd().query(f"ClusterId == {cluster}")
slots = h.Collector().query(h.AdTypes.Startd)
print(json.dumps({
    "requirements": str(job.lookup("Requirements")),
    "matches": sorted(str(s["Name"]) for s in slots if job.symmetricMatch(s)),
    "slots": sorted(str(s["Name"]) for s in slots),
    "last_remote_host": str(job.get("LastRemoteHost", "")),
    "status": job.get("JobStatus"),
    "image": str(job.get("ContainerImage")),
}))
"""


def test_ospool_profile_matches_the_ospool_like_node_only(batch: Batch) -> None:
    import classad2

    cluster = batch.clusters["ospool"]

    def look() -> dict[str, Any]:
        # The job ad the schedd stored, against every slot ad the collector has.
        args = [sys.executable, "-c", OSPOOL_MATCH, str(cluster)]
        found: dict[str, Any] = json.loads(batch.site.client_run(args, check=True).stdout)
        return found

    seen = look()
    assert any(s.endswith(f"@ep2.{DOMAIN}") for s in seen["slots"]), seen
    assert seen["matches"] and all(s.endswith(f"@ep1.{DOMAIN}") for s in seen["matches"]), seen
    # The negotiator agreed: it matched the job with ep1, whose starter then refused to
    # run the container (no Apptainer here) and the job went back to idle.
    deadline = time.monotonic() + 180
    while not seen["last_remote_host"] and time.monotonic() < deadline:
        time.sleep(5)
        seen = look()
    assert seen["last_remote_host"].endswith(f"@ep1.{DOMAIN}"), seen
    logs = batch.site.hosts["ep1"].root / "var/log/condor"
    starter = "".join(p.read_text(errors="replace") for p in logs.glob("StarterLog*"))
    assert "singularity does not appear to be configured" in starter
    # `condor_nb render` shows exactly the requirements the schedd stored (HTCondor adds
    # its own clauses after them: platform, resources, HasContainer, HasSandboxImage).
    rendered = batch.cnb("render", str(batch.tmp / "hello.ipynb"), "--profile", "ospool",
                         "--image", IMAGE)  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    (line,) = [ln for ln in rendered.stdout.splitlines() if ln.startswith("requirements = ")]
    expression = str(classad2.ExprTree(line.split("=", 1)[1].strip()))
    assert seen["requirements"].startswith(f"({expression}) && "), (expression, seen)
    assert "container_image = $(CONDOR_NB_IMAGE)" in rendered.stdout
    assert f"CONDOR_NB_IMAGE = {IMAGE}" in rendered.stdout and seen["image"] == IMAGE
    assert "TARGET.HasContainer" in seen["requirements"]
    removed = batch.cnb("rm", batch.ids["ospool"])
    assert removed.returncode == 0, removed.stdout + removed.stderr
