"""Mounts into the root: /proc, /sys, /dev, read-only host folders (CVMFS-style) and
read-write ones (a shared filesystem, as a campus pool's NFS /home).

The kernel's mount table (/proc/self/mountinfo) is the record of what is mounted:
unmounting walks it, so nothing is left behind even after a crash.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from condor_nb.errors import PoolError

#: Host folders bind-mounted into every root (the daemons need them).
SYSTEM_MOUNTS = ("proc", "sys", "dev", "dev/pts")


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040...)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mount_points() -> list[Path]:
    """Every mount point of this mount namespace, in mount order."""
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as table:
        return [Path(_unescape(line.split()[4])) for line in table if line.strip()]


def mounts_under(folder: Path) -> list[Path]:
    """Mount points strictly below ``folder``, most recent (so deepest) first."""
    found = [p for p in mount_points() if folder in p.parents]
    return list(reversed(found))


def is_mount_point(path: Path) -> bool:
    return path in mount_points()


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False)


def _mount(args: list[str]) -> None:
    result = _run(["mount", *args])
    if result.returncode != 0:
        raise PoolError(f"`mount {' '.join(args)}` failed: {result.stderr.strip()}")


def mount_system(root: Path) -> None:
    """Bind-mount /proc, /sys, /dev and /dev/pts, and a private /dev/shm, into ``root``."""
    for name in SYSTEM_MOUNTS:
        target = root / name
        target.mkdir(parents=True, exist_ok=True)
        if not is_mount_point(target):
            _mount(["--bind", f"/{name}", str(target)])
    shm = root / "dev/shm"
    if not is_mount_point(shm):
        # A fresh tmpfs: the job user needs a writable /dev/shm (Python semaphores).
        shm.mkdir(exist_ok=True)
        _mount(["-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "condor_nb_shm", str(shm)])


def check_mount_source(source: Path) -> Path:
    """Absolute, existing, not inside the pool: the only kind of folder we mount."""
    if not source.is_absolute():
        raise PoolError(
            f"a pool mount must be an absolute path, got {str(source)!r}",
            hint=f"pass {str(Path(source).absolute())!r}",
        )
    if not source.exists():
        raise PoolError(f"cannot mount {source} into the pool: it does not exist")
    return Path(os.path.normpath(source))


def _same_file(a: Path, b: Path) -> bool:
    try:
        sa, sb = a.stat(), b.stat()
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def bind_same_path(root: Path, source: Path, *, writable: bool) -> bool:
    """Bind-mount host ``source`` at the same path inside ``root``.

    Returns False when it is already mounted. Refuses to hide a non-empty folder of
    the root itself (mounting /usr would break the daemons).
    """
    source = check_mount_source(source)
    target = root / source.relative_to("/")
    if is_mount_point(target):
        if _same_file(source, target):
            return False
        # The host folder was deleted and made again (a new clone at the same path):
        # the old bind mount still shows the deleted one. Mount the new one instead.
        _run(["umount", "-l", str(target)])
    if source.is_dir():
        if target.is_dir() and any(target.iterdir()):
            raise PoolError(
                f"cannot mount {source} into the pool: {source} already exists inside the "
                "root and is not empty, and mounting over it would hide the root's own files",
                hint="mount a more specific folder (for example the virtual environment itself)",
            )
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.touch()
    _mount(["--bind", str(source), str(target)])
    if not writable:
        # A bind mount ignores "ro" on creation: it takes a remount to make it read-only.
        _mount(["-o", "remount,bind,ro", str(target)])
    _make_parents_traversable(root, target)
    return True


def _make_parents_traversable(root: Path, target: Path) -> None:
    """The job user must be able to walk down to a mount (search permission only)."""
    for parent in target.parents:
        if parent == root or root not in parent.parents:
            break
        mode = parent.stat().st_mode & 0o777
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)


def unmount_all(folder: Path) -> list[Path]:
    """Unmount everything below ``folder``; lazily when busy. Returns what it unmounted."""
    done: list[Path] = []
    for _attempt in range(3):
        points = mounts_under(folder)
        if not points:
            return done
        for point in points:
            result = _run(["umount", str(point)])
            if result.returncode != 0:
                result = _run(["umount", "--lazy", str(point)])
            if result.returncode == 0:
                done.append(point)
    left = mounts_under(folder)
    if left:
        raise PoolError(
            f"could not unmount {', '.join(map(str, left))}",
            hint=f"umount --lazy {' '.join(map(str, left))}",
        )
    return done


def remove_tree_safely(folder: Path) -> None:
    """Delete ``folder`` only once nothing is mounted under it (never /proc, /dev...)."""
    unmount_all(folder)
    if mounts_under(folder):  # pragma: no cover - unmount_all raises first
        raise PoolError(f"refusing to delete {folder}: something is still mounted under it")
    shutil.rmtree(folder, ignore_errors=False)


def present_extra_mounts(root: Path, candidates: Iterable[Path]) -> list[Path]:
    """Which of ``candidates`` (host paths) are currently mounted inside ``root``."""
    points = set(mounts_under(root))
    return [c for c in candidates if root / c.relative_to("/") in points]
