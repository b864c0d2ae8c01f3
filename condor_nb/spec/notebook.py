"""Read a notebook, find its ``parameters`` cell, infer declared parameters, hash it.

The .ipynb is parsed with :mod:`json` (nbformat and papermill cost over a second to
import, and this runs on the CLI's hot path). The parameters cell follows
papermill's rule: the first cell of *any* type whose ``metadata.tags`` contains
"parameters"; papermill injects its values right after that cell. Declarations are
read with :mod:`ast` from Python notebooks only.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from condor_nb.errors import SpecError

PARAMETERS_TAG = "parameters"
TYPES = ("int", "float", "str", "bool", "list", "dict", "any")
_LITERAL_TYPES: dict[type, str] = {t: t.__name__ for t in (bool, int, float, str, list, dict)}
_ANNOTATION_TYPES = {
    "int": "int", "float": "float", "str": "str", "bool": "bool",
    "list": "list", "List": "list", "dict": "dict", "Dict": "dict",
}  # fmt: skip
# ValueError: a NUL byte; RecursionError/MemoryError: absurdly nested code
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError)
_SCRIPT_SUFFIXES = {".py", ".r", ".jl", ".md", ".rmd", ".qmd", ".pct", ".sh"}


@dataclass(frozen=True)
class DeclaredParameter:
    """One ``name = default`` in the parameters cell.

    ``type`` is one of :data:`TYPES`; ``nullable`` means None is an accepted value
    (an ``Optional``/``| None`` annotation, a default of None, or type "any").
    """

    name: str
    type: str
    default_source: str
    nullable: bool


@dataclass(frozen=True)
class NotebookInfo:
    """What condor_nb needs to know about a notebook before submitting it."""

    path: Path
    kernel_name: str | None
    language: str | None
    parameters: dict[str, DeclaredParameter]
    parameters_cell_index: int | None
    content_hash: str


# --- reading ----------------------------------------------------------------------


# A notebook (or parameters file) larger than this is not something to send as a job
# input; and /dev/zero or a FIFO must not be read forever.
MAX_FILE_BYTES = 256 * 1024 * 1024


def read_text_file(path: Path, what: str, *, limit: int = MAX_FILE_BYTES) -> str:
    """Read a user's UTF-8 file (at most ``limit`` bytes); every failure is a SpecError."""
    try:
        mode = path.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a device, FIFO or socket
            raise SpecError(
                f"expected {what} {path} to be a regular file; got a special file "
                "(device, pipe or socket)",
                hint="save the content to a file and give its path",
            )
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise SpecError(
                f"{what} {path}: expected at most {limit // (1024 * 1024)} MiB; it is larger",
                hint="is it the right file? clear large outputs (Jupyter: Edit > Clear "
                "Outputs of All Cells) and send data with --file",
            )
        return data.decode("utf-8")
    except FileNotFoundError:
        raise SpecError(
            f"{what} not found: {path}",
            hint="check the path (a relative path starts from the current directory)",
        ) from None
    except IsADirectoryError:
        raise SpecError(
            f"expected {what} {path} to be a file; got a directory", hint="name a file inside it"
        ) from None
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"expected UTF-8 text in {what} {path}; got an invalid byte at offset {exc.start}",
            hint="save the file as UTF-8 (Jupyter always does); is it the right file?",
        ) from None
    except OSError as exc:
        raise SpecError(
            f"cannot read {what} {path}: {exc.strerror}",
            hint="check the file's permissions",
        ) from None


def _convert_hint(path: Path) -> str:
    if path.suffix.lower() in _SCRIPT_SUFFIXES:
        return f"this looks like a script; convert it with: jupytext --to notebook {path}"
    return "give the path of a Jupyter notebook (.ipynb), or re-save this one from Jupyter"


