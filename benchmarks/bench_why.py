"""``condor_nb why`` on a pool of 1,000 slot ads, against ``condor_q -better-analyze``.

The 1,000 slot ads must not reach the shared personal pool (its negotiator would
match other people's jobs to slots that do not exist), so this builds a throwaway
copy of the pool (its root, without jobs or logs) in a network namespace of its own
(its own loopback: the same 127.0.0.1:9618, another pool), lets that copy accept
startd ads from its clients, advertises 1,000 ads made from the pool's own slot ad
(memory 1-64 GB, 1-64 CPUs, some aarch64, partitionable and static), submits one job
asking 100 GB, then times, in one run and the same namespace: the whole ``condor_nb
why ID`` process, the whole ``condor_q -better-analyze`` process (the pool's own
tool), and the analysis in-process (slot ads already fetched). Everything is
stopped and removed afterwards. Needs root and iproute2.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from common import Row, row

NETNS = "cnb-bench-why"
SLOTS = 1_000

_INSIDE = r"""
import json, os, random, statistics, subprocess, sys, time
from pathlib import Path
import condor_nb
from condor_nb.condor import analysis
from condor_nb.condor.schedd import configure_bindings
from condor_nb.diagnostics import why
from condor_nb.settings import load_settings

n, repeats, base = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
settings = load_settings()
h = configure_bindings(settings)
collector = h.Collector()
real = collector.query(h.AdTypes.Startd, "true")[0]
rng = random.Random(14)
ads = []
for i in range(n):
    ad = h.classad.ClassAd(str(real)) if hasattr(h, "classad") else None
    if ad is None:
        import classad2
        ad = classad2.ClassAd(str(real))
    name = f"slot1@fake{i:04d}.bench"
    memory = rng.choice([1024, 2048, 4096, 8192, 16384, 32768, 65536])
    cpus = rng.choice([1, 2, 4, 8, 16, 32, 64])
    ad["Name"] = name
    ad["Machine"] = f"fake{i:04d}.bench"
    ad["Memory"] = ad["TotalSlotMemory"] = ad["TotalMemory"] = memory
    ad["Cpus"] = ad["TotalSlotCpus"] = ad["TotalCpus"] = cpus
    ad["Arch"] = "aarch64" if i % 10 == 0 else "X86_64"
    ad["PartitionableSlot"] = i % 4 != 0
    ad["SlotType"] = "Partitionable" if i % 4 != 0 else "Static"
    ad["State"] = "Unclaimed"
    ads.append(ad)
t0 = time.perf_counter()
collector.advertise(ads, "UPDATE_STARTD_AD")
advertised = time.perf_counter() - t0
for _ in range(120):
    if len(collector.query(h.AdTypes.Startd, "true", ["Name"])) >= n + 1:
        break
    time.sleep(0.5)
count = len(collector.query(h.AdTypes.Startd, "true", ["Name"]))
nb = base / "big.ipynb"
nb.write_text(json.dumps({"cells": [{"cell_type": "code", "execution_count": None,
    "metadata": {}, "outputs": [], "source": ["x = 1"]}], "metadata": {}, "nbformat": 4,
    "nbformat_minor": 5}))
job = condor_nb.submit(nb, memory="100GB", allow_no_match=True)
for _ in range(120):  # past "uploading inputs"
    if job.status().reason != "uploading inputs":
        break
    time.sleep(0.5)
env = dict(os.environ)
cnb = [sys.executable, "-m", "condor_nb", "why", job.id]
tool = Path(os.environ["CONDOR_NB_POOL_DIR"]) / "client" / "bin" / "condor_q"
raw = [str(tool), "-better-analyze", job.condor_id]

def run(cmd):
    t = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - t, out

ours, theirs, inproc = [], [], []
for _ in range(repeats):  # interleaved
    t, ours_out = run(cnb); ours.append(t)
    t, raw_out = run(raw); theirs.append(t)
ad = analysis.fetch_job(settings, job.record.cluster, 0)
slots, _ = analysis.fetch_slots_for(settings, [ad])
def timed(call):
    t = time.perf_counter()
    value = call()
    return time.perf_counter() - t, value

for _ in range(repeats):
    t, answer = timed(lambda: why.explain(ad, slots))
    inproc.append(t)
short_s, short = timed(lambda: why.analyse_idle(ad, slots).short)
fetch_s, _ = timed(lambda: analysis.fetch_slots_for(settings, [ad]))
raw_fetch_s, _ = timed(lambda: collector.query(h.AdTypes.Startd, "true"))
job.remove()
print(json.dumps({"raw_fetch_s": raw_fetch_s, "slots": count, "advertised_s": advertised,
    "why_s": statistics.median(ours),
    "better_analyze_s": statistics.median(theirs), "inproc_s": statistics.median(inproc),
    "fetch_s": fetch_s, "short": short, "short_s": short_s, "summary": answer.summary,
    "why_out": ours_out[:600], "raw_out": raw_out[-900:]}))
