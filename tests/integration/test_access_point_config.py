"""On an access point condor_nb finds HTCondor's configuration the way HTCondor does.

The access point is played for real: in a private mount namespace of its own, an
overlay over /etc gives the process an /etc/condor/condor_config holding the test
pool's client configuration (the machine's real /etc is never changed), with
CONDOR_CONFIG unset and a fresh HOME where no personal pool was ever started. The
old code fell back to the (absent) personal pool there and stopped.

Against another pool: CONDOR_NB_TEST_CONDOR_CONFIG names the file whose content
becomes /etc/condor/condor_config.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare(1) for a private mount namespace",
)

_OVERLAY = """
set -e
mount -t overlay overlay -o lowerdir=/etc,upperdir="$UPPER",workdir="$WORK" /etc
mkdir -p /etc/condor
cp "$CONTENT" /etc/condor/condor_config
exec "$@"
"""


def _client_config_text() -> str:
    given = os.environ.get("CONDOR_NB_TEST_CONDOR_CONFIG")
    if given:
        return Path(given).read_text(encoding="utf-8")
    from condor_nb import pool

    return Path(pool.client_config()).read_text(encoding="utf-8")


def _as_access_point(
    tmp: Path, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`condor_nb ARGS` with /etc/condor/condor_config, no CONDOR_CONFIG, a fresh HOME."""
    content = tmp / "site_condor_config"
    if not content.exists():
        content.write_text(
            "# An access point's configuration, as the admin installed it.\n"
            + _client_config_text(),
            encoding="utf-8",
        )
    for sub in ("upper", "work", "home"):
        (tmp / sub).mkdir(exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "CONDOR_CONFIG" and not k.startswith(("CONDOR_NB_", "_CONDOR_", "XDG_"))
    }
    env.update(
        HOME=str(tmp / "home"),
        UPPER=str(tmp / "upper"),
        WORK=str(tmp / "work"),
        CONTENT=str(content),
        CONDOR_NB_POLL_INTERVAL="0.5",
    )
    if os.environ.get("CONDOR_NB_TEST_OWNER"):
        env["CONDOR_NB_OWNER"] = os.environ["CONDOR_NB_TEST_OWNER"]
    cmd = ["unshare", "-m", "--propagation", "private", "bash", "-c", _OVERLAY, "overlay"]
    return subprocess.run(
        [*cmd, sys.executable, "-m", "condor_nb", *args],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_access_points_etc_condor_config_is_found_and_used(cnb: Any) -> None:
    tmp = cnb.workdir
    etc_before = Path("/etc/condor").exists()
    cnb.notebook("ap.ipynb", ["print('ran at the access point', 6 * 7)"])

    doctor = _as_access_point(tmp, "doctor")
    out = doctor.stdout + doctor.stderr
    assert (
        "HTCondor configuration: /etc/condor/condor_config "
        "(found by HTCondor's standard search; CONDOR_CONFIG unset)" in out
    ), out
    assert "has never been started" not in out, out
    assert "[  ok] schedd" in out, out

    done = _as_access_point(tmp, "submit", "ap.ipynb", "--profile", "campus", "--wait", "-o", "out")
    assert done.returncode == 0, done.stdout + done.stderr
    printed = (tmp / "out" / "ap.ipynb").read_text(encoding="utf-8")
    assert "ran at the access point 42" in printed

    assert Path("/etc/condor").exists() == etc_before  # the machine's own /etc is untouched


def test_without_any_configuration_the_personal_pool_is_used(cnb: Any) -> None:
    """No CONDOR_CONFIG, nothing in HTCondor's places: the personal pool, said so."""
    from condor_nb.condor import condor_config

    if os.environ.get("CONDOR_NB_TEST_CONDOR_CONFIG") or condor_config.standard_config():
        pytest.skip("this machine has an HTCondor configuration of its own")
    env = {k: v for k, v in os.environ.items() if k != "CONDOR_CONFIG"}
    doctor = subprocess.run(
        [sys.executable, "-m", "condor_nb", "doctor"],
        cwd=cnb.workdir, env={**env, **cnb.env}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "(the personal pool: no CONDOR_CONFIG and no file in /etc/condor/condor_config" in (
        doctor.stdout
    ), doctor.stdout + doctor.stderr
    assert "[  ok] schedd" in doctor.stdout, doctor.stdout
