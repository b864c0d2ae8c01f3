"""Bring a finished job's files back and copy them safely to where the user wants.

Retrieval lands the worker's files in the job's staging ``out/`` folder (its
``initialdir``), which is kept: a failed copy (disk full, unwritable destination)
loses nothing and can be repeated. The copy never writes outside the destination:
only regular files at the top level are copied, symbolic links are skipped, and
every file is written to a temporary name and renamed into place.

The destination holds condor_nb's files under friendly names and the notebook's own
files under their names. A notebook file whose name condor_nb uses (there, or on the
worker, where the wrapper renamed it: see ``FILES_JSON``) goes into
``notebook_files/`` instead, so neither hides the other. Nothing already in the
destination is replaced unless asked (``overwrite``); a refusal writes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from condor_nb.contract import (
    EVENT_LOG,
    FILES_JSON,
    KEPT_PREFIX,
    MANIFEST_JSON,
    OUTPUT_NOTEBOOK,
    REPORT_HTML,
    RESULT_JSON,
    SECRETS_JSON,
    STDERR,
    STDOUT,
)
from condor_nb.errors import FetchError


def friendly_names(stem: str) -> dict[str, str]:
    """Worker file name -> the name the user sees after fetch."""
    return {
        OUTPUT_NOTEBOOK: f"{stem}.ipynb",
        REPORT_HTML: f"{stem}.html",
        RESULT_JSON: "result.json",
        MANIFEST_JSON: "manifest.json",
        STDOUT: "stdout.txt",
        STDERR: "stderr.txt",
        EVENT_LOG: "job.log",
    }


#: Where the notebook's files go when condor_nb uses their name.
NOTEBOOK_FILES = "notebook_files"
_SHOWN = 10  # existing files named in a refusal


@dataclass(frozen=True)
class FetchedFiles:
    """Where a job's outputs were written."""

    directory: Path
    notebook: Path | None
    report: Path | None
    result: Path | None
    files: tuple[Path, ...] = field(default_factory=tuple)
    #: Files the worker did not bring back (FIFOs, sockets...): name -> what it was.
    skipped: dict[str, str] = field(default_factory=dict)


