"""The executor for worker Pythons older than this host's packages support (3.9 and on).

This host's papermill & co. are recent releases; several need Python >= 3.10 or 3.11
(their ``Requires-Python``; ``Plan.min_python()`` names the strictest). A worker whose
Python is older cannot import them. So the zip also carries a second, complete executor
tree, :data:`VARIANT_DIR`, built from the pinned releases below: the newest that support
Python 3.9 *and* the ipykernel stack of the oldest image condor_nb supports (Debian 11's
``python3-ipykernel`` 5.4.3: jupyter_client 6.1.11, traitlets 5.0.5, jupyter_core 4.7.1,
pygments 2.7.1, tornado 6.1, pyzmq 20). The wrapper picks it when the worker's Python is
older than the main tree's ``min_python`` (condor_nb/worker/executor.py).

The pins are exact, with their sha256: the same input always gives the same zip. They
were resolved with (a Python 3.9's pip, the ipykernel stack pinned in a constraints file)::

    python3.9 -m pip download --dest d --only-binary=:all: -c debian11-ipykernel.txt \\
        papermill nbclient nbformat nbconvert

less that stack (the worker's), and less jsonschema and its compiled closure (replaced, as
in the main tree). The wheels are downloaded once (``pip download --no-deps
--require-hashes``, PyPI or the index pip is configured with) into the executor cache,
then reused for every build. Set ``CONDOR_NB_EXECUTOR_OLD_PYTHONS=off`` to leave the tree
out (no download; workers then need the main tree's ``min_python``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from condor_nb import __version__
from condor_nb.errors import CondorNbError

VARIANT_DIR = "condor_nb_py39"
MIN_PYTHON = "3.9"
ENV = "CONDOR_NB_EXECUTOR_OLD_PYTHONS"  # "auto" (default) or "off"
PLATFORM = "manylinux2014_x86_64"  # for the few wheels with extension modules (left out)
#: The worker's own (ipykernel's), in the oldest supported image: never shipped.
BASELINE = {
    "ipykernel": "5.4.3",
    "jupyter-client": "6.1.11",
    "jupyter-core": "4.7.1",
    "traitlets": "5.0.5",
    "pygments": "2.7.1",
    "tornado": "6.1",
    "pyzmq": "20.0.0",
}
PINS = {
    "ansicolors==1.1.8": "00d2dde5a675579325902536738dd27e4fac1fd68f773fe36c21044eb559e187",
    "beautifulsoup4==4.15.0": "d6f88de62e1d4e38ecb1077eb9724cd0eff29d2a08ca16a401e9b9e93f117cf9",
    "bleach==6.2.0": "117d9c6097a7c3d22fd578fcd8d35ff1e125df6736f554da4e432fdd63f31e5e",
    "certifi==2026.10.19.post1": "1324c476b4811eff41a8bc2122cd0bbd4d9c7234c725446d99ab1612b3a7fdd2",
    "charset_normalizer==3.5.3": "39229c222445415db07a0be4dff8ad1addc3126644d7aa72d73f1575b637d69e",
    "click==8.1.8": "63c132bbbed01578a06712a2d1f497bb62d9c1c0d329b7903a866228027263b2",
    "defusedxml==0.7.1": "a352e7e428770286cc899e2542b6cdaedb2b4953ff269a210103ec58f6198a61",
    "entrypoints==0.4.2": "238a642cf1d295e1921347fc462d7b10110cb47f370ba22f6e1391776c3cec25",
    "fastjsonschema==2.21.2": "1c797122d0a86c5cace2e54bf4e819c36223b552017172f32c5c024a6b77e463",
    "idna==3.20": "ab7ae7122974553370f0bdb919e1a960b2cd1bc1ef0276416d896db81c14582c",
    "importlib_metadata==8.7.1": "5a1f80bf1daa489495071efbb095d75a634cf28a8bc299581244063b53176151",
    "jinja2==3.1.6": "85ece4451f492d0c13c5dd7c13a64681a86afae63a5f347908daf103ce6d2f67",
    "jupyterlab-pygments==0.3.0": "841a89020971da1d8693f1a99997aefc5dc424bb1b251fd6322462a1b8842780",  # noqa: E501
    "markupsafe==3.0.4": "5e8b3d0b18fd623afa12ecb2ce8d8becef69f9b5440c6330c7972200e0bb84b0",
    "mistune==2.1.0": "8208c43d6771da99f8195ac4499ec1373202d3726564c93092302fc3ac92dc38",
    "nbclient==0.6.3": "2747ac9b385720d8a6c34f2f71e72cbe64aec6cadaadcc064a4df0b0e99c5874",
    "nbconvert==7.4.0": "af5064a9db524f9f12f4e8be7f0799524bd5b14c1adea37e34e83c95127cc818",
    "nbformat==5.3.0": "38856d97de49e8292e2d5d8f595e9d26f02abfd87e075d450af4511870b40538",
    "nest_asyncio==1.6.0": "87af6efd6b5e897c81050477ef65c62e2b2f35d51703cae01aff2905b1852e1c",
    "packaging==26.3": "d7193f7c8e4e93f444fde0262bf90af30e16fa0ad0ad44cb553c87339b23cd1c",
    "pandocfilters==1.5.1": "93be382804a9cdb0a7267585f157e5d1731bbe5545a85b268d6f5fe6232de2bc",
    "papermill==2.6.0": "0f09da6ef709f3f14dde77cb1af052d05b14019189869affff374c9e612f2dd5",
    "pyyaml==6.0.3": "0150219816b6a1fa26fb4699fb7daa9caf09eb1999f3b70fb6e786805e80375a",
    "requests==2.32.5": "2462f94637a34fd532264295e186976db0f5d453d1cdd31473c85a6a161affb6",
    "soupsieve==2.8.4": "e7e6b0769c8f51ed59acab6e994b00621096cfb1c640a7509295987388fbaf65",
    "tenacity==9.1.2": "f77bf36710d8b73a50b2dd155c97b870017ad21afe6ab300326b0371b3b05138",
    "tinycss2==1.4.0": "3a49cf47b7675da0b15d0c6e1df8df4ebd96e9394bb905a5775adb0d884c5289",
    "tqdm==4.70.1": "c293e525e6fef9c20e8728fd4612df02a0aa31bb5fe91ecd93e123b1b7bffa73",
    "typing_extensions==4.16.0": "481caa481374e813c1b176ada14e97f1f67a4539ce9cfeb3f350d78d6370c2e8",
    "urllib3==2.6.3": "bf272323e553dfb2e87d9bfd225ca7b0f467b919d7bbd355436d3fd37cb0acd4",
    "webencodings==0.5.1": "a0af1213f3c2226497a97e2b3aa01a7e4bee4f403f95be16fc9acd2947514a78",
    "zipp==3.23.1": "0b3596c50a5c700c9cb40ba8d86d9f2cc4807e9bedb06bcdf7fac85633e444dc",
}
#: Wheel layout -> zip layout (the same rules as the main tree's, condor_nb/submission/executor.py).
DIST_INFO_KEPT = ("/METADATA", "/entry_points.txt", "/top_level.txt")
SKIPPED = (".pyc", ".pyo", ".pyi", "py.typed")
COMPILED = (".so", ".pyd", ".dll", ".dylib")
ROOTS = ("papermill", "nbclient", "nbformat", "nbconvert")
REPLACED = "compiled rpds-py; fastjsonschema validates, a stand-in is shipped"


class OldPythonsError(CondorNbError):
    """The executor for older worker Pythons cannot be downloaded or built."""


def enabled() -> bool:
    """Whether the zip carries the tree for older Pythons (``CONDOR_NB_EXECUTOR_OLD_PYTHONS``)."""
    value = os.environ.get(ENV, "auto").strip().lower()
    if value not in ("auto", "off", ""):
        raise OldPythonsError(
            f"{ENV} must be 'auto' or 'off', not {value!r}",
            hint=f"unset {ENV}, or set it to 'off' to ship only this host's executor",
        )
    return value != "off"


def key() -> str:
    """Names the pinned set: a change to the pins makes a new download and a new zip."""
    text = json.dumps([VARIANT_DIR, MIN_PYTHON, PLATFORM, BASELINE, PINS], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def wheels(cache: Path) -> list[Path]:
    """The pinned wheels, downloaded once into ``cache`` (checked against their sha256)."""
    folder = cache / f"wheels-py39-{key()}"
    found = sorted(folder.glob("*.whl"))
    if len(found) == len(PINS):
        return found
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cache, prefix=".wheels-"))
    try:
        requirements = tmp / "requirements.txt"
        lines = [f"{pin} --hash=sha256:{digest}" for pin, digest in PINS.items()]
        requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes"]
        command += ["--only-binary=:all:", "--python-version", MIN_PYTHON, "--implementation"]
        command += ["cp", "--abi", "cp39", "--platform", PLATFORM, "--dest", str(tmp / "whl")]
        command += ["--disable-pip-version-check", "--progress-bar", "off", "-r", str(requirements)]
        command += ["--retries", "2", "--timeout", "20"]  # offline: fail in a minute, not five
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise _download_failed(f"{type(exc).__name__}: {exc}") from None
        got = sorted((tmp / "whl").glob("*.whl"))
        if proc.returncode != 0 or len(got) != len(PINS):
            raise _download_failed(
                f"pip exited {proc.returncode}: {proc.stderr.strip()[-1500:]}"
            ) from None
        try:
            (tmp / "whl").rename(folder)
        except OSError:  # another build published them first
            if len(list(folder.glob("*.whl"))) != len(PINS):
                raise
        return sorted(folder.glob("*.whl"))
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def _download_failed(detail: str) -> OldPythonsError:
    return OldPythonsError(
        f"cannot download the executor for worker Pythons {MIN_PYTHON} and later "
        f"({len(PINS)} pinned wheels, once, into the executor cache): {detail}",
        hint=(
            "let pip reach PyPI (or an index it is configured with: PIP_INDEX_URL, "
            f"pip.conf) once, or set {ENV}=off to ship only this host's executor (then "
            "workers need the Python its packages require; the job says which)"
        ),
    )


@dataclass
class Tree:
    """What went into the zip's tree for older Pythons (its own manifest)."""

    shipped: dict[str, str] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)
    needs: dict[str, list[str]] = field(default_factory=dict)
    optional: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    from_main: dict[str, list[str]] = field(default_factory=dict)  # name -> top-level paths


