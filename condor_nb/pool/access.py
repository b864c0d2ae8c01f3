"""Other Unix users of this machine on the personal pool (a JupyterHub's users).

The pool is an admin's (building and starting it needs root). On a JupyterHub each
user runs their own Jupyter server as themselves; to reach the pool they need:

- an account of the pool (``condor_nb pool add-user NAME``, NAME their login name)
  whose token only they can read: :func:`hand_over` gives ``users/NAME/tokens`` to
  the machine's account of the same name;
- a pool folder they can traverse, for the client configuration and the pool's
  HTCondor tools (its binaries, loader and libraries, and the schedd's address and
  history files): :func:`blocked_at` names the folder that stops them;
- ``CONDOR_NB_POOL_DIR`` naming the pool folder, or ``CONDOR_NB_CONDOR_CONFIG``
  naming their configuration: a process that is not root then uses *its own*
  account (:func:`own_client_config`), never the admin's.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from condor_nb.errors import PoolError
from condor_nb.pool.paths import PoolPaths


def login_name() -> str:
    """The name of the account this process runs as."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def is_guest() -> bool:
    """Is this process another user of the pool (not root, who runs it)?"""
    return os.geteuid() != 0


def user_dir(paths: PoolPaths, name: str) -> Path:
    return paths.base / "users" / name


def own_client_config(paths: PoolPaths) -> Path:
    """The calling user's client configuration (``users/LOGIN/condor_config``).

    Raises PoolError, saying what the admin must do, when there is none or it is
    out of reach.
    """
    name = login_name()
    config = user_dir(paths, name) / "condor_config"
    try:
        if config.is_file():
            return config
    except PermissionError:
        pass
    blocked = blocked_at(config.parent, os.geteuid(), set(os.getgroups()) | {os.getegid()})
    if blocked is not None:
        raise PoolError(
            f"user {name} cannot reach the personal pool in {paths.base}: "
            f"{blocked} is not open to them",
            hint="the pool's admin can keep the pool in a folder every user can traverse "
            "(CONDOR_NB_POOL_DIR=/srv/condor_nb/pool before `condor_nb pool start`), "
            f"or open that folder: chmod o+x {blocked}",
        )
    raise PoolError(
        f"the personal pool in {paths.base} has no account for user {name}",
        hint=f"ask the pool's admin to run: condor_nb pool add-user {name}",
    )


def own_token_dir(paths: PoolPaths) -> Path:
    return user_dir(paths, login_name()) / "tokens"


def host_account(name: str) -> pwd.struct_passwd | None:
    """The machine's account called ``name``, if any."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def hand_over(folder: Path, name: str) -> pwd.struct_passwd | None:
    """Give ``folder/tokens`` (0700) and its tokens (0600) to the machine's account ``name``.

    Only that user (and root) can read them then, as an IDTOKEN file must be. Returns
    the account, or None when the machine has no account of that name (a pool user
    for trying things as root only: nothing changes).
    """
    account = host_account(name)
    if account is None:
        return None
    tokens = folder / "tokens"
    for path in (tokens, *sorted(tokens.iterdir())):
        os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
    return account


def blocked_at(path: Path, uid: int, gids: set[int]) -> Path | None:
    """The first folder on the way to ``path`` that user ``uid`` may not traverse, or None."""
    if uid == 0:
        return None
    target = path.absolute()
    for current in (*reversed(target.parents), target):
        try:
            st = os.stat(current)
        except FileNotFoundError:
            return None
        except PermissionError:
            return current.parent
        if not stat.S_ISDIR(st.st_mode):
            return None
        if st.st_uid == uid:
            allowed = st.st_mode & stat.S_IXUSR
        elif st.st_gid in gids:
            allowed = st.st_mode & stat.S_IXGRP
        else:
            allowed = st.st_mode & stat.S_IXOTH
        if not allowed:
            return current
    return None


def account_groups(account: pwd.struct_passwd) -> set[int]:
    """The account's primary and supplementary groups."""
    return set(os.getgrouplist(account.pw_name, account.pw_gid))


def pool_base_of(config: Path) -> Path | None:
    """The pool folder a client configuration of the pool lives in, or None.

    ``BASE/client/condor_config`` (the admin's) or ``BASE/users/NAME/condor_config``
    (an account's): a user's Jupyter server given only its configuration still finds
    the pool's HTCondor tools.
    """
    config = Path(os.path.abspath(config))
    candidates = [config.parent.parent]
    if config.parent.parent.name == "users":
        candidates.append(config.parent.parent.parent)
    for base in candidates:
        if (base / "client" / "bin").is_dir() and (base / "root").is_dir():
            return base
    return None