def read_result(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / RESULT_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_files_record(out_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(kept name -> the notebook's name, skipped name -> kind) from the wrapper's record.

    The notebook could have written a record of its own (the wrapper then kept it apart),
    so only well-formed entries count, and they only ever place a file under
    ``notebook_files/``.
    """
    try:
        data = json.loads((out_dir / FILES_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, {}
    if not isinstance(data, dict):
        return {}, {}
    kept_raw, skipped_raw = data.get("kept"), data.get("skipped")
    kept = {
        str(k): str(v)
        for k, v in (kept_raw.items() if isinstance(kept_raw, dict) else [])
        if str(k).startswith(KEPT_PREFIX) and _plain_name(str(v))
    }
    skipped = {
        str(item.get("name")): str(item.get("kind"))
        for item in (skipped_raw if isinstance(skipped_raw, list) else [])
        if isinstance(item, dict)
    }
    return kept, skipped


def is_secrets_placeholder(path: Path) -> bool:
    """Whether ``path`` is the worker's placeholder for the secrets file (never a value):
    written over the spooled copy at the job's final exit, it comes back with the outputs."""
    if path.name != SECRETS_JSON:
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.stat().st_size < 200 else None
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and list(data) == ["_condor_nb"]


def _plain_name(name: str) -> bool:
    return name not in ("", ".", "..") and "/" not in name and "\\" not in name and "\0" not in name


def plan_copy(out_dir: Path, stem: str) -> list[tuple[Path, str]]:
    """(source, path relative to the destination) for every file fetch copies."""
    names = friendly_names(stem)
    ours = set(names.values()) | {NOTEBOOK_FILES}
    kept, _ = read_files_record(out_dir)
    plan: list[tuple[Path, str]] = []
    apart: set[str] = set()
    for entry in sorted(os.scandir(out_dir), key=lambda e: e.name):
        if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
            continue
        if entry.name == FILES_JSON or is_secrets_placeholder(Path(entry.path)):
            continue
        if entry.name in names:
            plan.append((Path(entry.path), names[entry.name]))
            continue
        name = kept.get(entry.name, entry.name)
        if entry.name in kept or name in ours:
            if name in apart:  # kept twice under one name: the kept name is unique
                name = entry.name
            apart.add(name)
            plan.append((Path(entry.path), f"{NOTEBOOK_FILES}/{name}"))
        else:
            plan.append((Path(entry.path), name))
    return plan


def _same_content(a: Path, b: Path) -> bool:
    if b.is_symlink() or not b.is_file() or a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            chunk = fa.read(1 << 20)
            if chunk != fb.read(1 << 20):
                return False
            if not chunk:
                return True


def _conflicts(plan: list[tuple[Path, str]], dest: Path) -> list[str]:
    """The destination paths that exist with other content (identical files are fine)."""
    conflicts = []
    for source, rel in plan:
        target = dest / rel
        if (target.is_symlink() or target.exists()) and not _same_content(source, target):
            conflicts.append(rel)
    return conflicts


def _copy_one(source: Path, dest_dir: Path, name: str) -> Path:
    target = dest_dir / name
    if target.parent.resolve() != dest_dir.resolve() or name in ("", ".", ".."):
        raise FetchError(f"refusing to write {name!r} outside {dest_dir}")
    fd, tmp = tempfile.mkstemp(prefix=".condor_nb-", dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        os.replace(tmp, target)  # replaces a symlink itself, never follows it
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def copy_outputs(out_dir: Path, dest: Path, stem: str, *, overwrite: bool = False) -> FetchedFiles:
    """Copy retrieved outputs from ``out_dir`` into ``dest`` (layout: module docstring).

    Without ``overwrite``, a destination that already holds any of these files with
    other content is refused before anything is written (FetchError naming them).
    """
    names = friendly_names(stem)
    written: list[Path] = []
    try:
        plan = plan_copy(out_dir, stem)
        folder = dest / NOTEBOOK_FILES
        if any("/" in rel for _, rel in plan) and (
            folder.is_symlink() or (folder.exists() and not folder.is_dir())
        ):
            raise FetchError(
                f"{folder} is in the way: it must be a folder (the notebook's files whose "
                "names condor_nb uses go there), and it is not",
                hint="move it away, or choose another folder with -o (dest=...)",
            )
        conflicts = [] if overwrite else _conflicts(plan, dest)
        if conflicts:
            shown = ", ".join(conflicts[:_SHOWN]) + (", ..." if len(conflicts) > _SHOWN else "")
            raise FetchError(
                f"{dest} already has {len(conflicts)} of this job's output files, with other "
                f"content: {shown}; nothing was written",
                hint="choose another folder with -o (dest=...), or replace them with "
                "--overwrite (overwrite=True)",
            )
        dest.mkdir(parents=True, exist_ok=True)
        for source, rel in plan:
            target_dir = dest / rel.rpartition("/")[0] if "/" in rel else dest
            target_dir.mkdir(exist_ok=True)
            written.append(_copy_one(source, target_dir, rel.rpartition("/")[2]))
    except FetchError:
        raise
    except OSError as exc:
        raise FetchError(
            f"could not write the outputs to {dest}: {exc.strerror or exc}",
            hint=f"free space or choose another folder with -o; the outputs are kept in {out_dir}"
            " and can be fetched again",
        ) from exc
    by_name = {p.name: p for p in written if p.parent == dest}
    return FetchedFiles(
        directory=dest,
        notebook=by_name.get(names[OUTPUT_NOTEBOOK]),
        report=by_name.get(names[REPORT_HTML]),
        result=by_name.get(names[RESULT_JSON]),
        files=tuple(written),
        skipped=read_files_record(out_dir)[1],
    )
