"""Who asks for the first negotiation cycle after a remote spooled submission (diagnostic).

``python benchmarks/site_reschedule_log.py`` (root: it builds the site of tests/sites,
then tears it down). Not a benchmark and not the product: it turns on D_COMMAND and
D_FULLDEBUG in the access point's SCHEDD_DEBUG, waits until the negotiator is idle
(last cycle 25-40 s ago), then submits from the notebook host with the raw htcondor2
bindings, ``Schedd.submit(spool=True)`` and, 6 s later, ``Schedd.spool()``, and prints
the schedd's log lines about the commands it received, the job's release and the
reschedules it sent, and the negotiation cycles that began, each with its time after
the submission. Then the same for ``condor_submit -remote AP -spool`` of an equivalent
job with an input file, run on the notebook host.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from common import ROOT
from site_start import REMOTE_SUBMIT_FILE, _cycles, _phase

sys.path.insert(0, str(ROOT / "tests" / "sites"))

RAW_SUBMIT = """
import sys, time, htcondor2 as h
schedd = h.Schedd()
sub = h.Submit({
    "executable": "/bin/sleep", "arguments": "90", "transfer_input_files": sys.argv[1],
    "should_transfer_files": "YES", "request_cpus": "1", "request_memory": "1024",
    "request_disk": "1048576", "+CondorNbDiag": "true",
})
t0 = time.time()
result = schedd.submit(sub, spool=True)
t1 = time.time()
time.sleep(6)
t2 = time.time()
schedd.spool(result)
print(t0, t1, t2, time.time(), result.cluster())
"""

DEBUG = "SCHEDD_DEBUG = D_COMMAND D_FULLDEBUG\n"
STAMP = re.compile(r"^(\d\d/\d\d/\d\d \d\d:\d\d:\d\d)(?:\.\d+)? ")
WORTH = re.compile(
    r"HandleReq <\w+> \(0\) for command|released from hold|Sending RESCHEDULE|"
    r"Sent job|Negotiation ended"
)


def _when(line: str) -> float | None:
    m = STAMP.match(line)
    return datetime.strptime(m.group(1), "%m/%d/%y %H:%M:%S").timestamp() if m else None


def _schedd_debug(site: Any) -> None:
    folder = site.hosts["ap"].root / "etc/condor/config.d"
    (folder / "95-diag-schedd-debug").write_text(DEBUG, encoding="utf-8")
    site.run("ap", ["condor_reconfig"])
    for _ in range(100):
        shown = site.run("ap", ["condor_config_val", "-schedd", "SCHEDD_DEBUG"]).stdout
        if "D_COMMAND" in shown:
            return
        time.sleep(0.2)
    raise RuntimeError("the schedd did not take SCHEDD_DEBUG")


def _show(site: Any, t0: float) -> None:
    """The schedd's and the negotiator's lines of the 40 s from t0 (whole seconds)."""
    print("-- ap SchedLog (whole seconds after the second of the submission):")
    for line in site.log("ap", "SchedLog").splitlines():
        when = _when(line)
        if when is not None and int(t0) <= when <= t0 + 40 and WORTH.search(line):
            print(f"  {when - int(t0):+3.0f} s | {line}")
    print("-- cm NegotiatorLog, cycles:")
    for line in site.log("cm", "NegotiatorLog").splitlines():
        when = _when(line)
        cycle = "Started Negotiation Cycle" in line or "Matched" in line
        if when is not None and int(t0) <= when <= t0 + 40 and cycle:
            print(f"  {when - int(t0):+3.0f} s | {line}")


def _clock(t: float) -> str:
    return f"{time.strftime('%H:%M:%S', time.localtime(t))}.{int(t % 1 * 10)}"


def main() -> None:
    from deploy import DOMAIN, create_site

    work = Path(tempfile.mkdtemp(prefix="cnb-diag-resched-"))
    data = work / "input.txt"
    data.write_text("x" * 4096, encoding="utf-8")
    (work / "remote.sub").write_text(REMOTE_SUBMIT_FILE.format(work=work), encoding="utf-8")
    site = create_site()
    try:
        _schedd_debug(site)
        _phase(site, "idle")
        last = _cycles(site)[-1]
        out = site.client_run(
            [sys.executable, "-c", RAW_SUBMIT, str(data)], cwd=work, check=True
        ).stdout.split()
        t0, t1, t2, t3 = (float(x) for x in out[:4])
        time.sleep(max(0.0, t0 + 40 - time.time()))
        print(f"== htcondor2 submit(spool=True), 6 s later spool(): cluster {out[4]}, "
              f"submit() called at {_clock(t0)}; last cycle {last - t0:+.1f} s; submit() "
              f"returned {t1 - t0:+.1f} s, spool() {t2 - t0:+.1f}..{t3 - t0:+.1f} s")  # fmt: skip
        _show(site, t0)
        site.run("ap", ["condor_rm", out[4]], check=False)

        _phase(site, "idle")
        last = _cycles(site)[-1]
        t0 = time.time()
        done = site.client_tool(
            ["condor_submit", "-terse", "-remote", f"ap.{DOMAIN}", "-spool",
             str(work / "remote.sub")]
        )  # fmt: skip
        t1 = time.time()
        time.sleep(max(0.0, t0 + 40 - time.time()))
        print(f"== condor_submit -remote ap.{DOMAIN} -spool on the notebook host: "
              f"{done.stdout.strip()} {done.stderr.strip()[-300:]}, started at {_clock(t0)}; "
              f"last cycle {last - t0:+.1f} s; returned {t1 - t0:+.1f} s")  # fmt: skip
        _show(site, t0)
    finally:
        site.stop()


if __name__ == "__main__":
    main()