"""

_CONFIG = """# bench_why: this throwaway pool accepts startd ads from its clients
ALLOW_ADVERTISE_STARTD = *
ALLOW_DAEMON = $(ALLOW_DAEMON) *
"""


def _in_ns(
    *cmd: str, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", NETNS, "env", *(f"{k}={v}" for k, v in env.items()), *cmd],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _ns_pids() -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", NETNS], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def measure(n: int = SLOTS, repeats: int = 3) -> dict[str, object]:
    from condor_nb.pool import pool_paths

    source = pool_paths().base
    if os.geteuid() != 0 or not shutil.which("ip") or not (source / "built.json").exists():
        raise RuntimeError("bench_why needs root, iproute2 and a built personal pool to copy")
    work = Path(tempfile.mkdtemp(prefix="cnb-bench-why-"))
    copy = work / "pool"
    copy.mkdir()
    # (the live pool's spool changes under cp: files vanishing there are no matter)
    subprocess.run(["cp", "-a", "--one-file-system", str(source / "root"), str(copy)],
                   check=False, capture_output=True)  # fmt: skip
    if not (copy / "root" / "usr" / "sbin" / "condor_master").exists():
        raise RuntimeError(f"copying {source / 'root'} failed")
    shutil.copy2(source / "built.json", copy)
    for sub in ("var/spool/condor", "var/lib/condor/execute", "var/log/condor"):
        for entry in (copy / "root" / sub).iterdir():  # never the shared pool's jobs
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    (copy / "root" / "etc" / "condor" / "config.d" / "90-bench-why").write_text(_CONFIG)
    env = {"CONDOR_NB_POOL_DIR": str(copy), "CONDOR_NB_HOME": str(work / "home"),
           "CONDOR_CONFIG": "", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}  # fmt: skip
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up"], check=True)
        started = _in_ns(sys.executable, "-m", "condor_nb", "pool", "start", env=env)
        if started.returncode != 0:
            raise RuntimeError(started.stdout + started.stderr)
        proc = _in_ns(sys.executable, "-c", _INSIDE, str(n), str(repeats), str(work), env=env)
        if proc.returncode != 0:
            raise RuntimeError(proc.stdout + proc.stderr)
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    finally:
        _in_ns(sys.executable, "-m", "condor_nb", "pool", "stop", env=env)
        for pid in _ns_pids():  # anything the stop left
            os.kill(pid, signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", NETNS], check=False)
        shutil.rmtree(work, ignore_errors=True)


def run(n: int = SLOTS, repeats: int = 3) -> list[Row]:
    got = measure(n, repeats)
    slots = got["slots"]
    return [
        row(f"`condor_nb why ID`, {slots:,} slot ads (whole process, vs condor_q "
            "-better-analyze)", float(got["why_s"]), float(got["better_analyze_s"]),  # type: ignore[arg-type]
            "< 1 s", f"analysis in-process {float(got['inproc_s']):.3f} s, "  # type: ignore[arg-type]
            f"slot query {float(got['fetch_s']):.3f} s"),  # type: ignore[arg-type]
    ]  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else SLOTS), indent=2))


def q_idle(n: int = 10_000, repeats: int = 5) -> list[Row]:
    """``condor_nb q`` with ``n`` idle jobs no slot can run (so each shows why), against
    the raw query of the same jobs; the idle REASON costs one query of one whole ad
    per cluster and the cached slot ads (bench_cli's q row has the jobs held)."""
    import time

    from bench_cli import RAW_Q, _median_process, _remove_cluster
    from common import cli, cli_env, process_time, raw_schedd

    from condor_nb.spec.quoting import encode_attr

    home = Path(tempfile.mkdtemp(prefix="cnb-q-idle-")) / "home"
    env = cli_env(home)
    htcondor2, schedd = raw_schedd()
    sub = htcondor2.Submit({
        "executable": "/bin/true", "transfer_executable": "false", "initialdir": "/tmp",
        "request_memory": "102400",  # more than any slot: idle for ever, never matched
        "MY.CondorNbId": '"$(nbid)"', "MY.CondorNbName": '"bench"',
        "MY.CondorNbNotebook": '"/bench/idle.ipynb"', "MY.CondorNbProfile": '"personal"',
        "MY.CondorNbJobDir": encode_attr(f"{home}/jobs/bench"),
    })  # fmt: skip
    items = [{"nbid": f"i{i:07x}"} for i in range(n)]
    cluster = int(schedd.submit(sub, itemdata=iter(items)).cluster())
    try:
        first = process_time(cli("q"), env)
        time.sleep(3)  # the steady state a user polls in (see tracking.SYNC_MARGIN)
        ours = _median_process(cli("q"), env, repeats)
        raw = _median_process([sys.executable, "-c", RAW_Q], env, repeats)
        shown = subprocess.run(cli("q"), env=env, capture_output=True, text=True).stdout
    finally:
        _remove_cluster(cluster)
    said = "no slot has 100 GB memory" in shown
    return [
        row(f"`condor_nb q`, {n:,} idle jobs no slot can run, each with its why (whole "
            "process)", ours, raw, "<= 1.0 s and <= 1.5x",
            f"first q {first:.2f} s; REASON shown: {said}"),
    ]  # fmt: skip
