"""Worker Pythons inside the personal pool's root, without touching its system packages.

- ``/opt/cnb-bare``: a venv (no system site-packages) holding exactly what Debian's
  ``python3-ipykernel`` brings (its dependency closure, copied from the root's
  dist-packages) and a sys-prefix kernelspec: an image with Python and ipykernel, but
  no papermill, nbclient, nbformat nor nbconvert.
- ``/opt/cnb-noipykernel``: a plain venv: a Python with nothing but the standard library.

Both are built once, into a temporary folder renamed into place, so that concurrent
test sessions never see half a venv. Jobs select them with ``worker_python``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

BARE, NO_IPYKERNEL = "/opt/cnb-bare", "/opt/cnb-noipykernel"
DIST = "/usr/lib/python3/dist-packages/"
HIDDEN = ("papermill", "nbclient", "nbformat", "nbconvert")


def _chroot(root: Path, *args: str) -> str:
    proc = subprocess.run(
        ["chroot", str(root), *args], capture_output=True, text=True, timeout=300, check=True
    )
    return proc.stdout


def _closure(root: Path, package: str) -> list[str]:
    """Debian packages ``package`` needs (python3-* only), virtual names resolved."""
    provides: dict[str, str] = {}
    for line in _chroot(root, "dpkg-query", "-W", "-f=${Package}\t${Provides}\n").splitlines():
        name, _, provided = line.partition("\t")
        for item in provided.split(","):
            if item.strip():
                provides.setdefault(item.split("(")[0].strip(), name)
    todo: list[str] = [package]
    seen: list[str] = []
    while todo:
        wanted = todo.pop()
        name = wanted if wanted not in provides or _installed(root, wanted) else provides[wanted]
        if name in seen or not _installed(root, name):
            continue
        seen.append(name)
        depends = _chroot(root, "dpkg-query", "-W", "-f=${Depends}", name)
        for alt in depends.split(","):
            dep = alt.split("|")[0].split("(")[0].strip().removesuffix(":any")
            if dep.startswith("python3-"):
                todo.append(dep)
    return seen


def _installed(root: Path, name: str) -> bool:
    proc = subprocess.run(
        ["chroot", str(root), "dpkg-query", "-W", "-f=${Status}", name],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode == 0 and proc.stdout.strip() == "install ok installed"


def _python_files(root: Path, packages: list[str]) -> list[str]:
    files = _chroot(root, "dpkg", "-L", *packages).splitlines()
    return sorted({f for f in files if f.startswith(DIST) and f != DIST.rstrip("/")})


def _venv(root: Path, where: str) -> Path:
    """A fresh venv built at a temporary path inside the root; returns its host path."""
    tmp = f"{where}.partial"
    shutil.rmtree(root / tmp.lstrip("/"), ignore_errors=True)
    _chroot(root, "python3", "-m", "venv", "--without-pip", tmp)
    return root / tmp.lstrip("/")


def _publish(root: Path, partial: Path, where: str) -> None:
    final = root / where.lstrip("/")
    for path in [partial, *partial.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))
    try:
        partial.rename(final)
    except OSError:  # another session published it first
        shutil.rmtree(partial, ignore_errors=True)


def ensure(root: Path) -> tuple[str, str]:
    """Build (once) and return the two worker Pythons, as paths inside the root."""
    if not (root / BARE.lstrip("/") / "bin/python").exists():
        partial = _venv(root, BARE)
        site = next(partial.glob("lib/python3.*/site-packages"))
        for file in _python_files(root, _closure(root, "python3-ipykernel")):
            source, target = root / file.lstrip("/"), site / file[len(DIST) :]
            if source.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            elif source.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target, follow_symlinks=True)
        spec = partial / "share/jupyter/kernels/python3"
        spec.mkdir(parents=True)
        argv = [f"{BARE}/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        kernel = {"argv": argv, "display_name": "Python 3 (bare)", "language": "python"}
        (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
        # Bytecode, as Debian's py3compile makes it for an installed package: jobs (another
        # user) could not write it, and would recompile ipykernel at every start.
        _chroot(root, f"{BARE}.partial/bin/python", "-m", "compileall", "-q", f"{BARE}.partial")
        _publish(root, partial, BARE)
    if not (root / NO_IPYKERNEL.lstrip("/") / "bin/python").exists():
        _publish(root, _venv(root, NO_IPYKERNEL), NO_IPYKERNEL)
    return f"{BARE}/bin/python", f"{NO_IPYKERNEL}/bin/python"


def importable(root: Path, python: str, module: str) -> bool:
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    proc = subprocess.run(["chroot", str(root), python, "-c", code], check=False, timeout=60)
    return proc.returncode == 0
