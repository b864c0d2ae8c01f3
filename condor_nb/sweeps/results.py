"""A sweep's answers as a table: one row per parameter set.

Each row holds the index, job id, state, runtime, the parameters, and the values
the notebook recorded with ``condor_nb.record(name, value)`` (read from the
retrieved ``_condor_nb_values.json``). A pandas DataFrame when pandas is
installed (or asked for), else :class:`ResultRows` (a list of dicts that shows as an
HTML table in a notebook and has ``to_pandas()``). pandas and pyarrow (Parquet) come
with the ``results`` extra: ``pip install 'condor_nb[results]'``.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from condor_nb.contract import VALUES_JSON
from condor_nb.errors import SpecError
from condor_nb.store.usage import runtime_of
from condor_nb.view.html import rows_html

if TYPE_CHECKING:
    from condor_nb.api import Job

FIXED_COLUMNS = ("index", "job_id", "state", "reason", "runtime_s")

#: The extra that installs what results need beyond CSV (pandas, pyarrow).
EXTRA_HINT = "pip install 'condor_nb[results]' (pandas and pyarrow)"


def _pandas(what: str) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise SpecError(f"{what} needs pandas, which is not installed", hint=EXTRA_HINT) from None
    return pd


class ResultRows(list[dict[str, Any]]):
    """A sweep's results as a list of dicts (one per parameter set), in order."""

    @property
    def columns(self) -> list[str]:
        return _columns(self)

    def to_pandas(self) -> Any:
        """The same rows as a pandas DataFrame (``condor_nb[results]`` installs pandas)."""
        return _pandas("a DataFrame").DataFrame(list(self), columns=self.columns)

    def _repr_html_(self) -> str:
        return rows_html(self, self.columns)


def _values(out_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((out_dir / VALUES_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def result_rows(members: Sequence[tuple[int, Job]]) -> list[dict[str, Any]]:
    rows = []
    for index, job in members:
        record = job.record
        # The RUNTIME that q and status show: what the schedd recorded for an ended job.
        ran = runtime_of(record, time.time())
        runtime = None if ran is None else round(ran, 3)
        row: dict[str, Any] = {
            "index": index, "job_id": record.id, "state": record.state,
            "reason": record.reason, "runtime_s": runtime,
        }  # fmt: skip
        params = json.loads(record.params_json or "{}")
        row.update(params)
        for name, value in _values(job._files.out_dir).items():
            row[f"{name}_recorded" if name in row else name] = value
        rows.append(row)
    return rows


def results_table(members: Sequence[tuple[int, Job]], *, as_dataframe: bool | None = None) -> Any:
    rows = ResultRows(result_rows(members))
    if as_dataframe is False:
        return rows
    try:
        import pandas  # noqa: F401
    except ImportError:
        if as_dataframe:
            raise SpecError(
                "a DataFrame was asked for, but pandas is not installed",
                hint=EXTRA_HINT + ", or call results(as_dataframe=False)",
            ) from None
        return rows
    return rows.to_pandas()


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    names: list[str] = list(FIXED_COLUMNS)
    for row in rows:
        names.extend(k for k in row if k not in names)
    return names


def write_table(rows: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """CSV (lists and dicts as JSON text) or Parquet (needs pandas and pyarrow)."""
    target = Path(path)
    if target.suffix.lower() == ".parquet":
        write_parquet(rows, target)
        return target
    if target.suffix.lower() not in (".csv", ""):
        raise SpecError(f"results file: expected a .csv or .parquet name; got {target.name!r}")
    columns = _columns(rows)
    with target.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
    return target


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | dict) else value


def write_parquet(rows: Sequence[dict[str, Any]], target: Path) -> None:
    """Parquet through pandas and pyarrow. A column whose values pyarrow cannot hold in
    one type (a value recorded as a number by one proc, a string by another) is
    written as JSON text, as in the CSV."""
    pd = _pandas("writing Parquet")
    try:
        import pyarrow as pa
    except ImportError:
        raise SpecError(
            "writing Parquet needs pyarrow, which is not installed", hint=EXTRA_HINT
        ) from None
    frame = pd.DataFrame(list(rows), columns=_columns(rows))
    for column in frame.columns:
        try:
            pa.array(frame[column], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            frame[column] = [None if _missing(v) else json.dumps(v) for v in frame[column]]
    frame.to_parquet(target, index=False)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
