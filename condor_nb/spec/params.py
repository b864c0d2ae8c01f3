"""Parameters from users: ``-p NAME VALUE`` strings, Python values, YAML/JSON files.

Values travel to the worker as JSON, so every value must be a JSON value: None,
bool, int, float, str, a list, or a dict with str keys (tuples become lists).
Decision: NaN and infinities are rejected everywhere, because strict JSON (and our
cache keys, ``allow_nan=False``) cannot carry them; pass them as strings and convert
in the notebook. Lone surrogates (undecodable command-line bytes) are rejected too.
"""

from __future__ import annotations

import json
import keyword
import math
import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from condor_nb.errors import SpecError
from condor_nb.spec.notebook import DeclaredParameter, NotebookInfo, is_python, read_text_file
from condor_nb.spec.units import show_value

_BOOL_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_NULL_WORDS = ("None", "null")
_OPT_OUT = "--allow-unknown-params on the command line, allow_unknown_params=True in Python"
_CLI_EXAMPLES = {
    "int": "a whole number, e.g. -p {} 3", "float": "a number, e.g. -p {} 0.5",
    "bool": "true/false, yes/no or 1/0, e.g. -p {} true",
    "list": "a JSON list, e.g. -p {} '[1, 2]'",
    "dict": """a JSON object, e.g. -p {} '{{"a": 1}}'""",
}  # fmt: skip
_PY_EXAMPLES = {
    "int": "an int (True/False are not ints)", "float": "an int or a float", "str": "a str",
    "bool": "True or False", "list": "a list", "dict": "a dict with str keys",
}  # fmt: skip
_PY_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,), "float": (float, int), "str": (str,), "bool": (bool,),
    "list": (list, tuple), "dict": (dict,),
}  # fmt: skip
_MAX_INT_BITS = 14_000  # about 4,200 digits: Python will not print a longer int
_JSON_TYPES = "None, bool, int, float, str, list, or dict with str keys"


def _declared_as(p: DeclaredParameter) -> str:
    default = " ".join(p.default_source.split())  # one line, even for a multi-line list
    default = default if len(default) <= 40 else default[:37] + "..."
    optional = " or None" if p.nullable and p.type != "any" else ""
    return (
        f"parameter {p.name!r} is declared as {p.type}{optional} "
        f"({p.name} = {default} in the parameters cell)"
    )


# --- command-line strings ---------------------------------------------------------


def _resolve_like_papermill(raw: str) -> Any:
    """papermill's CLI rule for untyped values (papermill.cli._resolve_type)."""
    if raw in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[raw]
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    return raw


def _cli_error(declared: DeclaredParameter, raw: str, why: str = "") -> SpecError:
    example = _CLI_EXAMPLES.get(declared.type, "a value").format(declared.name)
    return SpecError(
        f"{_declared_as(declared)}; got {show_value(raw)}{why}", hint=f"pass {example}"
    )


