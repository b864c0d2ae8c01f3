"""A real one-machine HTCondor pool that condor_nb builds and runs itself.

Debian 13's ``minicondor`` is installed with debootstrap into its own root folder
and its daemons run there (chroot). Clients reach it exactly as they would a
remote access point: IDTOKENS over 127.0.0.1, remote submission with spooling,
no shared filesystem. Everything here needs root except :func:`client_env`,
:func:`identity` and :func:`owner`.

Environment: ``CONDOR_NB_POOL_DIR`` (pool directory), ``CONDOR_NB_POOL_PORT``
(default 9618), ``CONDOR_NB_POOL_CPUS`` (default 4), ``CONDOR_NB_POOL_MEMORY_MB``,
``CONDOR_NB_POOL_MIRROR`` (Debian mirror for the first build).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from condor_nb.errors import PoolError
from condor_nb.pool import access, daemons, procs
from condor_nb.pool.build import is_built
from condor_nb.pool.config import JOB_USER
from condor_nb.pool.lifecycle import (
    PoolInfo,
    client_env_for,
    require_root,
    restart_daemons,
    start,
    stop,
)
from condor_nb.pool.mounts import present_extra_mounts
from condor_nb.pool.paths import PoolPaths, pool_paths
from condor_nb.pool.runtime import load_runtime
from condor_nb.pool.status import PoolStatus, SlotInfo, pool_status

__all__ = [
    "PoolInfo",
    "PoolPaths",
    "PoolStatus",
    "SlotInfo",
    "client_config",
    "client_env",
    "identity",
    "owner",
    "pool_paths",
    "restart_daemons",
    "run_in_root",
    "start",
    "status",
    "stop",
]


def status() -> PoolStatus:
    """Daemons (name -> pid), slots and job counts, from the root's condor_status/condor_q."""
    require_root()
    paths = pool_paths()
    state = load_runtime(paths)
    return pool_status(
        paths,
        built=is_built(paths),
        port=state.port if state else None,
        mounts=present_extra_mounts(paths.root, state.mount_paths if state else []),
        shares=present_extra_mounts(paths.root, state.share_paths if state else []),
    )


def client_env() -> dict[str, str]:
    """Variables that make a process (shell, test, Jupyter server) a client of the pool."""
    paths = pool_paths()
    state = load_runtime(paths)
    if state is None or not paths.client_config.exists():
        raise _never_started(paths)
    env = client_env_for(paths, state.port)
    if access.is_guest():  # another user of the machine: their own account and token
        tokens = str(access.own_token_dir(paths))
        env["CONDOR_CONFIG"] = str(access.own_client_config(paths))
        env["_CONDOR_SEC_TOKEN_DIRECTORY"] = env["_CONDOR_SEC_TOKEN_SYSTEM_DIRECTORY"] = tokens
    return env


def _never_started(paths: PoolPaths) -> PoolError:
    return PoolError(
        f"the pool in {paths.base} has never been started, so it has no client "
        "configuration or token yet",
        hint="python -m condor_nb.pool start",
    )


def client_config() -> str:
    """The personal pool's client configuration file (without reading its state)."""
    paths = pool_paths()
    if not paths.client_config.exists():
        raise _never_started(paths)
    if access.is_guest():
        return str(access.own_client_config(paths))
    return str(paths.client_config)


def identity() -> str:
    """The client token's identity, ``nbuser@UID_DOMAIN`` (UID_DOMAIN read in the root)."""
    paths = pool_paths()
    state = load_runtime(paths)
    if state is not None and state.uid_domain:
        return f"{owner()}@{state.uid_domain}"
    if not is_built(paths):
        raise PoolError(
            f"the pool in {paths.base} is not built, so it has no identity yet",
            hint="python -m condor_nb.pool start",
        )
    require_root()
    return f"{JOB_USER}@{daemons.uid_domain(paths)}"


def owner() -> str:
    """The Owner of jobs submitted to the pool (the local user the token maps to).

    Another user of the machine submits as their own account (their login name).
    """
    return access.login_name() if access.is_guest() else JOB_USER


def run_in_root(
    args: Sequence[str], *, check: bool = True, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run an admin command inside the pool's root (condor_restart, condor_q...)."""
    require_root()
    paths = pool_paths()
    if not paths.root.exists():
        raise PoolError(
            f"the pool in {paths.base} is not built", hint="python -m condor_nb.pool start"
        )
    return procs.run_in_root(paths.root, args, check=check, timeout=timeout)
