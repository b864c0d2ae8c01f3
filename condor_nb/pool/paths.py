"""Where the personal pool lives on disk, and the lock that serialises changes to it.

Layout of the pool directory (``CONDOR_NB_POOL_DIR``, else
``$XDG_DATA_HOME/condor_nb/pool``)::

    root/               the Debian 13 root the daemons run in (chroot)
    root.partial/       a root being built; renamed to root/ when complete
    client/condor_config, client/tokens/   what a client outside the root needs
    users/NAME/         the same for each extra user (``condor_nb pool add-user``)
    built.json          written last by a build: root/ is complete and trusted
    runtime.json        settings, identity and mounts of the last start
    build.log           output of debootstrap and apt-get
    lock                fcntl lock held while starting, stopping or restarting
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

POOL_DIR_ENV = "CONDOR_NB_POOL_DIR"

#: Path of the pool's own daemon configuration, inside the root.
POOL_CONFIG_IN_ROOT = "etc/condor/config.d/50-condor-nb"


@dataclass(frozen=True)
class PoolPaths:
    """Every file and folder of one pool, derived from its base directory."""

    base: Path

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def partial_root(self) -> Path:
        return self.base / "root.partial"

    @property
    def build_stage(self) -> Path:
        """Records how far a build of ``root.partial`` got (outside it, so it survives)."""
        return self.base / "build-stage"

    @property
    def built_marker(self) -> Path:
        return self.base / "built.json"

    @property
    def runtime_state(self) -> Path:
        return self.base / "runtime.json"

    @property
    def build_log(self) -> Path:
        return self.base / "build.log"

    @property
    def lock_file(self) -> Path:
        return self.base / "lock"

    @property
    def client_dir(self) -> Path:
        return self.base / "client"

    @property
    def client_config(self) -> Path:
        return self.client_dir / "condor_config"

    @property
    def token_dir(self) -> Path:
        return self.client_dir / "tokens"

    @property
    def token_file(self) -> Path:
        return self.token_dir / "pool"

    @property
    def pool_config(self) -> Path:
        return self.root / POOL_CONFIG_IN_ROOT

    @property
    def log_dir(self) -> Path:
        """The daemons' log folder (inside the root)."""
        return self.root / "var/log/condor"


def default_pool_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "condor_nb" / "pool"


def pool_paths() -> PoolPaths:
    """The pool's paths: ``CONDOR_NB_POOL_DIR`` if set, else the XDG data folder."""
    configured = os.environ.get(POOL_DIR_ENV)
    base = Path(configured) if configured else default_pool_dir()
    return PoolPaths(base.expanduser().absolute())


@contextmanager
def pool_lock(paths: PoolPaths) -> Iterator[None]:
    """Hold the pool's exclusive lock: two processes never build or start at once."""
    paths.base.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