def _parse_structured(raw: str, declared: DeclaredParameter) -> Any:
    """JSON first, then YAML flow style ("[a, b]", "{a: 1}") as a fallback."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        pass
    import yaml  # lazily: only list/dict parameters given as YAML need it

    try:
        return yaml.safe_load(raw)
    except (yaml.YAMLError, ValueError, RecursionError):
        raise _cli_error(declared, raw, " (neither JSON nor YAML)") from None


def _coerce_typed(raw: str, declared: DeclaredParameter) -> Any:
    kind = declared.type
    if kind in ("int", "float"):
        try:
            number = int(raw) if kind == "int" else float(raw)
        except ValueError:
            raise _cli_error(declared, raw) from None
        if not math.isfinite(number):
            raise _cli_error(declared, raw, " (NaN and infinity cannot be sent as JSON)")
        return number
    if kind == "bool":
        word = raw.strip().lower()
        if word not in _BOOL_WORDS:
            raise _cli_error(declared, raw)
        return _BOOL_WORDS[word]
    value = _parse_structured(raw, declared)
    if not isinstance(value, list if kind == "list" else dict):
        raise _cli_error(declared, raw, f" (a {type(value).__name__})")
    return json_value(value, declared.name)


def coerce_cli_value(raw: str, declared: DeclaredParameter | None) -> Any:
    """Convert the VALUE of ``-p NAME VALUE`` according to how NAME is declared.

    str: the raw string, verbatim ("3" stays "3", "None" stays "None").
    int/float/bool: parsed (bool takes true/false/yes/no/1/0, any case). list/dict:
    JSON, else YAML flow style. Other nullable types also take "None" or "null".
    Undeclared or "any": papermill's CLI rule (True/False/None, int, float, else the
    string); a NaN or infinity produced that way is rejected by check_parameters.
    """
    if declared is None or declared.type == "any":
        return _resolve_like_papermill(raw)
    if declared.type == "str":
        return raw
    if declared.nullable and raw.strip() in _NULL_WORDS:
        return None
    return _coerce_typed(raw, declared)


# --- Python values ----------------------------------------------------------------


def _json_hint(value: object) -> str:
    module = type(value).__module__
    if module == "numpy":
        return "convert it with .tolist() (arrays) or .item() (scalars)"
    if module == "datetime":
        return "pass it as text, e.g. value.isoformat(); in a YAML file, quote it"
    if isinstance(value, set | frozenset):
        return "pass a list instead, e.g. sorted(value)"
    if isinstance(value, float):
        return "NaN and infinity cannot be sent as JSON; pass a str such as 'nan'"
    if isinstance(value, int):
        return "that int is too large to send; pass it as a str"
    if isinstance(value, str):
        return "the text holds bytes that are not valid UTF-8; check its encoding"
    return f"parameters are sent as JSON; convert it to one of: {_JSON_TYPES}"


def _not_json(name: str, where: str, value: object, hint: str | None = None) -> SpecError:
    at = f" (at {where})" if where else ""
    got = f"{type(value).__name__} {show_value(value)}"
    return SpecError(
        f"parameter {name!r}{at}: expected a JSON value ({_JSON_TYPES}); got {got}",
        hint=hint or _json_hint(value),
    )


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. undecodable command-line bytes
        return False
    return True


def _scalar(value: bool | int | float | str | None, name: str, where: str) -> Any:
    """The JSON-ready scalar (subclasses such as IntEnum or numpy.float64 -> base type)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value.bit_length() <= _MAX_INT_BITS:
        return int(value)
    if isinstance(value, float) and math.isfinite(value):
        return float(value)
    if isinstance(value, str) and _is_utf8(value):
        return str(value)
    raise _not_json(name, where, value)


def _to_json(value: object, name: str, where: str, path: set[int]) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return _scalar(value, name, where)
    if not isinstance(value, list | tuple | dict) or id(value) in path:
        raise _not_json(name, where, value)  # a set, a numpy array, a date, a cycle...
    path.add(id(value))
    if isinstance(value, dict):
        bad_keys = [k for k in value if not isinstance(k, str)]
        if bad_keys:
            at = f"a key in {where}" if where else "a key"
            raise _not_json(name, at, bad_keys[0], hint="JSON keys must be str, e.g. str(key)")
        out: Any = {_scalar(k, name, where): _to_json(v, name, f"{where}[{k!r}]", path)
                    for k, v in value.items()}  # fmt: skip
    else:
        out = [_to_json(v, name, f"{where}[{i}]", path) for i, v in enumerate(value)]
    path.discard(id(value))
    return out


def json_value(value: object, name: str) -> Any:
    """A JSON-ready copy of ``value`` (tuples -> lists, subclasses -> base types).

    Raises a SpecError naming parameter ``name`` and where inside the value the
    offending item sits (a set, a numpy array, a datetime, NaN, a non-str key...).
    """
    try:
        return _to_json(value, name, "", set())
    except RecursionError:
        raise SpecError(f"parameter {name!r} is nested too deeply", hint="flatten it") from None


def _check_value(value: object, declared: DeclaredParameter) -> Any:
    if value is None and declared.nullable:
        return None
    bool_for_number = isinstance(value, bool) and declared.type in ("int", "float")
    if bool_for_number or not isinstance(value, _PY_TYPES.get(declared.type, (object,))):
        hint = f"pass {_PY_EXAMPLES.get(declared.type, 'a JSON value')}"
        if value is None:
            hint += f", or declare it Optional ({declared.name}: {declared.type} | None = ...)"
        elif declared.type == "str":
            hint += "; in a YAML file, quote values such as no, on, 1.0 or 2024-01-02"
        got = f"{show_value(value)} ({type(value).__name__})"
        raise SpecError(f"{_declared_as(declared)}; got {got}", hint=hint)
    if declared.type == "float" and isinstance(value, int) and abs(value) < 2**1023:
        value = float(value)
    return json_value(value, declared.name)


# --- names ------------------------------------------------------------------------


