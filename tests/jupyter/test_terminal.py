"""A JupyterLab terminal replaces an ssh login: the environment's Python, and HTCondor's tools.

Everything runs in a real terminal opened through Jupyter's terminals API, as a user
typing in JupyterLab would: `python` and `condor_nb` are the server's, the bindings find
the schedd and collector with no arguments, and condor_q, condor_submit, condor_status,
condor_history, condor_rm, condor_hold, condor_release and condor_tail work against the
pool (on the personal pool: its own binaries, run from outside its root).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Server, running_server

pytestmark = pytest.mark.pool

#: Run by the terminal's shell: each check prints KEY=value lines the test reads.
CHECKS = r"""
set -u
command -v condor_q > /dev/null || { echo "NO-TOOLS PATH=$PATH"; exit 1; }
echo "PY=$(command -v python)"
echo "CNB=$(command -v condor_nb)"
python -c 'import sys; print("PREFIX=" + sys.prefix)'
python - <<'PY'
import htcondor2 as h
s, c = h.Schedd(), h.Collector()  # no arguments, as on an access point
s.query(projection=["ClusterId"])
print("BINDINGS=ok,%d" % len(c.query(h.AdTypes.Startd, projection=["Name"])))
PY
echo "STATUS=$(condor_status -af Name | head -n 1)"
cat > sleeper.sub <<'SUB'
executable = /bin/sh
arguments = "-c 'echo tail-me-$(Cluster); sleep 300'"
output = out.txt
error = err.txt
log = job.log
request_cpus = 1
request_memory = 64
queue
SUB
out=$(condor_submit sleeper.sub 2>&1); echo "SUBMIT=$(echo "$out" | tr '\n' ' ')"
id=$(echo "$out" | sed -n 's/.*submitted to cluster \([0-9]*\).*/\1/p')
echo "CLUSTER=$id"
wait_status() {  # until condor_q shows JobStatus $1 (60 s at most)
  i=0
  while [ $i -lt 120 ]; do
    [ "$(condor_q "$id" -af JobStatus)" = "$1" ] && return 0
    sleep 0.5; i=$((i+1))
  done
  return 1
}
wait_status 2 && echo "RUNNING=yes"
i=0
while [ $i -lt 60 ]; do
  t=$(condor_tail "$id" 2>&1); case $t in *tail-me-*) break;; esac
  sleep 1; i=$((i+1))
done
echo "TAIL=$(echo "$t" | tr '\n' ' ')"
condor_hold "$id" > /dev/null && wait_status 5 && echo "HELD=$(condor_q -hold "$id" -af HoldReason)"
echo "ANALYZE=$(condor_q -better-analyze "$id" 2>&1 | grep -c -i 'held')"
condor_release "$id" > /dev/null
echo "RELEASED=$(condor_q "$id" -af JobStatus)"
condor_rm "$id" > /dev/null
i=0
while [ $i -lt 60 ]; do
  h=$(condor_history "$id" -af JobStatus -limit 1); [ -n "$h" ] && break
  sleep 1; i=$((i+1))
done
echo "HISTORY=$h"
"""


def _values(out: str) -> dict[str, str]:
    values: dict[str, str] = {}
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out).replace("\r", "")
    for line in plain.splitlines():
        key, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[A-Z]+", key):
            values[key] = value.strip()
    return values


@pytest.fixture(params=["root", "alice"])
def user_server(
    request: pytest.FixtureRequest, tmp_path: Path, pool_env: dict[str, str]
) -> Iterator[Server]:
    """The pool's own account, and a second account of the pool (another Owner, token, config)."""
    env = dict(pool_env)
    if request.param != "root":
        if pool_env:
            pytest.skip("needs the personal pool (it creates the second account)")
        from condor_nb.pool.users import add_user

        env.update(add_user(request.param).env)
    with running_server(tmp_path / request.param, env) as srv:
        yield srv


def test_a_terminal_works_like_an_access_point_login(user_server: Server) -> None:
    server = user_server
    (server.root / "checks.sh").write_text(CHECKS, encoding="utf-8")
    out = server.terminal(f"cd {server.root} && sh checks.sh")
    got = _values(out)
    here = os.path.dirname(os.path.abspath(sys.executable))
    assert got.get("PY") == os.path.join(here, "python"), out
    assert got.get("CNB") == os.path.join(here, "condor_nb"), out
    assert got.get("PREFIX") == sys.prefix, out
    assert got.get("BINDINGS", "").startswith("ok,") and got["BINDINGS"] != "ok,0", out
    assert got.get("STATUS", "").startswith("slot"), out
    assert "submitted to cluster" in got.get("SUBMIT", ""), out
    cluster = got["CLUSTER"]
    assert got.get("RUNNING") == "yes", out
    assert f"tail-me-{cluster}" in got.get("TAIL", ""), out
    assert got.get("HELD"), out  # condor_q -hold showed the hold reason
    assert int(got.get("ANALYZE", "0")) > 0, out
    assert got.get("RELEASED") in ("1", "2"), out  # idle again (or already running)
    assert got.get("HISTORY") == "3", out  # removed, as condor_history recorded it