def _loads_notebook(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        why = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number, absurd nesting
        why = f"JSON it cannot read: {exc}"
    raise SpecError(
        f"expected a notebook (.ipynb JSON) in {path}; got {why}", hint=_convert_hint(path)
    )


def _check_shape(nb: Any, path: Path) -> dict[str, Any]:
    version: Any = nb.get("nbformat") if isinstance(nb, dict) else None
    known = isinstance(version, int) and not isinstance(version, bool)
    if known and version < 4:
        raise SpecError(
            f"expected a notebook in format 4 or later; {path} is in format {version}",
            hint=f"convert it: jupyter nbconvert --to notebook --nbformat 4 {path}",
        )
    if not known or not isinstance(nb.get("cells"), list):
        got = "an object lacking one" if isinstance(nb, dict) else f"a JSON {type(nb).__name__}"
        raise SpecError(
            f"expected a notebook (a JSON object with a 'cells' list and an integer "
            f"'nbformat') in {path}; got {got}",
            hint=_convert_hint(path),
        )
    notebook: dict[str, Any] = nb
    return notebook


def _is_cell(cell: Any) -> bool:
    if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
        return False
    source = cell.get("source")
    lines = source if isinstance(source, list) else [source]
    return all(isinstance(line, str) for line in lines)


def _check_cells(nb: dict[str, Any], path: Path) -> None:
    for number, cell in enumerate(nb["cells"], start=1):
        if not _is_cell(cell):
            raise SpecError(
                f"expected each cell to have a 'cell_type' and a text 'source'; "
                f"cell #{number} of {path} does not",
                hint="the file is damaged; re-save it from Jupyter",
            )


def read_notebook(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and lightly validate a .ipynb file (format 4+) as plain JSON."""
    path = Path(path)
    nb = _check_shape(_loads_notebook(read_text_file(path, "notebook"), path), path)
    _check_cells(nb, path)
    return nb


# --- small accessors ----------------------------------------------------------------


def _dict_at(obj: Any, key: str) -> dict[str, Any]:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


def _str_at(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _tags(cell: dict[str, Any]) -> list[str]:
    tags = _dict_at(cell, "metadata").get("tags")
    return sorted({t for t in tags if isinstance(t, str)}) if isinstance(tags, list) else []


def _language(nb: dict[str, Any]) -> str | None:
    """papermill's rule: language_info.name, else kernelspec.language."""
    metadata = _dict_at(nb, "metadata")
    return _str_at(_dict_at(metadata, "language_info"), "name") or _str_at(
        _dict_at(metadata, "kernelspec"), "language"
    )


def is_python(language: str | None) -> bool:
    """Whether condor_nb can read parameters of a notebook in ``language`` (None: assume so)."""
    return language is None or language.lower().startswith("python")


# --- hashing ----------------------------------------------------------------------


def content_hash(nb: dict[str, Any]) -> str:
    """Return "sha256:<hex>" over what decides how the notebook runs.

    Covers each cell's type, source (a list is joined into one string) and tags
    (sorted: papermill acts on tags), plus the kernelspec's name and language.
    Outputs, execution counts, cell ids, language_info and all other metadata are
    excluded, so re-saving a notebook after running it keeps its hash.
    """
    kernelspec = _dict_at(_dict_at(nb, "metadata"), "kernelspec")
    canonical = {
        "kernel": [_str_at(kernelspec, "name"), _str_at(kernelspec, "language")],
        "cells": [[c.get("cell_type"), _source(c), _tags(c)] for c in nb.get("cells", [])],
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --- the parameters cell ----------------------------------------------------------


def _find_parameters_cell(nb: dict[str, Any]) -> int | None:
    tagged = [i for i, cell in enumerate(nb["cells"]) if PARAMETERS_TAG in _tags(cell)]
    if not tagged:
        return None
    first = tagged[0]
    later_code = [i for i in tagged[1:] if nb["cells"][i].get("cell_type") == "code"]
    if nb["cells"][first].get("cell_type") != "code" and later_code:
        raise SpecError(
            f"the first cell tagged 'parameters' (cell #{first + 1}) is a "
            f"{nb['cells'][first].get('cell_type')} cell; papermill injects values right "
            f"after it, so the defaults in code cell #{later_code[0] + 1} would override them",
            hint=f"remove the 'parameters' tag from cell #{first + 1}",
        )
    return first


def _strip_magics(source: str) -> str:
    """Blank out IPython magics (%, %%) and shell escapes (!) keeping line numbers."""
    lines = source.splitlines()
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            lines[i] = line[: len(line) - len(stripped)] + "pass"
    return "\n".join(lines)


def _quiet_parse(source: str, mode: str = "exec") -> Any:
    with warnings.catch_warnings():  # e.g. SyntaxWarning for "\d" must not reach the CLI
        warnings.simplefilter("ignore")
        return ast.parse(source, mode=mode)


def _parse_cell(source: str, cell_number: int) -> tuple[ast.Module, str]:
    """Parse as is; failing that, with IPython magics and shell escapes blanked out."""
    try:
        return _quiet_parse(source), source
    except _PARSE_ERRORS:
        pass
    cleaned = _strip_magics(source)
    try:
        return _quiet_parse(cleaned), cleaned
    except _PARSE_ERRORS as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, SyntaxError) else ""
        why = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise SpecError(
            f"expected valid Python in the parameters cell (cell #{cell_number}, counting "
            f"from 1); got a syntax error{where}: {why}",
            hint="fix that line in the notebook (run the cell in Jupyter to see the error)",
        ) from None


def _annotation_type(node: ast.expr | None) -> tuple[str, bool] | None:
    """(type, nullable) from an annotation, or None when there is none."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # x: "float" = 1
        try:
            return _annotation_type(_quiet_parse(node.value, mode="eval").body)
        except _PARSE_ERRORS:
            return ("any", True)
    members = _union_members(node)
    non_null = [m for m in members if not (isinstance(m, ast.Constant) and m.value is None)]
    nullable = len(non_null) < len(members)
    if len(non_null) != 1:
        return ("any", True)
    target = non_null[0]
    kind = _ANNOTATION_TYPES.get(_type_name(target), "any")
    return (kind, nullable or kind == "any")


def _type_name(node: ast.expr) -> str:
    """ "List" for List[int], typing.List[int] and List; "" when it is not a name."""
    base = node.value if isinstance(node, ast.Subscript) else node
    return base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")


def _union_members(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union_members(node.left) + _union_members(node.right)
    if isinstance(node, ast.Subscript):
        name = _type_name(node)
        if name == "Optional":
            return [*_union_members(node.slice), ast.Constant(value=None)]
        if name == "Union":
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return [m for item in items for m in _union_members(item)]
    return [node]


def _default_type(node: ast.expr) -> tuple[str, bool]:
    """(type, nullable) from a default value's expression."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        if isinstance(node, ast.JoinedStr):
            return ("str", False)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            kind = _ANNOTATION_TYPES.get(node.func.id)
            if kind is not None and kind == node.func.id:
                return (kind, False)
        return ("any", True)
    kind = _LITERAL_TYPES.get(type(value), "any")
    return (kind, kind == "any")


def _declare(
    name: str, value: ast.expr, annotation: ast.expr | None, source: str
) -> DeclaredParameter:
    kind, nullable = _annotation_type(annotation) or _default_type(value)
    is_none = isinstance(value, ast.Constant) and value.value is None
    segment = ast.get_source_segment(source, value) or ast.unparse(value)
    return DeclaredParameter(name, kind, segment, nullable or is_none)


def _unpacked(target: ast.expr, value: ast.expr) -> list[tuple[ast.expr, ast.expr]]:
    """a, b = 1, 2 pairs each name with its value; other unpacking declares nothing."""
    sequences = ast.Tuple | ast.List
    if not (isinstance(target, sequences) and isinstance(value, sequences)):
        return []
    if len(target.elts) != len(value.elts):
        return []
    return list(zip(target.elts, value.elts, strict=True))


def _assignments(stmt: ast.stmt) -> list[tuple[str, ast.expr, ast.expr | None]]:
    """(name, value, annotation) for each name a top-level statement declares."""
    if isinstance(stmt, ast.AnnAssign):  # a bare "x: int" declares no default: skipped
        if stmt.value is None or not isinstance(stmt.target, ast.Name):
            return []
        return [(stmt.target.id, stmt.value, stmt.annotation)]
    if not isinstance(stmt, ast.Assign):
        return []
    found: list[tuple[str, ast.expr, ast.expr | None]] = []
    for target in stmt.targets:  # a = b = 1 declares both
        if isinstance(target, ast.Name):
            found.append((target.id, stmt.value, None))
        else:
            pairs = _unpacked(target, stmt.value)
            found += [(t.id, v, None) for t, v in pairs if isinstance(t, ast.Name)]
    return found


def parse_parameters(source: str, cell_number: int = 1) -> dict[str, DeclaredParameter]:
    """Declared parameters of a Python parameters cell, in declaration order.

    Only top-level assignments count; a name assigned twice keeps its first position
    and its last default (what the kernel ends up with).
    """
    module, parsed = _parse_cell(source, cell_number)
    declared: dict[str, DeclaredParameter] = {}
    for stmt in module.body:
        for name, value, annotation in _assignments(stmt):
            declared[name] = _declare(name, value, annotation, parsed)
    return declared


def inspect_notebook(path: str | os.PathLike[str]) -> NotebookInfo:
    """Read a notebook and describe its kernel, parameters and content hash."""
    nb = read_notebook(path)
    language = _language(nb)
    index = _find_parameters_cell(nb)
    parameters: dict[str, DeclaredParameter] = {}
    cell = nb["cells"][index] if index is not None else {}
    if index is not None and cell.get("cell_type") == "code" and is_python(language):
        parameters = parse_parameters(_source(cell), index + 1)
    return NotebookInfo(
        path=Path(path),
        kernel_name=_str_at(_dict_at(_dict_at(nb, "metadata"), "kernelspec"), "name"),
        language=language,
        parameters=parameters,
        parameters_cell_index=index,
        content_hash=content_hash(nb),
    )
