"""The executor condor_nb brings to the job: papermill, nbclient, nbformat, nbconvert.

Many images (OSPool's among them) have Python and ipykernel but not papermill. So every
job ships one zip, ``condor_nb_executor.zip``, that the wrapper puts on ``sys.path``
(zipimport) when the worker's own papermill is missing or broken. It holds the four
packages and the pure-Python distributions they need that ipykernel does not already
bring (ipykernel brings jupyter_client, jupyter_core, traitlets, pyzmq, tornado,
pygments via IPython...), copied from this host's installed distributions (their
``RECORD`` file lists). Nothing is downloaded, at build time or on the worker.

Left out, because they are compiled: extension modules (``.so``) of distributions that
have a pure-Python fallback (PyYAML, MarkupSafe, charset-normalizer), and jsonschema
(>= 4.18 needs the compiled rpds-py): nbformat validates with fastjsonschema, its
default, and a small stand-in (:data:`JSONSCHEMA_FALLBACK`) answers nbformat's
``import jsonschema``; it sits at the end of ``sys.path``, so a worker's real jsonschema
wins. What was shipped and what was left out is in the zip's ``condor_nb_executor.json``.

The zip is built once per set of versions (condor_nb's and every shipped
distribution's) into the user's cache folder (``$XDG_CACHE_HOME/condor_nb/executor``,
``CONDOR_NB_EXECUTOR_CACHE`` overrides), and hard-linked (or copied) into each job's
``in/``. No bytecode: it would serve only workers running this very Python release,
and doubles the size; a worker compiles what it imports (measured in
benchmarks/bench_executor.py). Building takes about a second, once; a submit finds it
by the versions of condor_nb and of the four packages (a pointer file next to it).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from condor_nb import __version__
from condor_nb.contract import EXECUTOR_NAME, names
from condor_nb.errors import CondorNbError
from condor_nb.settings import Settings
from condor_nb.store import manifests
from condor_nb.submission import executor_py39

#: What the wrapper needs; the shipped set is their closure minus ipykernel's.
ROOTS = ("papermill", "nbclient", "nbformat", "nbconvert")
BROUGHT_BY = "ipykernel"
#: In this host's ipykernel closure, yet only conditionally in others' (IPython's
#: ``typing_extensions; python_version < "3.12"``): shipped when needed.
NOT_ASSUMED = ("typing-extensions",)
#: Worker Pythons the requirement markers are evaluated for (a dependency needed on any).
PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
#: Compiled, with no pure-Python fallback: replaced (jsonschema) or never imported.
REPLACED = {"jsonschema": "compiled rpds-py; fastjsonschema validates, a stand-in is shipped"}
COMPILED = (".so", ".pyd", ".dll", ".dylib")
SKIPPED = (".pyc", ".pyo", ".pyi", "py.typed")
DIST_INFO_KEPT = ("/METADATA", "/entry_points.txt", "/top_level.txt")
FALLBACK_DIR = names.EXECUTOR_FALLBACK_DIR  # in the zip; the wrapper appends it to sys.path
SHARE_DIR = names.EXECUTOR_SHARE_DIR  # share/jupyter files (templates): extracted on the worker
JSONSCHEMA_FALLBACK = Path(__file__).parents[1] / "worker" / "jsonschema_fallback.py"
MANIFEST = names.EXECUTOR_MANIFEST
FORMAT = 2  # bump when the zip's layout changes


#: When the tree for older worker Pythons could not be downloaded (no package index
#: reachable from this host): until then, jobs ship the zip without it.
UNAVAILABLE = "old-pythons-unavailable.json"
RETRY_AFTER = 3600.0


class ExecutorWarning(UserWarning):
    """The executor shipped with the job lacks something a worker may need."""


class ExecutorError(CondorNbError):
    """The executor zip cannot be built from this host's installed packages."""


