"""Building the pool's root: Debian 13 "trixie" with minicondor and papermill.

Debian 12 has no HTCondor and Debian 13 needs a newer glibc, so the daemons live
in their own root folder. A build goes into ``root.partial/`` and is renamed to
``root/`` only when complete; ``built.json`` is written last. Anything else found
on disk is unfinished: a build resumes after debootstrap when that stage is
recorded as done, and starts again otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from condor_nb.errors import PoolError
from condor_nb.pool import mounts
from condor_nb.pool.config import JOB_USER, mirror, write_if_changed
from condor_nb.pool.paths import PoolPaths
from condor_nb.pool.procs import ROOT_ENV, chroot_binary, run_in_root

Progress = Callable[[str], None]

SUITE = "trixie"
PACKAGES = ("minicondor", "python3-papermill", "python3-ipykernel", "python3-nbconvert")
#: Bump when the build recipe changes: older roots are then rebuilt.
BUILD_FORMAT = 1
STAGE_DEBOOTSTRAPPED = "debootstrap-done"
MIN_FREE_BYTES = 2 * 1024**3


def is_built(paths: PoolPaths) -> bool:
    """A trusted root: its marker is current and the daemons are where they should be."""
    try:
        marker = json.loads(paths.built_marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(marker, dict)
        and marker.get("format") == BUILD_FORMAT
        and (paths.root / "usr/sbin/condor_master").exists()
    )


def find_debootstrap() -> str:
    found = shutil.which("debootstrap") or (
        "/usr/sbin/debootstrap" if os.path.exists("/usr/sbin/debootstrap") else None
    )
    if found is None:
        raise PoolError(
            "debootstrap is not installed; it is needed to build the pool's Debian 13 root",
            hint="apt-get install debootstrap",
        )
    return found


def check_mirror(url: str) -> None:
    import urllib.error  # lazy: `import condor_nb.pool` is on the CLI's hot path
    import urllib.request

    release = f"{url.rstrip('/')}/dists/{SUITE}/Release"
    try:
        with urllib.request.urlopen(urllib.request.Request(release, method="HEAD"), timeout=20):
            pass
    except (urllib.error.URLError, OSError) as exc:
        raise PoolError(
            f"cannot reach the Debian mirror {url} (HEAD {release}: {exc}); the first start "
            "downloads about 150 MB of Debian packages",
            hint="check the network or http_proxy, or set CONDOR_NB_POOL_MIRROR to a "
            "reachable Debian mirror (for example http://ftp.de.debian.org/debian)",
        ) from exc


def check_free_space(folder: Path) -> None:
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise PoolError(
            f"only {free / 1024**3:.1f} GB free under {folder}; the pool's root needs about 2 GB",
            hint="free some space, or set CONDOR_NB_POOL_DIR to a folder on a larger disk",
        )


def _run_logged(args: Sequence[str], log: Path, env: dict[str, str], timeout: float) -> int:
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(args)}\n")
        out.flush()
        try:
            return subprocess.run(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=timeout,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            out.write(f"timed out after {timeout:.0f} s\n")
            return -1


def _log_tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _failed(what: str, log: Path) -> PoolError:
    return PoolError(
        f"{what} failed; last lines of {log}:\n{_log_tail(log)}",
        hint="fix the cause above and start again: the build resumes where it stopped",
    )


def _debootstrap(paths: PoolPaths, progress: Progress) -> None:
    url = mirror()
    progress(f"debootstrap {SUITE} from {url} into {paths.partial_root} (about 20 s)")
    env = dict(os.environ)
    env["PATH"] = ROOT_ENV["PATH"]
    command = [find_debootstrap(), "--variant=minbase", SUITE, str(paths.partial_root), url]
    if _run_logged(command, paths.build_log, env, timeout=1800) != 0:
        mounts.unmount_all(paths.partial_root)
        raise _failed("debootstrap", paths.build_log)
    mounts.unmount_all(paths.partial_root)
    paths.build_stage.write_text(STAGE_DEBOOTSTRAPPED, encoding="utf-8")


def _in_root(paths: PoolPaths, *args: str, timeout: float = 1800) -> int:
    command = [chroot_binary(), str(paths.partial_root), *args]
    return _run_logged(command, paths.build_log, ROOT_ENV, timeout)


def _install_packages(paths: PoolPaths, progress: Progress) -> None:
    root = paths.partial_root
    progress(f"installing {' '.join(PACKAGES)} into the root (about 30 s)")
    # No daemon may start while packages are configured (invoke-rc.d asks this script).
    write_if_changed(root / "usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", mode=0o755)
    resolv = Path("/etc/resolv.conf")
    if resolv.exists():
        (root / "etc/resolv.conf").unlink(missing_ok=True)
        shutil.copyfile(resolv, root / "etc/resolv.conf")
    mounts.mount_system(root)
    try:
        if _in_root(paths, "dpkg", "--configure", "-a") != 0:
            raise _failed("dpkg --configure -a", paths.build_log)
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
        if _in_root(paths, *install) != 0:
            progress("apt-get install failed; refreshing package lists and trying again")
            if _in_root(paths, "apt-get", "update", "-q") != 0:
                raise _failed("apt-get update", paths.build_log)
            if _in_root(paths, *install) != 0:
                raise _failed("apt-get install", paths.build_log)
        ensure_job_user(root)
        check = "import papermill, nbconvert, ipykernel"
        if _in_root(paths, "python3", "-c", check) != 0:
            raise _failed("importing papermill in the root", paths.build_log)
        _in_root(paths, "apt-get", "clean")
    finally:
        mounts.unmount_all(root)


def ensure_job_user(root: Path) -> None:
    """Jobs run as JOB_USER (never root): the client's token identity maps to it."""
    passwd = (root / "etc/passwd").read_text(encoding="utf-8")
    if not any(line.startswith(f"{JOB_USER}:") for line in passwd.splitlines()):
        run_in_root(root, ["useradd", "--create-home", "--shell", "/bin/bash", JOB_USER])


