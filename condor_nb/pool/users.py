"""More accounts on the personal pool, to see what a shared access point looks like.

A campus access point serves many users; each submits with a token of their own
and the schedd keeps their jobs apart by ``Owner``. ``add_user("alice")`` makes
the same on the personal pool: a local account in the root that jobs run as, an
IDTOKEN ``alice@UID_DOMAIN`` signed by the pool's key, and a client configuration
of her own under ``users/alice/`` in the pool directory. When the machine has an
account ``alice`` too (a JupyterHub user), that account owns the token, so her own
Jupyter server and shells use it (see :mod:`condor_nb.pool.access`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from condor_nb.errors import PoolError
from condor_nb.pool import access, daemons
from condor_nb.pool.config import JOB_USER, render_client_config, write_if_changed
from condor_nb.pool.lifecycle import require_root
from condor_nb.pool.paths import PoolPaths, pool_lock, pool_paths
from condor_nb.pool.procs import run_in_root
from condor_nb.pool.runtime import load_runtime

_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_RESERVED = {"root", "condor", "nobody", "daemon"}


@dataclass(frozen=True)
class PoolUser:
    """What a process needs to act as one user of the personal pool."""

    name: str
    identity: str
    condor_config: Path
    #: The machine's account of the same name, which owns the token, if there is one.
    host_uid: int | None = None

    @property
    def env(self) -> dict[str, str]:
        """condor_nb settings for a process acting as this user.

        No ``CONDOR_NB_OWNER``: as with any pool but the embedded one, condor_nb
        asks the schedd whom the token maps to.
        """
        return {"CONDOR_NB_CONDOR_CONFIG": str(self.condor_config)}


def user_dir(paths: PoolPaths, name: str) -> Path:
    return paths.base / "users" / name


def add_user(name: str) -> PoolUser:
    """Create (or refresh) account ``name``: idempotent, needs a built and started pool."""
    if not _NAME.fullmatch(name) or name in _RESERVED or name == JOB_USER:
        raise PoolError(
            f"{name!r} is not a name for a new pool user",
            hint="use a lowercase Unix user name such as 'alice' (letters, digits, _ and -; "
            f"not root, condor or {JOB_USER}, which the pool already has)",
        )
    require_root()
    paths = pool_paths()
    state = load_runtime(paths)
    if state is None or not paths.root.exists():
        raise PoolError(
            f"the pool in {paths.base} has not been started yet, so it has no key to sign "
            "a token with",
            hint="condor_nb pool start",
        )
    with pool_lock(paths):
        passwd = (paths.root / "etc/passwd").read_text(encoding="utf-8")
        if not any(line.startswith(f"{name}:") for line in passwd.splitlines()):
            run_in_root(paths.root, ["useradd", "--create-home", "--shell", "/bin/bash", name])
        domain = state.uid_domain or daemons.uid_domain(paths)
        identity = f"{name}@{domain}"
        token = run_in_root(paths.root, ["condor_token_create", "-identity", identity]).stdout
        if not token.strip():
            raise PoolError(f"condor_token_create -identity {identity} printed no token")
        folder = user_dir(paths, name)
        tokens = folder / "tokens"
        tokens.mkdir(parents=True, exist_ok=True)
        tokens.chmod(0o700)
        write_if_changed(tokens / "pool", token.strip() + "\n", mode=0o600)
        config = folder / "condor_config"
        write_if_changed(config, render_client_config(state.port, tokens, paths.root))
        account = access.hand_over(folder, name)  # their own processes read the token
    host_uid = account.pw_uid if account else None
    return PoolUser(name=name, identity=identity, condor_config=config, host_uid=host_uid)
