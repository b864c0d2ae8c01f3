"""Where the jupyter-scheduler backend may read, write and delete.

Every path that comes from a request goes through here:

- the input notebook (``input_uri``) is read only from inside the server's root
  directory, after resolving symbolic links (a link inside the root that points
  outside it is refused);
- names used to build staging and download paths (``input_filename``, job and job
  definition ids, output formats) are single, plain file names: no separator, no
  ``..``, no NUL, valid UTF-8, short enough for the file system;
- files are written only under the staging area (one folder per job or definition,
  made by this backend) or under the root directory's download folder;
- a folder is deleted only when this backend made it (recorded in its database)
  and it is still a real folder directly inside the staging area.

The checks are functions of their arguments and the file system as it is: no
side effects, so they can be tested on generated hostile strings.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable

from jupyter_scheduler.utils import create_output_filename

from condor_nb_jupyter.errors import BadRequest

#: Longest accepted file name, in UTF-8 bytes. Output names add ~30 bytes
#: (timestamp and format) and the download folder a 37-byte job id to it; most
#: file systems stop at 255.
MAX_NAME_BYTES = 180
#: Longest accepted input path, in UTF-8 bytes (Linux PATH_MAX is 4096).
MAX_PATH_BYTES = 4000
#: The output formats this backend produces (see environments.OUTPUT_FORMATS).
OUTPUT_FORMATS = ("ipynb", "html")

INPUT_HINT = (
    "give the notebook's path relative to the server's root directory, as the file"
    " browser shows it (e.g. reports/analysis.ipynb); to run a notebook kept elsewhere,"
    " copy it into the root directory first"
)


class PathRefused(BadRequest):
    """A path from a request that would read, write or delete outside its area."""


def _text(value: object, field: str, limit: int) -> str:
    """``value`` as text a file system accepts, or PathRefused saying why not."""
    if not isinstance(value, str):
        raise PathRefused(
            f"{field}: expected text; got {type(value).__name__} {value!r:.80}",
            hint=f"send {field} as a JSON string",
        )
    if not value:
        raise PathRefused(f"{field}: expected a file name or path; got an empty string")
    if "\x00" in value:
        raise PathRefused(
            f"{field}: expected a path without NUL characters; got {value!r:.120}",
            hint="remove the \\u0000 character",
        )
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise PathRefused(
            f"{field}: expected valid Unicode text; got {value!r:.120} (a lone surrogate)",
            hint="send the name as UTF-8 text",
        ) from None
    if size > limit:
        raise PathRefused(
            f"{field}: expected at most {limit} bytes; got {size} bytes ({value[:40]!r}...)",
            hint="use a shorter name",
        )
    return value


def safe_name(value: object, field: str = "input_filename") -> str:
    """A single plain file name (no folder part, not ``.`` or ``..``)."""
    name = _text(value, field, MAX_NAME_BYTES)
    if name in (".", "..") or "/" in name or "\\" in name or os.sep in name:
        raise PathRefused(
            f"{field}: expected a plain file name such as analysis.ipynb, without any"
            f" folder part; got {name!r:.200}",
            hint=f"leave {field} out (the input notebook's name is used) or give a name"
            " without '/', '\\' or '..'",
        )
    if name != name.strip() or any(ord(c) < 32 for c in name):
        raise PathRefused(
            f"{field}: expected a file name without control characters or leading and"
            f" trailing spaces; got {name!r:.200}",
            hint="rename the notebook",
        )
    return name


def inside(base: str, path: str) -> bool:
    """Is ``path``, symbolic links resolved, ``base`` itself or inside it (resolved too)?"""
    real_base = os.path.realpath(base)
    real = os.path.realpath(path)
    return os.path.commonpath([real_base, real]) == real_base


def resolve_input(root_dir: str, input_uri: object, field: str = "input_uri") -> str:
    """The real path of the notebook ``input_uri`` names, which must lie in ``root_dir``."""
    uri = _text(input_uri, field, MAX_PATH_BYTES)
    root = os.path.realpath(root_dir)
    candidate = os.path.normpath(uri if os.path.isabs(uri) else os.path.join(root, uri))
    real = os.path.realpath(candidate)
    if os.path.commonpath([root, real]) != root:
        how = (
            "through a symbolic link that points to"
            if os.path.commonpath([root, candidate]) == root
            else "which is"
        )
        raise PathRefused(
            f"{field}: expected a notebook inside the server's root directory {root};"
            f" got {uri!r:.300}, {how} {real!r:.300}, outside it",
            hint=INPUT_HINT,
        )
    if not os.path.isfile(real):
        raise PathRefused(
            f"{field}: expected an existing notebook file; got {uri!r:.300}"
            f" (nothing at {real!r:.300}, or not a file)",
            hint=INPUT_HINT,
        )
    return real


def copy_confined(base: str, source: str, dest: str) -> None:
    """Copy ``source`` (checked to lie in ``base``) to ``dest``, checking again on the open
    file: a file swapped for a symbolic link after the check is refused, not followed."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise PathRefused(
            f"input_uri: could not open {source!r:.300} without following a link"
            f" ({exc.strerror}); it changed since it was checked",
            hint=INPUT_HINT,
        ) from None
    with os.fdopen(fd, "rb") as src:
        opened = f"/proc/self/fd/{fd}"
        where = os.readlink(opened) if os.path.islink(opened) else source
        if not stat.S_ISREG(os.fstat(fd).st_mode) or not inside(base, where):
            raise PathRefused(
                f"input_uri: expected a notebook file inside {os.path.realpath(base)};"
                f" {source!r:.300} is now {where!r:.300}",
                hint=INPUT_HINT,
            )
        with open(dest, "wb") as out:
            shutil.copyfileobj(src, out)


