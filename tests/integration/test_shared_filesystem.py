"""A campus pool whose access point shares the notebook host's filesystem.

With ``shared_filesystem`` on, condor_nb submits without spooling: the shadow on
the access point reads the inputs from the staging folder and writes the outputs
straight back into it, and nothing is uploaded or retrieved. On the personal pool
the shared filesystem is a folder bind-mounted read-write at the same path into
the pool's root (``condor_nb pool start --share DIR``), and the submitting user
has the same uid on both sides, as with NFS home directories on a campus.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from condor_nb.contract import OUTPUT_NOTEBOOK

from .conftest import Cnb, cell_outputs, write_notebook
from .test_doctor import doc_blocks

pytestmark = pytest.mark.pool

USER = "carol"
# Fixed, so reruns reuse the one bind mount (a pool keeps its shares until it stops).
SHARED = Path("/tmp/condor_nb-shared")


@dataclass(frozen=True)
class CampusUser:
    """A user whose home is on the filesystem the access point shares."""

    uid: int
    gid: int
    home: Path
    env: dict[str, str]
    python_path: str

    @property
    def staging(self) -> Path:
        """condor_nb's default home under the user's (shared) home."""
        return self.home / ".local" / "share" / "condor_nb"

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``python -m condor_nb ARGS`` as this user, in their home."""
        return self.python_args(["-m", "condor_nb", *args], timeout)

    def python(self, code: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.python_args(["-c", code], timeout)

    def python_args(self, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python_path, *args],
            cwd=self.home,
            env=self.env,
            user=self.uid,
            group=self.gid,
            extra_groups=[],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def own(self, path: Path) -> Path:
        os.chown(path, self.uid, self.gid)
        return path


def _reachable_by_others(path: Path) -> bool:
    """Every folder above ``path`` lets any user through (o+x)."""
    return all(p.stat().st_mode & 0o001 for p in Path(path).resolve().parents)


def _python_for_other_users(folder: Path) -> tuple[str, dict[str, str]]:
    """An interpreter another account can run, with this project's packages importable.

    This Python may live under root's home (pyenv): then the system Python of the same
    version, made to load this environment's site-packages (and its .pth files, which
    the editable install needs) by a ``sitecustomize`` in ``folder``.
    """
    if _reachable_by_others(Path(sys.executable)):
        return sys.executable, {}
    import sysconfig

    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = Path("/usr/bin") / version
    if not system.is_file():
        pytest.skip(f"{sys.executable} is not reachable by other users and there is no {system}")
    folder.mkdir(exist_ok=True)
    site_packages = sysconfig.get_paths()["purelib"]
    (folder / "sitecustomize.py").write_text(
        f"import site\nsite.addsitedir({site_packages!r})\n", encoding="utf-8"
    )
    return str(system), {"PYTHONPATH": str(folder)}


def _passwd_entry(root: Path, name: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text(encoding="utf-8").splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[2]), int(fields[3])
    raise AssertionError(f"{name} is not in {root}/etc/passwd")


@pytest.fixture(scope="module")
def campus_user(pool_env: dict[str, str]) -> Iterator[CampusUser]:
    if pool_env:
        pytest.skip("needs the personal pool (it shares a folder and adds an account)")
    from condor_nb import pool
    from condor_nb.pool.config import render_client_config
    from condor_nb.pool.paths import pool_paths
    from condor_nb.pool.runtime import load_runtime
    from condor_nb.pool.users import add_user, user_dir

    SHARED.mkdir(mode=0o755, exist_ok=True)
    info = pool.start(shares=[SHARED])
    assert SHARED in info.shares
    add_user(USER)
    paths = pool_paths()
    uid, gid = _passwd_entry(paths.root, USER)
    home = SHARED / f"{USER}-{uuid.uuid4().hex[:8]}"
    home.mkdir(mode=0o755)
    os.chown(home, uid, gid)
    # The user's token lives in their own home, readable by them alone.
    tokens = home / ".condor" / "tokens.d"
    tokens.mkdir(parents=True, mode=0o700)
    shutil.copyfile(user_dir(paths, USER) / "tokens" / "pool", tokens / "pool")
    state = load_runtime(paths)
    assert state is not None
    config = home / ".condor" / "condor_config"
    config.write_text(render_client_config(state.port, tokens, paths.root), encoding="utf-8")
    # condor_nb's own configuration: the block docs/admins.md tells admins to give users.
    (block,) = doc_blocks("condor_nb-config")
    user_config = home / ".config" / "condor_nb" / "config.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text(block, encoding="utf-8")
    for path in (home / ".condor", tokens, tokens / "pool", config, *_below(home, user_config)):
        os.chown(path, uid, gid)
    (tokens / "pool").chmod(0o600)
    python, python_env = _python_for_other_users(home / ".python-site")
    env = {  # a login environment of the user's own, nothing inherited from the tests
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "CONDOR_NB_CONDOR_CONFIG": str(config),
        "CONDOR_NB_POLL_INTERVAL": "0.5",
        **python_env,
    }
    user = CampusUser(uid, gid, home, env, python)
    yield user
    # As the user: the tests' own pool account may not remove another Owner's jobs.
    tests = Path(__file__).resolve().parents[1]
    cleanup = user.python(
        f"import sys; sys.path.insert(0, {str(tests)!r})\n"
        "from integration.conftest import remove_leftover_jobs; remove_leftover_jobs()\n"
    )
    shutil.rmtree(home, ignore_errors=True)
    assert cleanup.returncode == 0, cleanup.stderr


def _below(top: Path, path: Path) -> list[Path]:
    """``path`` and its parents up to (not including) ``top``."""
    return [path, *(p for p in path.parents if top in p.parents)]


def _submitted_id(stdout: str) -> str:
    found = re.search(r"^submitted ([0-9a-f]+) ", stdout, re.MULTILINE)
    assert found, stdout
    return found.group(1)


def _history_ad(job_id: str) -> Any:
    """The job's ad as the schedd keeps it (read as the tests' own pool user: anyone may
    read the queue; configuring the bindings for the campus user would change this
    process's CONDOR_CONFIG for every later test)."""
    from condor_nb.condor import schedd
    from condor_nb.settings import load_settings

    client = schedd.client_for(load_settings())
    ads = client.history(f'CondorNbId == "{job_id}"', [], match=1)
    assert ads, f"job {job_id} is not in the schedd's history"
    return ads[0]


def test_a_job_runs_without_spooling_and_writes_outputs_in_place(
    campus_user: CampusUser,
) -> None:
    user = campus_user
    nb = user.own(
        write_notebook(
            user.home / "analysis.ipynb",
            ['import os\nprint("x is", x, "key length", len(os.environ["API_KEY"]))'],
            params="x = 1",
        )
    )
    user.env["API_KEY"] = "s3cr3t-value"
    proc = user.run("submit", nb.name, "-p", "x", "42", "--secret", "API_KEY", "--wait")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "COMPLETED" in proc.stdout
    job_id = _submitted_id(proc.stdout)

    # The schedd kept the job's own folder: not spooled, no SUBMIT_Iwd, nothing in
    # the spool (a spooled job's Iwd is a spool folder; see test_submit.py).
    ad = _history_ad(job_id)
    out_dir = user.staging / "jobs" / job_id / "out"
    assert ad["Iwd"] == str(out_dir)
    assert "SUBMIT_Iwd" not in ad
    assert ad["CondorNbSpooled"] is False
    assert ad["Owner"] == USER
    # The access point (as the user) wrote the outputs into the staging folder.
    executed = out_dir / OUTPUT_NOTEBOOK
    assert executed.stat().st_uid == user.uid
    assert "x is 42 key length 12" in "".join(cell_outputs(executed))
    # The secret was read from in/ by the shadow, and deleted once the job finished.
    assert not (user.staging / "jobs" / job_id / "in" / "condor_nb_secrets.json").exists()
    assert "s3cr3t-value" not in str(ad)

    fetched = user.run("fetch", job_id, "-o", "results")
    assert fetched.returncode == 0, fetched.stderr
    assert "x is 42" in "".join(cell_outputs(user.home / "results" / "analysis.ipynb"))
    assert (user.home / "results" / "analysis.html").is_file()


def test_a_sweep_runs_without_spooling(campus_user: CampusUser) -> None:
    user = campus_user
    cells = [
        "import os\nfrom condor_nb import record\n"
        'record("square", x * x)\nrecord("token", len(os.environ["TOKEN"]))'
    ]
    user.own(write_notebook(user.home / "sq.ipynb", cells, params="x = 1"))
    user.env["TOKEN"] = "abcdef"
    proc = user.python(
        "import condor_nb, json\n"
        "s = condor_nb.sweep('sq.ipynb', [{'x': 2}, {'x': 3}], secrets=['TOKEN'])\n"
        "s.wait(timeout=240)\n"
        "rows = s.results(as_dataframe=False)\n"
        "print(json.dumps([[r['square'], r['token']] for r in rows]))\n"
        "print(json.dumps([j.record.spooled for j in s.jobs()]))\n"
        "print(s.record.job_dir)\n",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout.strip().splitlines()
    assert json.loads(out[-3]) == [[4, 6], [9, 6]]  # every proc read the secret from in/
    assert json.loads(out[-2]) == [0, 0]
    # ...which is gone now that every proc has finished.
    assert not (Path(out[-1]) / "in" / "condor_nb_secrets.json").exists()


def test_the_registry_rebuilt_from_the_schedd_knows_a_job_was_not_spooled(
    campus_user: CampusUser,
) -> None:
    user = campus_user
    user.own(write_notebook(user.home / "tiny.ipynb", ["print('tiny')"]))
    proc = user.run("submit", "tiny.ipynb")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    job_id = _submitted_id(proc.stdout)
    # The registry is lost before anyone waited for the job...
    registry = user.staging / "registry.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{registry}{suffix}").unlink(missing_ok=True)
    rebuilt = user.run("registry", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    # ...and the rebuilt one still knows not to ask the schedd to retrieve it.
    waited = user.run("wait", job_id)
    assert waited.returncode == 0, waited.stdout + waited.stderr
    fetched = user.run("fetch", job_id, "-o", "again")
    assert fetched.returncode == 0, fetched.stderr
    assert "tiny" in "".join(cell_outputs(user.home / "again" / "tiny.ipynb"))


def test_an_access_point_that_does_not_share_the_folder_is_a_clear_hold(cnb: Cnb) -> None:
    # shared_filesystem on, but the staging folder is this test's private tmp
    # folder, which the pool cannot see.
    cnb.env["CONDOR_NB_SHARED_FILESYSTEM"] = "yes"
    os.environ["CONDOR_NB_SHARED_FILESYSTEM"] = "yes"
    try:
        nb = cnb.notebook("lost.ipynb", ["print(1)"])
        proc = cnb.run("submit", str(nb), "--wait", timeout=180)
    finally:
        del os.environ["CONDOR_NB_SHARED_FILESYSTEM"]
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text
    assert "HELD" in text
    assert "shared_filesystem" in text and "does not see" in text
    # Nothing was lost: the inputs are still in the staging folder.
    assert list((cnb.workdir / "home" / "jobs").glob("*/in/lost.ipynb"))


def test_doctor_probe_checks_that_the_access_point_sees_the_home(
    campus_user: CampusUser, cnb: Cnb
) -> None:
    good = campus_user.run("doctor", "--probe")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "imports ipykernel" in good.stdout
    cnb.env["CONDOR_NB_SHARED_FILESYSTEM"] = "1"
    bad = cnb.run("doctor", "--probe")
    assert bad.returncode != 0
    assert "does not see the job's staging folder" in bad.stdout + bad.stderr
    assert "CONDOR_NB_HOME=" in bad.stdout + bad.stderr
