"""start, stop and restart: composing build, mounts, config and daemons under the lock."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from condor_nb.errors import PoolError
from condor_nb.pool import daemons
from condor_nb.pool import mounts as mount_table
from condor_nb.pool.build import ensure_built, ensure_job_user, is_built
from condor_nb.pool.config import (
    JOB_USER,
    SCHEDD_ADDRESS_IN_ROOT,
    PoolSettings,
    render_client_config,
    render_pool_config,
    resolve_settings,
    write_if_changed,
)
from condor_nb.pool.paths import PoolPaths, pool_lock, pool_paths
from condor_nb.pool.procs import port_is_free, port_owner, root_processes
from condor_nb.pool.runtime import RuntimeState, load_runtime, save_runtime
from condor_nb.pool.tools import tools_dir, write_tools

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PoolInfo:
    """A running pool, as start() left it."""

    pool_dir: Path
    root: Path
    port: int
    collector: str  # "127.0.0.1:PORT"
    cpus: int
    memory_mb: int
    identity: str  # the client token's identity, "nbuser@DOMAIN"
    owner: str  # the Owner of submitted jobs
    client_config: Path
    token_dir: Path
    env: dict[str, str]  # client_env(): what a client process needs
    mounts: list[Path] = field(default_factory=list)
    shares: list[Path] = field(default_factory=list)
    built: bool = False  # this call built (or finished building) the root
    started: bool = False  # this call started the daemons
    seconds: float = 0.0


def stderr_progress(message: str) -> None:
    print(f"condor_nb pool: {message}", file=sys.stderr, flush=True)


def require_root() -> None:
    if os.geteuid() != 0:
        raise PoolError(
            "the personal pool needs root (it runs debootstrap, chroot and mount); "
            f"this process runs as uid {os.geteuid()}",
            hint="run the same command as root, e.g. `sudo -E env PATH=$PATH <command>`",
        )


def client_env_for(paths: PoolPaths, port: int) -> dict[str, str]:
    """Environment for a client process; _CONDOR_* also override any stray settings.

    PATH ends with the wrappers of the pool's own HTCondor tools, so a host that has
    HTCondor installed keeps using its own.
    """
    token_dir = str(paths.token_dir)
    address_file = str(paths.root / SCHEDD_ADDRESS_IN_ROOT)
    path = os.environ.get("PATH", "")
    tools = str(tools_dir(paths))
    if tools not in path.split(os.pathsep):
        path = f"{path}{os.pathsep}{tools}" if path else tools
    return {
        "CONDOR_CONFIG": str(paths.client_config),
        "_CONDOR_COLLECTOR_HOST": f"127.0.0.1:{port}",
        "_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS": "IDTOKENS",
        "_CONDOR_SEC_TOKEN_DIRECTORY": token_dir,
        "_CONDOR_SEC_TOKEN_SYSTEM_DIRECTORY": token_dir,
        "_CONDOR_SCHEDD_ADDRESS_FILE": address_file,
        "_CONDOR_SCHEDD_SUPER_ADDRESS_FILE": address_file,
        "PATH": path,
    }


def _write_client(paths: PoolPaths, port: int) -> None:
    """The client configuration and the tools' wrappers, as of this root and port."""
    config = render_client_config(port, paths.token_dir, paths.root)
    write_if_changed(paths.client_config, config)
    write_tools(paths)


def _info(
    paths: PoolPaths, state: RuntimeState, *, built: bool, started: bool, began: float
) -> PoolInfo:
    return PoolInfo(
        pool_dir=paths.base,
        root=paths.root,
        port=state.port,
        collector=f"127.0.0.1:{state.port}",
        cpus=state.cpus,
        memory_mb=state.memory_mb,
        identity=f"{JOB_USER}@{state.uid_domain}",
        owner=JOB_USER,
        client_config=paths.client_config,
        token_dir=paths.token_dir,
        env=client_env_for(paths, state.port),
        mounts=state.mount_paths,
        shares=state.share_paths,
        built=built,
        started=started,
        seconds=round(time.monotonic() - began, 3),
    )


def _check_mounts(paths: PoolPaths, requested: Iterable[str | os.PathLike[str]]) -> list[Path]:
    sources = []
    for item in requested:
        source = mount_table.check_mount_source(Path(item))
        if source == paths.base or paths.base in source.parents or source in paths.base.parents:
            raise PoolError(
                f"cannot mount {source} into the pool: it contains or is inside the pool "
                f"directory {paths.base}",
                hint="mount a folder outside the pool directory",
            )
        if source not in sources:
            sources.append(source)
    return sources


def _mount_extras(
    paths: PoolPaths, state: RuntimeState, extras: list[Path], shares: list[Path]
) -> None:
    kinds = ((extras, state.mounts, False), (shares, state.shares, True))
    for sources, recorded, writable in kinds:
        for source in sources:
            mount_table.bind_same_path(paths.root, source, writable=writable)
            if str(source) not in recorded:
                recorded.append(str(source))


def _is_current(paths: PoolPaths, state: RuntimeState | None, settings: PoolSettings) -> bool:
    """Running with exactly these settings: start() has nothing to (re)start."""
    if state is None or state.settings != settings:
        return False
    try:
        on_disk = paths.pool_config.read_text(encoding="utf-8")
    except OSError:
        return False
    if on_disk != render_pool_config(settings) or not paths.token_file.exists():
        return False
    pids = daemons.daemon_pids(paths)
    return all(name in pids for name in daemons.REQUIRED_DAEMONS)


