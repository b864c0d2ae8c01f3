"""A JupyterLab terminal of a user who is not root: their own server, account and token.

On a JupyterHub each user's Jupyter server runs as that user. Here a real account of
the machine (``hubuser``) gets an account of the personal pool from its admin
(``condor_nb pool add-user hubuser``, as root) and nothing else but
``CONDOR_NB_POOL_DIR``, as a spawner or /etc/profile.d would give it; its own server
runs as that user, and a terminal opened through Jupyter's terminals API runs what a
user would type after an ssh login: the environment's `python` and `condor_nb`, the
bindings with no arguments, `condor_nb pool env`, and HTCondor's tools on a job that
must be theirs (Owner ``hubuser``).

The pool and the test's Python live under /root (mode 0700 here), which a real
admin would not do for a shared pool (docs/admins.md: a folder every user can
traverse). The server therefore runs in a private mount namespace of the test in
which /root is an empty, traversable folder showing only the interpreter and the
pool folder, at their own paths: nothing on the machine changes.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, Server
from test_terminal import CHECKS, _values

pytestmark = pytest.mark.pool

USER = "hubuser"

#: Typed in the terminal before CHECKS: the package, the bindings, `condor_nb pool env`.
EXTRAS = r"""
echo "VERSION=$(condor_nb --version 2>&1 | tr '\n' ' ')"
python - <<'PY'
import getpass
import htcondor2 as h
ad = h.Collector().locate(h.DaemonTypes.Schedd)
print("LOCATED=" + ad["Name"])
mine = h.Schedd().query(constraint='Owner == "%s"' % getpass.getuser(), projection=["Owner"])
print("QUERIED=ok,%d" % len(mine))
PY
( eval "$(condor_nb pool env)" && echo "POOLENV=$CONDOR_CONFIG" \
  && echo "POOLSTATUS=$(condor_status -af Name | head -n 1)" \
  && echo "POOLAUTH=$(condor_nb auth status 2>&1 | tr '\n' ' ')" )