def _check_name(name: object) -> None:
    normal = unicodedata.normalize("NFKC", name) if isinstance(name, str) else None
    if normal is None or not normal.isidentifier() or keyword.iskeyword(normal):
        what = "the Python keyword" if normal and keyword.iskeyword(normal) else "the name"
        raise SpecError(
            f"expected a Python identifier as parameter name; got {what} {show_value(name)}",
            hint="names are letters, digits and _, not a keyword nor starting with a digit",
        )
    if normal != name:
        raise SpecError(
            f"expected parameter name {name!r} in normal form; Python reads it as {normal!r}",
            hint=f"pass it as {normal!r}",
        )


def _unknown_error(info: NotebookInfo, unknown: list[str]) -> SpecError:
    names = ", ".join(repr(n) for n in unknown)
    which = f"unknown parameter{'s' if len(unknown) > 1 else ''} {names} for {info.path}"
    opt_out = f"or allow undeclared parameters: {_OPT_OUT}"
    if info.parameters_cell_index is None:
        why = "the notebook has no cell tagged 'parameters', so it declares none"
        hint = f"tag the cell that sets the defaults with 'parameters', {opt_out}"
    elif not is_python(info.language):
        why = f"condor_nb cannot read the parameters of a notebook in {info.language}"
        hint = f"if the names are right, allow them: {_OPT_OUT}"
    else:
        import difflib  # lazily: only this message needs it

        why = f"the parameters cell declares: {', '.join(info.parameters) or 'nothing'}"
        close = {m for n in unknown for m in difflib.get_close_matches(n, info.parameters, 1)}
        guess = f"did you mean {', '.join(map(repr, sorted(close)))}? " if close else ""
        hint = f"{guess}check the spelling, declare it in the parameters cell, {opt_out}"
    return SpecError(f"{which}; {why}", hint=hint)


def check_parameters(
    info: NotebookInfo, given: Mapping[str, Any], *, allow_unknown: bool = False
) -> dict[str, Any]:
    """Validate user parameters against what the notebook declares.

    Names must be Python identifiers (never keywords), even with ``allow_unknown``.
    Declared parameters are type-checked: bool is not an int, an int is accepted
    (and converted) for a float, None only when nullable, "any" takes any JSON
    value. Every value must be JSON (see the module docstring). Returns the values in
    canonical order: declared order, then undeclared names sorted.
    """
    for name in given:
        _check_name(name)
    unknown = sorted(set(given) - set(info.parameters))
    if unknown and not allow_unknown:
        raise _unknown_error(info, unknown)
    checked = {n: _check_value(given[n], d) for n, d in info.parameters.items() if n in given}
    checked.update((n, json_value(given[n], n)) for n in unknown)
    return checked


# --- files ------------------------------------------------------------------------


def _load_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise SpecError(
            f"expected JSON in parameters file {path}; got invalid JSON at {where}",
            hint="fix the JSON (a YAML file must be named .yaml or .yml)",
        ) from None


def _load_yaml(text: str, path: Path) -> Any:
    import yaml  # lazily: only YAML files need it

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(
            f"expected YAML in parameters file {path}; got invalid YAML{where}: {problem}",
            hint="fix the YAML, e.g. alpha: 0.5 (one 'name: value' per line)",
        ) from None


def _load_any(text: str, path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _load_json(text, path)
    if suffix in (".yaml", ".yml"):
        return _load_yaml(text, path)
    try:
        return json.loads(text)
    except ValueError:
        return _load_yaml(text, path)


def load_parameters_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read parameters from a .json, .yaml or .yml file (other names: JSON, then YAML).

    The top level must be a mapping with str keys. Values are not checked here:
    pass the result to :func:`check_parameters`.
    """
    path = Path(path)
    text = read_text_file(path, "parameters file")
    try:
        data = _load_any(text, path)
    except SpecError:
        raise
    except (ValueError, RecursionError) as exc:  # e.g. an int of 5,000 digits, deep nesting
        raise SpecError(f"cannot read parameters file {path}: {exc}", hint="simplify it") from None
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise SpecError(
            f"expected a mapping of parameter names to values in {path}; got {got}",
            hint='write one name and value per parameter: alpha: 0.5 (YAML), {"alpha": 0.5}',
        )
    for key in data:
        if not isinstance(key, str):
            raise SpecError(
                f"expected parameter names (str keys) in {path}; got the key {show_value(key)}",
                hint="quote the key, or use a valid Python name such as alpha",
            )
    return data


def canonical_parameters_json(params: Mapping[str, Any]) -> str:
    """Canonical JSON text of checked parameters (sorted keys, compact, strict)."""
    try:
        return json.dumps(
            dict(params), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise SpecError(
            f"expected JSON-ready parameters; got {exc}",
            hint="pass the parameters through check_parameters() first",
        ) from None
