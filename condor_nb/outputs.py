"""Bring a finished job's files back and copy them safely to where the user wants.

Retrieval lands the worker's files in the job's staging ``out/`` folder (its
``initialdir``), which is kept: a failed copy (disk full, unwritable destination)
loses nothing and can be repeated. The copy never writes outside the destination:
only regular files at the top level are copied, symbolic links are skipped, and
every file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from condor_nb.errors import FetchError
from condor_nb.remote import (
    MANIFEST_JSON,
    OUTPUT_NOTEBOOK,
    REPORT_HTML,
    RESULT_JSON,
    SECRETS_JSON,
)
from condor_nb.render import EVENT_LOG, STDERR, STDOUT


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


@dataclass(frozen=True)
class FetchedFiles:
    """Where a job's outputs were written."""

    directory: Path
    notebook: Path | None
    report: Path | None
    result: Path | None
    files: tuple[Path, ...] = field(default_factory=tuple)


def read_result(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / RESULT_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


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


def copy_outputs(out_dir: Path, dest: Path, stem: str) -> FetchedFiles:
    """Copy retrieved outputs from ``out_dir`` into ``dest`` under friendly names."""
    names = friendly_names(stem)
    written: list[Path] = []
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for entry in sorted(os.scandir(out_dir), key=lambda e: e.name):
            if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                continue
            if entry.name == SECRETS_JSON:  # the worker's placeholder for the secrets
                continue
            name = names.get(entry.name, entry.name)
            written.append(_copy_one(Path(entry.path), dest, name))
    except FetchError:
        raise
    except OSError as exc:
        raise FetchError(
            f"could not write the outputs to {dest}: {exc.strerror or exc}",
            hint=f"free space or choose another folder with -o; the outputs are kept in {out_dir}"
            " and can be fetched again",
        ) from exc
    by_name = {p.name: p for p in written}
    return FetchedFiles(
        directory=dest,
        notebook=by_name.get(names[OUTPUT_NOTEBOOK]),
        report=by_name.get(names[REPORT_HTML]),
        result=by_name.get(names[RESULT_JSON]),
        files=tuple(written),
    )