def _metadata(wheel: zipfile.ZipFile) -> tuple[str, str, list[str]]:
    from email.parser import HeaderParser

    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    meta = HeaderParser().parsestr(wheel.read(name).decode("utf-8"))
    return _norm(meta["Name"]), meta["Version"], meta.get_all("Requires-Dist") or []


def _requirements(lines: list[str]) -> list[tuple[str, str]]:
    """(name, specifier) of the requirements a Python 3.9 worker installs (no extras)."""
    from packaging.requirements import Requirement

    env = {"python_version": MIN_PYTHON, "python_full_version": "3.9.2", "extra": ""}
    env.update(sys_platform="linux", platform_system="Linux", os_name="posix")
    out = []
    for line in lines:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(env):
            out.append((_norm(req.name), str(req.specifier)))
    return out


def add(
    zf: zipfile.ZipFile,
    cache: Path,
    fallback: Path,
    main_min_python: str,
    main: dict[str, tuple[str, list[str]]],
    layout: dict[str, Any],
) -> Tree:
    """Write the tree for older Pythons into ``zf`` under :data:`VARIANT_DIR`, with its
    own manifest, share folder and jsonschema stand-in (the main tree's layout).

    ``main``: the main tree's optional distributions, name -> (version, top-level paths).
    One pinned here in the same version is not written twice: the manifest's
    ``from_main`` names its paths, which the wrapper extracts into this tree.
    ``layout``: the main tree's names (FALLBACK_DIR, SHARE_DIR, MANIFEST, FORMAT)."""

    fallback_dir, share_dir = layout["FALLBACK_DIR"], layout["SHARE_DIR"]
    manifest_name, fmt = layout["MANIFEST"], layout["FORMAT"]

    tree = Tree()
    requires: dict[str, list[tuple[str, str]]] = {}
    tops: dict[str, set[str]] = {}
    for path in wheels(cache):
        with zipfile.ZipFile(path) as wheel:
            name, version, lines = _metadata(wheel)
            tree.shipped[name] = version
            requires[name] = _requirements(lines)
            same = main.get(name, ("", []))[0] == version
            if same:
                tree.from_main[name] = main[name][1]
            compiled = 0
            for info in sorted(wheel.infolist(), key=lambda i: i.filename):
                rel = info.filename
                first = rel.split("/")[0]
                if info.is_dir() or "__pycache__" in rel or rel.endswith(SKIPPED):
                    continue
                if first.endswith(".data"):  # share/jupyter (nbconvert's templates) only
                    if "/data/share/jupyter/nbconvert/" not in rel:
                        continue
                    rel = share_dir + "/" + rel.split("/data/share/jupyter/", 1)[1]
                elif first.endswith(".dist-info") and not rel.endswith(DIST_INFO_KEPT):
                    continue
                elif rel.endswith(COMPILED):
                    compiled += 1
                    continue
                if not rel.startswith(share_dir):
                    tops.setdefault(name, set()).add(first)
                    if same:
                        continue
                out = zipfile.ZipInfo(f"{VARIANT_DIR}/{rel}", date_time=info.date_time)
                out.external_attr = 0o644 << 16
                zf.writestr(out, wheel.read(info), zipfile.ZIP_DEFLATED, 6)
            if compiled:
                tree.left_out[f"{name} (extension modules)"] = "pure-Python fallback used"
    tree.left_out["jsonschema"] = REPLACED
    for name, reqs in requires.items():
        for dep, spec in reqs:
            if dep in BASELINE and spec:
                wanted = f"{name} {tree.shipped[name]} wants {spec}"
                tree.needs.setdefault(dep, []).append(wanted)
    for name in tree.shipped:
        if name not in ROOTS:
            wants = [spec for reqs in requires.values() for dep, spec in reqs if dep == name]
            tree.optional[name] = {"paths": sorted(tops.get(name, ())), "wants": wants}
    base = f"{VARIANT_DIR}/{fallback_dir}/jsonschema"
    zf.write(fallback, f"{base}/__init__.py")
    zf.writestr(f"{base}/exceptions.py", "from . import *  # noqa\n")
    manifest = {
        "format": fmt,
        "condor_nb": __version__,
        "key": key(),
        "shipped": tree.shipped,
        "left_out": tree.left_out,
        "needs": tree.needs,
        "optional": tree.optional,
        "from_main": tree.from_main,
        "min_python": [MIN_PYTHON, "the releases pinned in condor_nb/submission/executor_py39.py"],
        "for_pythons_below": main_min_python,
        "baseline": BASELINE,
    }
    zf.writestr(f"{VARIANT_DIR}/{manifest_name}", json.dumps(manifest, indent=1, sort_keys=True))
    return tree
