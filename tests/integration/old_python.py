"""A worker with Python 3.9 and ipykernel but no papermill: a Debian 11 (bullseye) root.

Debian 11's own ``python3`` (3.9.2) and ``python3-ipykernel`` (5.4.3, with jupyter_client
6.1.11, traitlets 5.0.5, tornado 6.1, pyzmq 20): the oldest worker condor_nb supports, and
an image as a user would bring one. Built with debootstrap (``--variant=minbase``, about
a minute and 45 MB of packages), trimmed (apt's caches and lists, docs, locales: about
200 MB left) and cached, so a test session builds it once per machine:

    make py39-root            # or: python -m tests.integration.old_python

Where: ``CONDOR_NB_PY39_ROOT``, else ``$XDG_CACHE_HOME/condor_nb/test-roots/debian11-py39``.
Mirror: ``CONDOR_NB_PY39_MIRROR``, else deb.debian.org, else archive.debian.org (where
Debian moves a release it no longer supports). Needs root (debootstrap, chroot); a test
that cannot have it skips, saying why (:func:`unavailable`).

A second worker in the same root, :func:`ensure_modern`: a venv of that Python 3.9 with
the newest ipykernel for 3.9 when written (6.31, jupyter_client 8.6), installed by this host's pip.

The wrapper runs in the root the way a job runs it: ``python3 condor_nb_run.py`` in a
scratch folder holding the shipped files, as an unprivileged user (:func:`run_wrapper`).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

SUITE = "bullseye"
PACKAGES = ("python3", "python3-ipykernel")
MIRRORS = ("http://deb.debian.org/debian", "http://archive.debian.org/debian")
MARKER = ".condor_nb-root-complete"
FORMAT = "1"  # bump when what the root holds changes
TRIMMED = (
    "var/cache/apt",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/locale",
    "usr/share/man",
    "usr/share/info",
)
NOBODY = "65534:65534"
PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"


def root_dir() -> Path:
    explicit = os.environ.get("CONDOR_NB_PY39_ROOT")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "condor_nb" / "test-roots" / "debian11-py39"


def _debootstrap() -> str | None:
    found = shutil.which("debootstrap")
    return found or ("/usr/sbin/debootstrap" if os.path.exists("/usr/sbin/debootstrap") else None)


def unavailable() -> str | None:
    """Why this machine cannot build or use the root, or None."""
    if _complete(root_dir()):
        return None if os.geteuid() == 0 else "running the Debian 11 root needs root (chroot)"
    if os.geteuid() != 0:
        return "building the Debian 11 root needs root (debootstrap, chroot)"
    if _debootstrap() is None:
        return "debootstrap is not installed (apt-get install debootstrap, or make system)"
    return None


def _complete(root: Path) -> bool:
    try:
        return (root / MARKER).read_text(encoding="utf-8").strip() == FORMAT
    except OSError:
        return False


def _mirror() -> str:
    explicit = os.environ.get("CONDOR_NB_PY39_MIRROR")
    candidates = (explicit,) if explicit else MIRRORS
    errors = []
    for url in candidates:
        release = f"{url.rstrip('/')}/dists/{SUITE}/Release"
        try:
            with urllib.request.urlopen(urllib.request.Request(release, method="HEAD"), timeout=20):
                return url
        except (urllib.error.URLError, OSError) as exc:
            errors.append(f"{release}: {exc}")
    raise RootUnavailable(
        f"no Debian mirror with {SUITE} is reachable ({'; '.join(errors)}); "
        "set CONDOR_NB_PY39_MIRROR to one that is"
    )


class RootUnavailable(Exception):
    """The root cannot be built here (no network to a Debian mirror...)."""


def _unmount_below(path: Path) -> None:
    """debootstrap may leave /proc or /sys mounted in the new root after a failure."""
    with open("/proc/mounts", encoding="utf-8") as f:
        points = [line.split()[1] for line in f]
    for point in sorted(points, key=len, reverse=True):
        if point == str(path) or point.startswith(f"{path}/"):
            subprocess.run(["umount", "-l", point], check=False)


def ensure(progress: bool = False) -> Path:
    """Build the root once (under a lock; into a temporary folder renamed into place)."""
    root = root_dir()
    if _complete(root):
        return root
    reason = unavailable()
    if reason:
        raise RootUnavailable(reason)
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session builds it: wait, then use it
        if _complete(root):
            return root
        url = _mirror()
        partial = root.with_name(f"{root.name}.partial")
        _unmount_below(partial)
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        command = [_debootstrap() or "debootstrap", "--variant=minbase"]
        command += [f"--include={','.join(PACKAGES)}", SUITE, str(partial), url]
        t0 = time.monotonic()
        if progress:
            print(f"debootstrap {SUITE} from {url} into {partial}", flush=True)
        env = {**os.environ, "PATH": PATH}
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
        _unmount_below(partial)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip()[-2000:]
            raise RootUnavailable(f"debootstrap failed ({proc.returncode}): {tail}")
        for rel in TRIMMED:
            for child in (partial / rel).glob("*"):
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        (partial / MARKER).write_text(FORMAT + "\n", encoding="utf-8")
        partial.rename(root)
        if progress:
            print(f"built {root} in {time.monotonic() - t0:.0f} s", flush=True)
    return root


MODERN = "/opt/py39-ipykernel6"  # a venv in the root: Python 3.9, a recent ipykernel
MODERN_PIN = "ipykernel==6.31.0"  # the newest for 3.9 when written (jupyter_client 8.6)


def _missing_for_39(site: Path) -> list[str]:
    """Requirements of the distributions in ``site`` that Python 3.9 needs and are absent."""
    from importlib import metadata

    from packaging.requirements import Requirement

    env = {"python_version": "3.9", "python_full_version": "3.9.2", "extra": ""}
    dists = list(metadata.distributions(path=[str(site)]))
    have = {d.metadata["Name"].lower().replace("_", "-") for d in dists}
    missing = []
    for dist in dists:
        for line in dist.requires or []:
            req = Requirement(line)
            name = req.name.lower().replace("_", "-")
            if name not in have and (req.marker is None or req.marker.evaluate(env)):
                missing.append(str(req).split(";")[0])
    return sorted(set(missing))


def ensure_modern(root: Path) -> str:
    """A venv in the root (Debian 11's Python 3.9, no system packages) holding a recent
    ipykernel stack (:data:`MODERN_PIN`, its dependencies resolved by this host's pip for
    3.9) and its kernelspec; built once. Returns its python, as a path in the root."""
    final = root / MODERN.lstrip("/")
    python = f"{MODERN}/bin/python"
    if (final / MARKER).exists():
        return python
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / MARKER).exists():
            return python
        partial = final.with_name(final.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        inside = "/" + str(partial.relative_to(root))
        subprocess.run(["chroot", str(root), "python3", "-m", "venv", "--without-pip", inside],
                       check=True, capture_output=True, timeout=300)  # fmt: skip
        site = partial / "lib/python3.9/site-packages"
        wanted = [MODERN_PIN]
        for _ in range(4):  # pip --python-version does not evaluate markers for 3.9: redo
            command = [sys.executable, "-m", "pip", "install", "-q", "--target", str(site)]
            command += ["--python-version", "3.9", "--implementation", "cp", "--abi", "cp39"]
            command += ["--platform", "manylinux2014_x86_64", "--only-binary=:all:", *wanted]
            proc = subprocess.run(command, capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                raise RootUnavailable(f"pip install {wanted} failed: {proc.stderr[-1500:]}")
            wanted = _missing_for_39(site)
            if not wanted:
                break
        shutil.rmtree(site / "bin", ignore_errors=True)  # scripts for the host's Python
        share = site / "share"
        spec = partial / "share/jupyter/kernels/python3"
        spec.mkdir(parents=True)
        argv = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        kernel = {"argv": argv, "display_name": "Python 3 (ipykernel 6)", "language": "python"}
        (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
        shutil.rmtree(share, ignore_errors=True)
        for path in [partial, *partial.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))
        (partial / MARKER).write_text(FORMAT + "\n", encoding="utf-8")
        partial.rename(final)
    return python


def run_in_root(
    root: Path, cwd: str, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``args`` in the root, in ``cwd`` (a path inside it), as nobody, with a bare
    environment (HOME is the scratch folder, as HTCondor sets it for a job)."""
    env = ["/usr/bin/env", "-i", f"HOME={cwd}", f"PATH={PATH}", "LANG=C.UTF-8"]
    command = ["chroot", f"--userspec={NOBODY}", str(root), *env]
    command += ["/bin/sh", "-c", 'cd "$0" && exec "$@"', cwd, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def run_wrapper(
    root: Path, scratch: Path, python: str = "python3", timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the job wrapper in ``scratch`` (a folder inside ``root``) as a job would."""
    for path in [scratch, *scratch.rglob("*")]:
        os.chown(path, 65534, 65534)
    inside = "/" + str(scratch.relative_to(root))
    return run_in_root(root, inside, python, "condor_nb_run.py", timeout=timeout)


if __name__ == "__main__":
    why = unavailable()
    if why:
        sys.exit(f"cannot build the Debian 11 root: {why}")
    try:
        print(ensure(progress=True))
        print(ensure_modern(root_dir()))
    except RootUnavailable as exc:
        sys.exit(f"cannot build the Debian 11 root: {exc}")


IN_POOL = "/opt/cnb-debian11"  # Debian 11's /usr, inside the personal pool's root
EXTRA_LIBS = ("libffi.so.7", "libssl.so.1.1", "libcrypto.so.1.1", "libmpdec.so.3")


def install_in_pool_root(pool_root: Path) -> str:
    """Debian 11's Python 3.9 and python3-ipykernel, runnable by the pool's jobs.

    The pool's jobs run in its Debian 13 root, so Debian 11's ``/usr`` is copied (hard
    links when on the same filesystem) to :data:`IN_POOL` there. Its python3.9 runs on
    Debian 13's C library; the few libraries Debian 13 no longer has (:data:`EXTRA_LIBS`)
    come from Debian 11 through LD_LIBRARY_PATH, and a kernelspec names the launcher, so
    the kernel is that Python too. Built once; returns the launcher (``worker_python``).
    """
    root = ensure()
    final = pool_root / IN_POOL.lstrip("/")
    launcher = f"{IN_POOL}/bin/python3"
    if (final / MARKER).exists():
        return launcher
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    copy = subprocess.run(["cp", "-al", str(root / "usr"), str(partial / "usr")], check=False)
    if copy.returncode != 0:  # another filesystem: a plain copy
        shutil.rmtree(partial / "usr", ignore_errors=True)
        subprocess.run(["cp", "-a", str(root / "usr"), str(partial / "usr")], check=True)
    (partial / "lib").mkdir()
    for name in EXTRA_LIBS:
        shutil.copy2(root / "usr/lib/x86_64-linux-gnu" / name, partial / "lib" / name)
    (partial / "bin").mkdir()
    script = (
        "#!/bin/sh\n"
        f"LD_LIBRARY_PATH={IN_POOL}/lib${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}\n"
        f"JUPYTER_PATH={IN_POOL}/share/jupyter${{JUPYTER_PATH:+:$JUPYTER_PATH}}\n"
        "export LD_LIBRARY_PATH JUPYTER_PATH\n"
        f'exec {IN_POOL}/usr/bin/python3.9 "$@"\n'
    )
    (partial / "bin/python3").write_text(script, encoding="utf-8")
    (partial / "bin/python3").chmod(0o755)
    spec = partial / "share/jupyter/kernels/python3"
    spec.mkdir(parents=True)
    argv = [launcher, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3.9 (Debian 11)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    for path in (partial / "share", partial / "bin", partial / "lib", partial):
        path.chmod(0o755)
    (spec / "kernel.json").chmod(0o644)
    (partial / MARKER).write_text(FORMAT + "\n", encoding="utf-8")
    try:
        partial.rename(final)
    except OSError:  # another session published it first
        shutil.rmtree(partial, ignore_errors=True)
    return launcher