def output_formats(formats: Iterable[object] | None) -> list[str]:
    """The requested output formats, each one this backend produces."""
    out: list[str] = []
    for fmt in formats or []:
        if fmt not in OUTPUT_FORMATS:
            raise PathRefused(
                f"output_formats: expected some of {', '.join(OUTPUT_FORMATS)}; got {fmt!r:.80}",
                hint="GET /scheduler/runtime_environments lists the formats offered",
            )
        if fmt not in out:
            out.append(str(fmt))
    return out


def staging_folder(staging_root: str, folder_id: object, field: str = "job id") -> str:
    """The folder of one job or job definition: directly inside the staging area."""
    return os.path.join(staging_root, safe_name(folder_id, field))


def staging_paths(
    staging_root: str,
    folder_id: object,
    input_filename: object,
    create_time: int,
    formats: Iterable[object] | None,
) -> dict[str, str]:
    """jupyter-scheduler's staging paths (input and one per output format), confined."""
    folder = staging_folder(staging_root, folder_id)
    name = safe_name(input_filename)
    paths = {
        fmt: os.path.join(folder, create_output_filename(name, create_time, fmt))
        for fmt in output_formats(formats)
    }
    paths["input"] = os.path.join(folder, name)
    return paths


def removable(staging_root: str, folder: str) -> bool:
    """May ``folder`` be deleted: a real folder (no link) directly in the staging area?"""
    if os.path.dirname(os.path.normpath(folder)) != os.path.normpath(staging_root):
        return False
    if os.path.islink(folder) or not os.path.isdir(folder):
        return False
    real_root = os.path.realpath(staging_root)
    return os.path.dirname(os.path.realpath(folder)) == real_root


def download_target(root_dir: str, path: str) -> str:
    """``path``, a file or folder to write a download to, checked to be in ``root_dir``."""
    if not inside(root_dir, path):
        raise PathRefused(
            f"download: expected to write inside the server's root directory"
            f" {os.path.realpath(root_dir)}; {path!r:.300} resolves to"
            f" {os.path.realpath(path)!r:.300}, outside it (a symbolic link?)",
            hint="remove the symbolic link that leads out of the root directory, then"
            " download again",
        )
    return path
