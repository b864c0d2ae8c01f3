"""Other users of the machine on the personal pool: which account and folders they get.

The real thing (a non-root account's Jupyter server and terminal against the pool) is
proven by tests/jupyter/test_terminal_nonroot.py; these are the pure decisions.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from condor_nb import pool
from condor_nb.errors import PoolError
from condor_nb.pool import access
from condor_nb.pool.paths import PoolPaths
from condor_nb.pool.runtime import RuntimeState, save_runtime

OTHER_UID = 4242  # no account of the machine, never an owner of tmp_path


def _tree(base: Path, modes: list[int]) -> Path:
    path = base
    for i, mode in enumerate(modes):
        path = path / f"d{i}"
        path.mkdir()
        path.chmod(mode)
    return path


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder every user may traverse (pytest's tmp_path is under a 0700 folder)."""
    path = Path(tempfile.mkdtemp(prefix="condor_nb-access-"))
    path.chmod(0o755)
    if access.blocked_at(path, OTHER_UID, set()) is not None:
        pytest.skip(f"{path} is closed to other users on this machine")
    yield path
    shutil.rmtree(path)


@pytest.mark.parametrize(
    ("modes", "gids", "blocked"),
    [
        ([0o755, 0o755], set(), None),
        ([0o711, 0o755], set(), None),  # traversable without being readable
        ([0o700, 0o755], set(), 0),
        ([0o755, 0o750], set(), 1),
        ([0o755, 0o750], {os.getgid()}, None),  # the folder's group may traverse it
    ],
)
def test_blocked_at_names_the_first_closed_folder(
    open_dir: Path, modes: list[int], gids: set[int], blocked: int | None
) -> None:
    leaf = _tree(open_dir, modes)
    expected = None
    if blocked is not None:
        expected = open_dir.joinpath(*(f"d{i}" for i in range(blocked + 1)))
    assert access.blocked_at(leaf, OTHER_UID, gids) == expected
    assert access.blocked_at(leaf, 0, set()) is None  # root goes everywhere


def test_pool_base_of_finds_the_pool_from_any_of_its_configurations(tmp_path: Path) -> None:
    base = tmp_path / "pool"
    for folder in ("client/bin", "root", "users/alice"):
        (base / folder).mkdir(parents=True)
    assert access.pool_base_of(base / "client" / "condor_config") == base
    assert access.pool_base_of(base / "users" / "alice" / "condor_config") == base
    assert access.pool_base_of(tmp_path / "elsewhere" / "condor_config") is None


@pytest.fixture
def guest_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PoolPaths:
    """A started pool's files, seen by a process that is not root (``alice``)."""
    paths = PoolPaths(tmp_path / "pool")
    paths.client_dir.mkdir(parents=True)
    paths.client_config.write_text("# the admin's\n")
    save_runtime(paths, RuntimeState(port=9618, cpus=1, memory_mb=512, uid_domain="h"))
    monkeypatch.setenv("CONDOR_NB_POOL_DIR", str(paths.base))
    monkeypatch.setattr(os, "geteuid", lambda: OTHER_UID)
    monkeypatch.setattr(access, "login_name", lambda: "alice")
    return paths


def test_a_guest_uses_its_own_account_never_the_admins(
    guest_pool: PoolPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = guest_pool.base / "users" / "alice"
    (mine / "tokens").mkdir(parents=True)
    (mine / "condor_config").write_text("# alice's\n")
    assert pool.client_config() == str(mine / "condor_config")
    env = pool.client_env()
    assert env["CONDOR_CONFIG"] == str(mine / "condor_config")
    assert env["_CONDOR_SEC_TOKEN_DIRECTORY"] == str(mine / "tokens")
    assert env["_CONDOR_SEC_TOKEN_SYSTEM_DIRECTORY"] == str(mine / "tokens")
    assert pool.owner() == "alice" and pool.identity() == "alice@h"
    monkeypatch.setattr(os, "geteuid", lambda: 0)  # root: the admin's own, as before
    assert pool.client_config() == str(guest_pool.client_config) and pool.owner() == "nbuser"


def test_a_guest_without_an_account_is_told_whom_to_ask(
    guest_pool: PoolPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(access, "blocked_at", lambda *args: None)
    with pytest.raises(PoolError) as err:
        pool.client_config()
    assert "has no account for user alice" in err.value.message
    assert "condor_nb pool add-user alice" in (err.value.hint or "")
    monkeypatch.setattr(access, "blocked_at", lambda *args: Path("/root"))
    with pytest.raises(PoolError) as err:
        pool.client_env()
    assert "cannot reach" in err.value.message and "/root is not open" in err.value.message
    assert "chmod o+x /root" in (err.value.hint or "")