def start(
    *,
    port: int | None = None,
    cpus: int | None = None,
    memory_mb: int | None = None,
    mounts: Iterable[str | os.PathLike[str]] = (),
    shares: Iterable[str | os.PathLike[str]] = (),
    timeout: float = 120.0,
    progress: Progress | None = None,
) -> PoolInfo:
    """Build (first time), start and wait for the pool; fast when it already runs.

    ``mounts`` are host folders jobs see read-only at the same path (CVMFS-style);
    ``shares`` are host folders the daemons and jobs see read-write at the same path,
    which makes this host and the pool share a filesystem (``shared_filesystem``).
    """
    began = time.monotonic()
    require_root()
    report = progress or stderr_progress
    paths = pool_paths()
    settings = resolve_settings(port, cpus, memory_mb)
    extras = _check_mounts(paths, mounts)
    shared = _check_mounts(paths, shares)
    if set(extras) & set(shared):
        both = ", ".join(str(p) for p in sorted(set(extras) & set(shared)))
        raise PoolError(
            f"{both} was asked to be mounted both read-only and read-write",
            hint="pass each folder once, with --mount (read-only) or --share (read-write)",
        )
    with pool_lock(paths):
        state = load_runtime(paths)
        if is_built(paths) and state is not None and _is_current(paths, state, settings):
            _mount_extras(paths, state, extras, shared)
            daemons.wait_ready(paths, timeout)
            _write_client(paths, state.port)
            save_runtime(paths, state)
            return _info(paths, state, built=False, started=False, began=began)
        return _cold_start(paths, settings, (extras, shared), timeout, report, began)


def _cold_start(
    paths: PoolPaths,
    settings: PoolSettings,
    requested: tuple[list[Path], list[Path]],
    timeout: float,
    report: Progress,
    began: float,
) -> PoolInfo:
    extras, shared = requested
    running = paths.root.exists() and bool(root_processes(paths.root))
    previous = load_runtime(paths)
    if not (running and previous is not None and previous.port == settings.port):
        _check_port_free(settings.port)  # before stopping anything
    if previous is not None:
        # Mounts last until stop(): a restart (new settings, crash) keeps earlier ones.
        kept = [m for m in previous.mount_paths if m.exists() and m not in extras + shared]
        extras = kept + extras
        kept = [m for m in previous.share_paths if m.exists() and m not in extras + shared]
        shared = kept + shared
    if running:
        report("stopping the pool's daemons to start them again with the current settings")
        _stop_locked(paths)
    built = ensure_built(paths, report)
    _check_port_free(settings.port)
    report(f"starting HTCondor on 127.0.0.1:{settings.port} ({paths.root})")
    state = RuntimeState(settings.port, settings.cpus, settings.memory_mb, uid_domain="")
    try:
        mount_table.unmount_all(paths.root)
        mount_table.mount_system(paths.root)
        _mount_extras(paths, state, extras, shared)
        _prepare_root(paths, settings)
        daemons.start_master(paths)
        daemons.wait_ready(paths, timeout)
        state.uid_domain = daemons.uid_domain(paths)
        daemons.mint_token(paths, state.uid_domain)
        _write_client(paths, settings.port)
    except BaseException as exc:
        try:
            _stop_locked(paths)  # a failed start leaves no daemons and no mounts behind
        except Exception as cleanup:
            exc.add_note(f"cleaning up after the failed start also failed: {cleanup}")
        raise
    save_runtime(paths, state)
    info = _info(paths, state, built=built, started=True, began=began)
    report(f"pool ready in {info.seconds:.1f} s (schedd and {settings.cpus}-CPU slot visible)")
    return info


def _check_port_free(port: int) -> None:
    if not port_is_free(port):
        raise PoolError(
            f"port 127.0.0.1:{port} is already used by {port_owner(port)}; "
            "the pool's collector needs it",
            hint=f"stop that process, or give the pool another port: "
            f"CONDOR_NB_POOL_PORT={port + 1} (or start(port=...))",
        )


def _prepare_root(paths: PoolPaths, settings: PoolSettings) -> None:
    daemons.write_hosts(paths.root)
    ensure_job_user(paths.root)
    daemons.reset_run_dirs(paths.root)
    daemons.write_pool_config(paths, settings)


def _stop_locked(paths: PoolPaths) -> None:
    if paths.root.exists():
        daemons.stop_processes(paths)
    for folder in (paths.root, paths.partial_root):
        mount_table.unmount_all(folder)
    state = load_runtime(paths)
    if state is not None and (state.mounts or state.shares):
        state.mounts, state.shares = [], []
        save_runtime(paths, state)


def stop() -> None:
    """Stop every process of the root, then unmount everything under it. Idempotent."""
    require_root()
    paths = pool_paths()
    with pool_lock(paths):
        _stop_locked(paths)


def restart_daemons(daemon: str | None = None, *, timeout: float = 120.0) -> None:
    """``condor_restart`` all daemons (or one: "schedd", "startd"...), then wait until ready."""
    require_root()
    paths = pool_paths()
    with pool_lock(paths):
        if "master" not in daemons.daemon_pids(paths):
            raise PoolError(
                f"the pool in {paths.base} is not running",
                hint="start it first: python -m condor_nb.pool start",
            )
        daemons.restart(paths, daemon, timeout)