@dataclass
class Plan:
    """Which distributions go into the zip, and which were left out (and why)."""

    shipped: dict[str, str] = field(default_factory=dict)  # name -> version
    left_out: dict[str, str] = field(default_factory=dict)  # name -> reason
    #: what the shipped packages need from the worker's (ipykernel's) distributions:
    #: name -> ["nbclient wants >=5.4.0", ...]; the worker checks the lower bounds
    needs: dict[str, list[str]] = field(default_factory=dict)
    #: the version specifiers the shipped distributions put on each shipped dependency
    #: (markers and extras included: the stricter reading); a worker that has the
    #: dependency in a version meeting all of them uses its own (already compiled) copy
    wants: dict[str, list[str]] = field(default_factory=dict)

    def min_python(self) -> tuple[str, str]:
        """The oldest worker Python every shipped distribution supports (Requires-Python
        lower bounds), and which distribution sets it."""
        best: tuple[int, ...] = (3, 9)
        why = "condor_nb's wrapper"
        for name, version in self.shipped.items():
            spec = (metadata.metadata(name).get_all("Requires-Python") or [""])[0]
            for clause in spec.split(","):
                clause = clause.strip()
                if clause.startswith(">=") and _release(clause[2:]) > best:
                    best, why = _release(clause[2:]), f"{name} {version} requires {clause}"
        return ".".join(map(str, best)), why

    @property
    def key(self) -> str:
        text = json.dumps([FORMAT, __version__, sorted(self.shipped.items())])
        text += _builder_source()
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _builder_source() -> str:
    """This module, the stand-in and the older Pythons' pins: a change to any makes a new
    zip (development); so does turning the older Pythons' tree off."""
    old = executor_py39.key() if executor_py39.enabled() else "off"
    text = Path(__file__).read_text(encoding="utf-8") + JSONSCHEMA_FALLBACK.read_text("utf-8")
    return text + Path(executor_py39.__file__).read_text(encoding="utf-8") + old


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version.split("+")[0])[:3])


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _needed(
    requirement: str, extras: frozenset[str], every: bool = False
) -> tuple[str, frozenset[str]] | None:
    """(distribution, its extras) if some worker Python (``every``: each one) needs this
    requirement line of a distribution installed with ``extras``; else None."""
    from packaging.requirements import Requirement

    req = Requirement(requirement)
    wanted = (req.name, frozenset(req.extras))
    if req.marker is None:
        return wanted
    hits = []
    for python in PYTHONS:
        env = {"python_version": python, "sys_platform": "linux", "platform_system": "Linux"}
        env.update(os_name="posix", implementation_name="cpython")
        hits.append(any(req.marker.evaluate({**env, "extra": e}) for e in ("", *extras)))
    return wanted if (all(hits) if every else any(hits)) else None


def _closure(
    roots: tuple[str, ...], stop: set[str], plan: Plan | None = None, every: bool = False
) -> set[str]:
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(root, frozenset[str]()) for root in roots]
    while todo:
        raw, extras = todo.pop()
        name = _norm(raw)
        if (name, extras) in seen or name in stop:
            continue
        if name in REPLACED and plan is not None:
            plan.left_out[name] = REPLACED[name]
            continue
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            if plan is not None:
                plan.left_out[name] = "not installed on the submit host"
            continue
        seen.add((name, extras))
        todo.extend(dep for line in requires if (dep := _needed(line, extras, every)))
    return {name for name, _ in seen}


def plan() -> Plan:
    """The distributions to ship: the closure of ROOTS, less what every ipykernel brings
    (its closure over requirements without markers: ``typing_extensions; python_version
    < "3.12"`` may be missing on a worker, so it is shipped when needed)."""
    from packaging.requirements import Requirement

    brought = _closure((BROUGHT_BY,), set(), every=True) - set(NOT_ASSUMED)
    result = Plan()
    for name in sorted(_closure(ROOTS, brought, result)):
        result.shipped[name] = metadata.version(name)
    for name in result.shipped:
        for line in metadata.requires(name) or []:
            if _needed(line, frozenset()) is None:
                continue
            req = Requirement(line)
            if _norm(req.name) in brought and str(req.specifier):
                wanted = f"{name} {result.shipped[name]} wants {req.specifier}"
                result.needs.setdefault(_norm(req.name), []).append(wanted)
    for name in result.shipped:  # every line, markers too (bleach[css] wants tinycss2...)
        for line in metadata.requires(name) or []:
            req = Requirement(line)
            if _norm(req.name) in result.shipped:
                result.wants.setdefault(_norm(req.name), []).append(str(req.specifier))
    missing = [r for r in ROOTS if _norm(r) not in result.shipped]
    if missing:
        raise ExecutorError(
            f"cannot build the executor: {', '.join(missing)} not installed on this host",
            hint="install condor_nb with its dependencies (pip install condor_nb)",
        )
    return result