echo "FOREIGN=$(CONDOR_NB_CONDOR_CONFIG=$ADMIN_CONFIG condor_nb auth status 2>&1 | tr '\n' ' ')"
"""


@pytest.fixture(scope="module")
def host_user() -> Iterator[pwd.struct_passwd]:
    """A real account of the machine (created for the test unless it exists)."""
    if os.geteuid() != 0:
        pytest.skip("creates an account of the machine and a mount namespace: needs root")
    try:
        pwd.getpwnam(USER)
        created = False
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)
        created = True
    yield pwd.getpwnam(USER)
    if created:
        subprocess.run(["userdel", "--remove", USER], capture_output=True, check=False)


def _as_user(account: pwd.struct_passwd, visible: list[Path], stash: Path) -> list[str]:
    """Command prefix: a private mount namespace in which ``visible`` (all under /root)
    stay at their paths inside an otherwise empty /root, then drop to ``account``."""
    q = shlex.quote
    lines = ["set -e"]
    for i, path in enumerate(visible):
        lines += [
            f"mkdir -p {q(str(stash / str(i)))}",
            f"mount --bind {q(str(path))} {stash / str(i)}",
        ]
    lines.append("mount -t tmpfs -o mode=0755 condor_nb_test_root /root")
    for i, path in enumerate(visible):
        lines += [f"mkdir -p {q(str(path))}", f"mount --move {stash / str(i)} {q(str(path))}"]
    lines.append(
        f'exec setpriv --reuid={account.pw_uid} --regid={account.pw_gid} --init-groups "$@"'
    )
    script = "\n".join(lines)
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]


@pytest.fixture
def hub_server(host_user: pwd.struct_passwd, pool_env: dict[str, str]) -> Iterator[Server]:
    if pool_env:
        pytest.skip("needs the personal pool (its admin adds the user's account)")
    from condor_nb.pool import pool_paths
    from condor_nb.pool.access import account_groups, blocked_at
    from condor_nb.pool.users import add_user

    pool_user = add_user(USER)  # what the admin runs, as root
    assert pool_user.host_uid == host_user.pw_uid
    base_dir = pool_paths().base
    groups = account_groups(host_user)
    visible: list[Path] = []
    for needed in (Path(sys.base_prefix), Path(sys.prefix), REPO, base_dir):
        blocked = blocked_at(needed, host_user.pw_uid, groups)
        if blocked is None:
            continue
        if blocked != Path("/root"):
            pytest.skip(f"{needed} is out of {USER}'s reach at {blocked}")
        visible.append(needed)
    base = Path(tempfile.mkdtemp(prefix="condor_nb-hub-"))
    try:
        env = {
            "HOME": host_user.pw_dir,
            "USER": USER,
            "LOGNAME": USER,
            "SHELL": "/bin/bash",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "CONDOR_NB_POOL_DIR": str(base_dir),  # all the user's session is given
        }
        srv = Server(base, {})
        srv.env = {**env, **{k: v for k, v in srv.env.items() if k not in os.environ}}
        srv.command_prefix = _as_user(host_user, visible, base / "stash")
        for path in (base, *base.rglob("*")):
            os.chown(path, host_user.pw_uid, host_user.pw_gid)
        srv.start()
        try:
            yield srv
        finally:
            srv.stop()
    finally:
        from condor_nb import pool

        pool.run_in_root(["condor_rm", USER], check=False)  # a sleeper a failure left behind
        shutil.rmtree(base, ignore_errors=True)


def test_a_non_root_users_terminal_works_like_their_access_point_login(
    hub_server: Server, host_user: pwd.struct_passwd
) -> None:
    server = hub_server
    for name, text in (("extras.sh", EXTRAS), ("checks.sh", CHECKS)):
        (server.root / name).write_text(text, encoding="utf-8")
        os.chown(server.root / name, host_user.pw_uid, host_user.pw_gid)
    from condor_nb.pool import pool_paths

    admin = pool_paths().client_config  # the admin's own configuration: not this user's
    out = server.terminal(f"cd {server.root} && ADMIN_CONFIG={admin} sh extras.sh && sh checks.sh")
    got = _values(out)
    here = os.path.dirname(os.path.abspath(sys.executable))
    assert got.get("PY") == os.path.join(here, "python"), out
    assert got.get("CNB") == os.path.join(here, "condor_nb"), out
    assert got.get("PREFIX") == sys.prefix, out
    assert got.get("VERSION", "").startswith("condor_nb"), out
    assert got.get("LOCATED"), out
    assert got.get("QUERIED", "").startswith("ok,"), out
    assert got.get("POOLENV", "").endswith(f"/users/{USER}/condor_config"), out
    assert got.get("POOLSTATUS", "").startswith("slot"), out
    assert f"{USER}@" in got.get("POOLAUTH", ""), out  # the schedd sees the user's token
    # The admin's token folder is said to be out of reach (it was a traceback).
    assert "cannot be read by this user" in got.get("FOREIGN", ""), out
    assert "Traceback" not in got.get("FOREIGN", ""), out
    assert got.get("BINDINGS", "").startswith("ok,") and got["BINDINGS"] != "ok,0", out
    assert got.get("STATUS", "").startswith("slot"), out
    assert "submitted to cluster" in got.get("SUBMIT", ""), out
    cluster = got["CLUSTER"]
    assert got.get("RUNNING") == "yes", out
    assert f"tail-me-{cluster}" in got.get("TAIL", ""), out
    assert f"by user {USER}" in got.get("HELD", ""), out  # condor_q -hold: the hold reason
    assert int(got.get("ANALYZE", "0")) > 0, out
    assert got.get("RELEASED") in ("1", "2"), out
    assert got.get("HISTORY") == "3", out
    # condor_nb itself, as this user: a notebook job submitted, run and fetched.
    nb = server.notebook("hub.ipynb", ["print('ran as', __import__('getpass').getuser())"])
    os.chown(nb, host_user.pw_uid, host_user.pw_gid)
    after = server.terminal(
        f"cd {server.root}; echo OWNER=$(condor_history {cluster} -af Owner -limit 1); "
        "condor_nb submit hub.ipynb --wait -o out > submit.txt 2>&1; echo WAITED=$?; "
        "c='CondorNbName == \"hub\"'; "
        'echo NBOWNER=$({ condor_q -constraint "$c" -af Owner; '
        'condor_history -constraint "$c" -af Owner -limit 1; } | head -n 1)'
    )
    values = _values(after)
    assert values.get("OWNER") == USER, after
    assert values.get("WAITED") == "0", (server.root / "submit.txt").read_text()
    assert values.get("NBOWNER") == USER, after
    ran = (server.root / "out" / "hub.ipynb").read_text(encoding="utf-8")
    assert f"ran as {USER}" in ran, ran  # the job ran as the user's account in the pool
