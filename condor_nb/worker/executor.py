"""Which papermill runs the notebook: the worker's own, or the one shipped with the job.

Shipped next to the wrapper as ``condor_nb_executor.py``; ``choose()`` runs before
anything imports papermill or nbformat. The worker's own papermill, nbclient, nbformat
and nbconvert are used when all four are installed and papermill imports. Otherwise
``condor_nb_executor.zip`` (built on the submit side by condor_nb/submission/executor.py) is
extracted into the scratch directory and goes first on ``sys.path``, its jsonschema
stand-in last, its nbconvert templates on ``JUPYTER_PATH``. ipykernel and
what it brings (jupyter_client, traitlets, pyzmq, tornado...) always come from the
worker: without them no kernel can start, and the job fails saying so.
Standard library only, never condor_nb; Python >= 3.9.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import platform
import runpy
import sys
import zipfile
from types import SimpleNamespace
from typing import Any

# The names shared with condor_nb (condor_nb/contract/names.py, shipped beside this file).
SHIPPED = os.path.basename(__file__).startswith("condor_nb_")  # else: in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
CONTRACT = os.path.join(HERE, "condor_nb_contract.py" if SHIPPED else "../contract/names.py")
C = SimpleNamespace(**runpy.run_path(CONTRACT))
EXECUTOR_ZIP, EXTRACT_TO = C.EXECUTOR_NAME, C.EXECUTOR_EXTRACT_DIR
PACKAGES = ("papermill", "nbclient", "nbformat", "nbconvert")
FALLBACK_DIR, SHARE_DIR = C.EXECUTOR_FALLBACK_DIR, C.EXECUTOR_SHARE_DIR
MANIFEST = C.EXECUTOR_MANIFEST  # in the zip: what was shipped, left out, needed
IMAGE_HINT = (
    "use an image with ipykernel (any image a Jupyter server runs in, e.g. "
    "quay.io/jupyter/base-notebook or an OSPool Jupyter image under "
    "/cvmfs/singularity.opensciencegrid.org/), or set worker_python "
    "(CONDOR_NB_WORKER_PYTHON) to a Python that has it"
)


def _found(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _forget(prefixes: tuple[str, ...]) -> None:
    """Drop half-imported modules so that the shipped ones load cleanly."""
    for name in list(sys.modules):
        if name.split(".")[0] in prefixes:
            del sys.modules[name]


def _version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except Exception:
        return None


def _release(version: str) -> tuple[int, ...]:
    """'5.4.0rc1' -> (5, 4, 0): enough to compare lower bounds without packaging."""
    parts = []
    for piece in version.split("."):
        digits = "".join(c for c in piece[: len(piece) - len(piece.lstrip("0123456789"))])
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _zip_manifest(where: str, tree: str = "") -> dict[str, Any]:
    """condor_nb_executor.json, from the zip (its ``tree`` folder: a variant's) or from
    the folder it was extracted to."""
    try:
        if zipfile.is_zipfile(where):
            with zipfile.ZipFile(where) as zf:
                data = json.loads(zf.read(f"{tree}/{MANIFEST}" if tree else MANIFEST))
        else:
            with open(os.path.join(where, MANIFEST), encoding="utf-8") as f:
                data = json.load(f)
    except (OSError, ValueError, KeyError):
        return {}
    return data if isinstance(data, dict) else {}


def too_old(where: str) -> list[str]:
    """The worker's distributions older than a shipped package's lower bound (``>=``)."""
    needs = _zip_manifest(where).get("needs") or {}
    out = []
    for name, wants in sorted(needs.items()):
        have = _version(name)
        if have is None:
            continue
        for want in wants:
            for clause in want.rpartition(" wants ")[2].split(","):
                clause = clause.strip()
                if clause.startswith(">=") and _release(have) < _release(clause[2:]):
                    out.append(f"{name} {have} on the worker: {want}")
    return out


def _satisfies(have: str, spec: str) -> bool:
    """Whether the worker's version ``have`` meets a specifier such as ``<4,>=2.0.3``.

    Only plain releases (``6.0.2``, ``8.4.2+local``) are judged; a pre-release, or a
    clause this does not understand, answers False (the shipped copy is used).
    """
    release = have.split("+")[0]
    if not all(part.isdigit() for part in release.split(".")):
        return False
    mine = tuple(int(part) for part in release.split("."))
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        op = next((o for o in ("~=", "==", "!=", ">=", "<=", ">", "<") if clause.startswith(o)), "")
        text = clause[len(op) :].strip()
        prefix = text.endswith(".*")
        digits = text[:-2] if prefix else text
        if not op or not all(p.isdigit() for p in digits.split(".")):
            return False
        theirs = tuple(int(p) for p in digits.split("."))
        width = max(len(mine), len(theirs))
        a, b = mine + (0,) * (width - len(mine)), theirs + (0,) * (width - len(theirs))
        if op in ("==", "!=") and prefix:
            ok = mine[: len(theirs)] == theirs
            ok = ok if op == "==" else not ok
        elif op == "~=":
            ok = len(theirs) > 1 and a >= b and mine[: len(theirs) - 1] == theirs[:-1]
        else:
            ok = {"==": a == b, "!=": a != b, ">=": a >= b, "<=": a <= b, ">": a > b,
                  "<": a < b}[op]  # fmt: skip
        if not ok:
            return False
    return True


def from_worker(manifest: dict[str, Any]) -> dict[str, str]:
    """Shipped dependencies (not papermill & co.) the worker has in a version every shipped
    package accepts: the worker's own copy, already compiled, is used. Name -> version.
    Called before the zip goes on sys.path, so that the versions are the worker's."""
    found = {}
    for name, entry in sorted((manifest.get("optional") or {}).items()):
        have = _version(name)
        if have and all(_satisfies(have, spec) for spec in entry.get("wants") or []):
            found[name] = have
    return found


def _use_shipped(
    path: str, skip: tuple[str, ...] = (), tree: str = "", borrowed: tuple[str, ...] = ()
) -> str:
    """Extract the zip (nbformat and nbconvert read their schemas and templates as files,
    which zipimport cannot give them), only its ``tree`` folder if given (a variant for
    older Pythons, plus the main tree's top-level ``borrowed`` paths: distributions the
    zip holds once for both), less the top-level ``skip`` names; put it first on
    sys.path, its jsonschema stand-in last, its share/jupyter on JUPYTER_PATH. Returns
    the folder."""
    where = os.path.abspath(EXTRACT_TO)
    prefix = f"{tree}/" if tree else ""
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.startswith(prefix)]
        if not tree:  # the main tree: every variant's folder stays in the zip
            variants = [v.get("dir") for v in _zip_manifest(path).get("variants") or []]
            skip = (*skip, *filter(None, variants))
        names = [n for n in names if n[len(prefix) :].split("/")[0] not in skip]
        zf.extractall(where, members=names)
        for name in zf.namelist() if tree else ():
            top = name.split("/")[0]
            safe = ".." not in name.split("/") and not name.startswith("/")
            if top in borrowed and top not in skip and safe and not name.endswith("/"):
                target = os.path.join(where, tree, *name.split("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with zf.open(name) as src, open(target, "wb") as dst:
                    dst.write(src.read())
    where = os.path.join(where, tree) if tree else where
    sys.path.insert(0, where)
    sys.path.append(os.path.join(where, FALLBACK_DIR))  # jsonschema, only if the worker has none
    importlib.invalidate_caches()
    share = os.path.join(where, SHARE_DIR)
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = share + (os.pathsep + old if old else "")
    return where


def variant_for(manifest: dict[str, Any], version: str) -> str:
    """The zip's folder holding an executor for this Python (older than the main tree's
    ``min_python``), or "" when it has none: the manifest's ``variants``, first match."""
    for variant in manifest.get("variants") or []:
        low, below, folder = variant.get("min_python"), variant.get("below"), variant.get("dir")
        if not (isinstance(low, str) and isinstance(below, str) and isinstance(folder, str)):
            continue
        if _release(low) <= _release(version) < _release(below):
            return folder
    return ""


def choose(directory: str = ".") -> dict[str, Any]:
    """Set up the executor; return what the manifest records about it.

    ``{"source": "worker" | "shipped", "papermill": version, "reason": why shipped}``,
    or ``{"source": None, "error": message}`` when this worker cannot run a notebook.
    """
    python = f"Python {platform.python_version()} ({sys.executable or 'python3'})"
    if not _found("jupyter_client"):  # it comes with ipykernel; a kernel needs both
        missing = "ipykernel (nor jupyter_client, which comes with it)"
        return {"source": None, "error": f"this worker's {python} has no {missing}: {IMAGE_HINT}"}
    absent = [name for name in PACKAGES if not _found(name)]
    reason = ""
    if not absent:
        try:
            papermill = importlib.import_module("papermill")
            return {"source": "worker", "papermill": getattr(papermill, "__version__", None)}
        except Exception as exc:
            reason = f"the worker's papermill does not import ({type(exc).__name__}: {exc})"
            _forget(PACKAGES)
    else:
        reason = f"the worker has no {', '.join(absent)}"
    path = os.path.abspath(os.path.join(directory, EXECUTOR_ZIP))
    if not os.path.isfile(path):
        error = f"{reason} and {EXECUTOR_ZIP} was not shipped with the job: {IMAGE_HINT}"
        return {"source": None, "error": error}
    manifest = _zip_manifest(path)
    least, because = manifest.get("min_python") or ("3.9", "")
    tree = ""
    if _release(platform.python_version()) < _release(least):
        tree = variant_for(manifest, platform.python_version())
        if tree:
            manifest = _zip_manifest(path, tree)
            least, because = manifest.get("min_python") or ("3.9", "")
        else:  # older than every tree: name the oldest one's bound
            lows = [v.get("min_python") for v in manifest.get("variants") or []]
            lows = [low for low in lows if isinstance(low, str)]
            if lows:
                least = min(lows, key=_release)
                because = "the oldest of the trees condor_nb ships"
    if _release(platform.python_version()) < _release(least):
        error = (
            f"{reason}, and the executor condor_nb shipped needs Python >= {least} "
            f"({because}); this worker's {python}: use an image with papermill, nbclient, "
            f"nbformat and nbconvert, or one whose Python is >= {least} (or submit from a "
            "condor_nb whose installed papermill & co. support older Pythons)"
        )
        return {"source": None, "error": error}
    own = from_worker(manifest)
    optional = manifest.get("optional") or {}
    skip = tuple(top for name in own for top in optional[name].get("paths") or [])
    borrowed = tuple(top for paths in (manifest.get("from_main") or {}).values() for top in paths)
    where = _use_shipped(path, skip, tree, borrowed)
    info: dict[str, Any] = {"source": "shipped", "reason": reason, "path": where}
    if tree:
        info["tree"] = tree  # the zip's executor for older Pythons
    if own:
        info["from_worker"] = own
    old = too_old(where)
    if old:  # it may still work; if it does not, the error will make sense with this
        info["warnings"] = old
        sys.stderr.write(f"condor_nb: WARNING {'; '.join(old)}\n")
    papermill = importlib.import_module("papermill")
    info["papermill"] = getattr(papermill, "__version__", None) or _version("papermill")
    return info