def cache_dir() -> Path:
    explicit = os.environ.get("CONDOR_NB_EXECUTOR_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "condor_nb" / "executor"


def _files(name: str) -> tuple[list[tuple[Path, str]], int]:
    """(source, name in the zip) of a distribution's files, and how many compiled ones
    were left out. Scripts and data outside site-packages and bytecode are skipped."""
    dist = metadata.distribution(name)
    out: list[tuple[Path, str]] = []
    compiled = 0
    for entry in dist.files or []:
        rel = entry.as_posix()
        if "/share/jupyter/nbconvert/" in rel:  # nbconvert's templates, outside site-packages
            rel = SHARE_DIR + "/" + rel.split("/share/jupyter/", 1)[1]
        if rel.startswith("..") or "__pycache__" in rel or rel.endswith(SKIPPED):
            continue
        if ".dist-info/" in rel and not rel.endswith(DIST_INFO_KEPT):
            continue
        if rel.endswith(COMPILED):
            compiled += 1
            continue
        source = Path(str(dist.locate_file(entry)))
        if source.is_file():
            out.append((source, rel))
    return out, compiled


def build(target: Path, the_plan: Plan, *, old_pythons: str | None = None) -> None:
    """Write the zip atomically (a temporary file renamed into place).

    ``old_pythons``: why the tree for older worker Pythons is left out (None: it is in,
    unless ``CONDOR_NB_EXECUTOR_OLD_PYTHONS=off``); recorded in the zip's manifest.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    left_out = dict(the_plan.left_out)
    optional: dict[str, dict[str, list[str]]] = {}
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".building-", suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for name in the_plan.shipped:
                files, compiled = _files(name)
                if not any(rel.endswith(".py") for _, rel in files):
                    left_out[name] = "compiled only"
                    continue
                if compiled:
                    left_out[f"{name} (extension modules)"] = "pure-Python fallback used"
                for source, rel in files:
                    zf.write(source, rel)
                if _norm(name) not in ROOTS:
                    tops = {rel.split("/")[0] for _, rel in files if not rel.startswith(SHARE_DIR)}
                    optional[name] = {"paths": sorted(tops), "wants": the_plan.wants.get(name, [])}
            zf.write(JSONSCHEMA_FALLBACK, f"{FALLBACK_DIR}/jsonschema/__init__.py")
            zf.writestr(f"{FALLBACK_DIR}/jsonschema/exceptions.py", "from . import *  # noqa\n")
            least = the_plan.min_python()
            variants = []
            older = _release(least[0]) > _release(executor_py39.MIN_PYTHON)
            if older and old_pythons is None and executor_py39.enabled():
                main = {n: (the_plan.shipped[n], o["paths"]) for n, o in optional.items()}
                layout = dict(FALLBACK_DIR=FALLBACK_DIR, SHARE_DIR=SHARE_DIR, FORMAT=FORMAT)
                layout["MANIFEST"] = MANIFEST
                tree = executor_py39.add(
                    zf, cache_dir(), JSONSCHEMA_FALLBACK, least[0], main, layout
                )
                variant = {"dir": executor_py39.VARIANT_DIR, "below": least[0]}
                variant.update(min_python=executor_py39.MIN_PYTHON, key=executor_py39.key())
                variants.append({**variant, "papermill": tree.shipped["papermill"]})
            info = {
                "format": FORMAT,
                "condor_nb": __version__,
                "key": the_plan.key,
                "shipped": the_plan.shipped,
                "left_out": left_out,
                "needs": the_plan.needs,
                "optional": optional,
                "min_python": least,
                # Older worker Pythons: a complete tree each (submission/executor_py39.py);
                # the wrapper takes the first whose range holds its Python.
                "variants": variants,
            }
            if older and old_pythons is not None:
                info["variants_unavailable"] = {
                    "min_python": executor_py39.MIN_PYTHON, "below": least[0], "why": old_pythons,
                }  # fmt: skip
            zf.writestr(MANIFEST, json.dumps(info, indent=1, sort_keys=True))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _quick_key() -> str:
    """condor_nb's and the four packages' versions: cheap to read at every submit."""
    try:
        versions = [metadata.version(name) for name in ROOTS]
    except metadata.PackageNotFoundError:
        versions = []  # plan() says what is missing
    text = json.dumps([FORMAT, __version__, versions]) + _builder_source()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def archive() -> Path:
    """The executor zip for the installed versions, built on first use.

    Found again by condor_nb's and the four packages' versions (a pointer file), so a
    submit does not rescan every dependency; the zip itself is named by the full set.
    """
    pointer = cache_dir() / f"for-{_quick_key()}.txt"
    try:
        found = Path(pointer.read_text(encoding="utf-8").strip())
        if found.is_file():
            return found
    except OSError:
        pass
    the_plan = plan()
    target = cache_dir() / the_plan.key / EXECUTOR_NAME
    try:
        if not target.is_file():
            unavailable = _old_pythons_unavailable()
            if unavailable is not None:
                return _without_old_pythons(the_plan, unavailable)
            try:
                build(target, the_plan)
            except executor_py39.OldPythonsError as exc:
                _remember_unavailable(exc)
                return _without_old_pythons(the_plan, exc)
        tmp = pointer.with_name(f".{pointer.name}.{os.getpid()}")
        tmp.write_text(str(target), encoding="utf-8")
        os.replace(tmp, pointer)
    except OSError as exc:
        raise ExecutorError(
            f"cannot build the executor zip in {target.parent}: {exc}",
            hint="set CONDOR_NB_EXECUTOR_CACHE to a writable folder",
        ) from None
    return target


def _old_pythons_unavailable() -> executor_py39.OldPythonsError | None:
    """The download failure recorded less than RETRY_AFTER ago, if any."""
    record = manifests.read_json(cache_dir() / UNAVAILABLE)
    if record is None or time.time() - float(record.get("at", 0)) > RETRY_AFTER:
        return None
    return executor_py39.OldPythonsError(str(record.get("message")), hint=record.get("hint"))


def _remember_unavailable(exc: executor_py39.OldPythonsError) -> None:
    record = {"at": time.time(), "message": exc.message, "hint": exc.hint}
    (cache_dir() / UNAVAILABLE).write_text(json.dumps(record), encoding="utf-8")


def _without_old_pythons(the_plan: Plan, exc: executor_py39.OldPythonsError) -> Path:
    """The zip without the tree for older Pythons, said loudly: a worker whose Python
    is older than this host's packages need then fails with what it needs. Not the
    cached zip of record: once the download works (retried after an hour, or at once
    when the failure record is deleted), jobs ship the whole executor again."""
    message = (
        f"the executor shipped with this job has no tree for worker Pythons "
        f"{executor_py39.MIN_PYTHON} up to {the_plan.min_python()[0]}: {exc.message}"
    )
    warnings.warn(ExecutorWarning(f"{message} ({exc.hint})"), stacklevel=3)
    target = cache_dir() / the_plan.key / "without-old-pythons" / EXECUTOR_NAME
    if not target.is_file():
        build(target, the_plan, old_pythons=exc.message)
    return target


def wanted(settings: Settings, image: str | None, *, procs: int) -> bool:
    """Whether a submission of ``procs`` jobs ships the zip (setting ``ship_executor``).

    ``auto``: a single job always does (a few MB); a sweep, whose every proc spools its
    own copy on the access point, does unless the newest finished job in the same image
    ran the worker's own papermill. ``always`` / ``never`` decide outright.
    """
    if settings.ship_executor in ("always", "never"):
        return settings.ship_executor == "always"
    if procs <= 1:
        return True

    last = manifests.last_worker_manifest(settings, image)
    return last is None or (last[1].get("executor") or {}).get("source") != "worker"


def stage(in_dir: Path) -> Path:
    """Put the executor zip into a job's ``in/`` folder (a hard link when possible)."""
    source, target = archive(), in_dir / EXECUTOR_NAME
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return target