def _take_over_unfinished(paths: PoolPaths, progress: Progress) -> None:
    """Turn what an interrupted build left into a ``root.partial`` to resume, or remove it."""
    if paths.root.exists():
        # root/ without a current marker: not trusted, but debootstrap did finish.
        progress(f"{paths.root} is not marked as completely built; checking it again")
        mounts.unmount_all(paths.root)
        if paths.partial_root.exists():
            mounts.remove_tree_safely(paths.partial_root)
        paths.root.rename(paths.partial_root)
        paths.build_stage.write_text(STAGE_DEBOOTSTRAPPED, encoding="utf-8")
        return
    if not paths.partial_root.exists():
        return
    try:
        stage = paths.build_stage.read_text(encoding="utf-8").strip()
    except OSError:
        stage = ""
    if stage == STAGE_DEBOOTSTRAPPED and (paths.partial_root / "usr/bin/apt-get").exists():
        progress(f"resuming the interrupted build in {paths.partial_root}")
        return
    progress(f"removing the unfinished debootstrap in {paths.partial_root}")
    mounts.remove_tree_safely(paths.partial_root)
    paths.build_stage.unlink(missing_ok=True)


def ensure_built(paths: PoolPaths, progress: Progress) -> bool:
    """Build (or finish building) the root unless it is complete. True if it built."""
    if is_built(paths):
        return False
    started = time.monotonic()
    paths.base.mkdir(parents=True, exist_ok=True)
    find_debootstrap()
    check_free_space(paths.base)
    url = mirror()
    check_mirror(url)
    paths.built_marker.unlink(missing_ok=True)
    _take_over_unfinished(paths, progress)
    if not paths.partial_root.exists():
        paths.build_stage.unlink(missing_ok=True)
        _debootstrap(paths, progress)
    _install_packages(paths, progress)
    paths.partial_root.rename(paths.root)
    marker = {
        "format": BUILD_FORMAT,
        "suite": SUITE,
        "packages": list(PACKAGES),
        "mirror": url,
        "built_at": time.time(),
        "seconds": round(time.monotonic() - started, 1),
    }
    write_if_changed(paths.built_marker, json.dumps(marker, indent=2) + "\n")
    paths.build_stage.unlink(missing_ok=True)
    progress(f"root built in {marker['seconds']} s")
    return True
