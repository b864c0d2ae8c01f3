"""Parameter sets of a sweep, from grids, zipped lists or a file (pure, no I/O but reads).

``--grid a=1,2,3 --grid b=x,y`` is the cartesian product (6 sets); with ``--zip``
the lists are paired instead (they must have the same length). ``--from FILE``
reads a CSV (a header row of names, one row per set), or a YAML/JSON list of
mappings. Command-line and CSV values are strings, converted by the types the
notebook's ``parameters`` cell declares (as ``-p`` values are).
"""

from __future__ import annotations

import csv
import itertools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from condor_nb.errors import SpecError
from condor_nb.spec.notebook import DeclaredParameter, read_text_file
from condor_nb.spec.params import coerce_cli_value

MAX_SWEEP = 20_000  # the schedd's default limit for one submission


def parse_grid_option(text: str) -> tuple[str, list[str]]:
    """``"a=1,2,3"`` -> ``("a", ["1", "2", "3"])``."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise SpecError(
            f"--grid: expected NAME=V1,V2,...; got {text!r}",
            hint="for example --grid alpha=0.1,0.2,0.5",
        )
    items = [v.strip() for v in values.split(",")] if values.strip() else []
    if not items:
        raise SpecError(
            f"--grid {name}: expected at least one value; got an empty list",
            hint=f"for example --grid {name}=1,2,3",
        )
    return name, items


def _coerce_all(
    grids: Mapping[str, Sequence[Any]], declared: Mapping[str, DeclaredParameter]
) -> dict[str, list[Any]]:

    return {
        name: [coerce_cli_value(v, declared.get(name)) if isinstance(v, str) else v for v in vs]
        for name, vs in grids.items()
    }


def _check_grids(grids: Mapping[str, Sequence[Any]]) -> None:
    if not grids:
        raise SpecError(
            "a sweep needs at least one parameter to vary; got none",
            hint="use --grid NAME=V1,V2 or --from params.csv",
        )
    for name, values in grids.items():
        if len(values) == 0:
            raise SpecError(f"grid {name!r}: expected at least one value; got an empty list")


def grid_sets(
    grids: Mapping[str, Sequence[Any]], declared: Mapping[str, DeclaredParameter] | None = None
) -> list[dict[str, Any]]:
    """The cartesian product of the grids, first grid varying slowest."""
    _check_grids(grids)
    typed = _coerce_all(grids, declared or {})
    size = 1
    for values in typed.values():
        size *= len(values)
    _check_size(size)
    names = list(typed)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*typed.values())]


def zip_sets(
    grids: Mapping[str, Sequence[Any]], declared: Mapping[str, DeclaredParameter] | None = None
) -> list[dict[str, Any]]:
    """The lists paired element by element (all must have the same length)."""
    _check_grids(grids)
    lengths = {name: len(values) for name, values in grids.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{n}: {k}" for n, k in lengths.items())
        raise SpecError(
            f"--zip pairs the lists element by element: expected lists of the same length; "
            f"got {shown}",
            hint="give every --grid the same number of values, or drop --zip for all combinations",
        )
    typed = _coerce_all(grids, declared or {})
    _check_size(next(iter(lengths.values())))
    names = list(typed)
    return [dict(zip(names, combo, strict=True)) for combo in zip(*typed.values(), strict=True)]


def _check_size(size: int) -> None:
    if size > MAX_SWEEP:
        raise SpecError(
            f"a sweep may have at most {MAX_SWEEP:,} parameter sets; this one has {size:,}",
            hint="split it into several sweeps (the schedd limits one submission)",
        )


def _read_csv(path: Path, declared: Mapping[str, DeclaredParameter]) -> list[dict[str, Any]]:

    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SpecError(f"cannot read parameter sets from {path}: {exc}") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise SpecError(
            f"{path}: expected a header row of parameter names and at least one row of values; "
            f"got {len(rows)} row(s)",
            hint="first line: alpha,beta; then one line per parameter set: 0.1,x",
        )
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header) or not all(header):
        raise SpecError(f"{path}: the header row must name each column once; got {rows[0]}")
    sets = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise SpecError(
                f"{path}, line {number}: expected {len(header)} values "
                f"({', '.join(header)}); got {len(row)}",
                hint="every row needs one value per header column (quote values with commas)",
            )
        sets.append(
            {n: coerce_cli_value(v, declared.get(n)) for n, v in zip(header, row, strict=True)}
        )
    return sets


def _read_structured(path: Path) -> list[dict[str, Any]]:

    text = read_text_file(path, "parameter sets file")
    try:
        if path.suffix.lower() == ".json":
            import json

            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError: both name the line
        raise SpecError(f"cannot parse parameter sets in {path}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("sets"), list):
        data = data["sets"]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise SpecError(
            f"{path}: expected a list of mappings (one per parameter set); "
            f"got {type(data).__name__}",
            hint='JSON: [{"alpha": 0.1}, {"alpha": 0.2}]; YAML: "- alpha: 0.1"',
        )
    if not data:
        raise SpecError(f"{path}: expected at least one parameter set; got an empty list")
    return [dict(d) for d in data]


def load_sets(
    path: str | os.PathLike[str], declared: Mapping[str, DeclaredParameter] | None = None
) -> list[dict[str, Any]]:
    """Parameter sets from a .csv, .json, .yaml or .yml file."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"parameter sets file not found: {path}")
    sets = _read_csv(p, declared or {}) if p.suffix.lower() == ".csv" else _read_structured(p)
    _check_size(len(sets))
    return sets
