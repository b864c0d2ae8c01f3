"""A sweep's answers as a table: one row per parameter set.

Each row holds the index, job id, state, runtime, the parameters, and the values
the notebook recorded with ``condor_nb.record(name, value)`` (read from the
retrieved ``_condor_nb_values.json``). A pandas DataFrame when pandas is
installed (or asked for), else a list of dicts.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from condor_nb.contract import VALUES_JSON
from condor_nb.errors import SpecError

if TYPE_CHECKING:
    from condor_nb.api import Job

FIXED_COLUMNS = ("index", "job_id", "state", "reason", "runtime_s")


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
        runtime = None
        if record.started_at and record.finished_at:
            runtime = round(record.finished_at - record.started_at, 3)
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
    rows = result_rows(members)
    if as_dataframe is False:
        return rows
    try:
        import pandas as pd
    except ImportError:
        if as_dataframe:
            raise SpecError(
                "a DataFrame was asked for, but pandas is not installed",
                hint="pip install pandas, or call results(as_dataframe=False)",
            ) from None
        return rows
    return pd.DataFrame(rows)


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    names: list[str] = list(FIXED_COLUMNS)
    for row in rows:
        names.extend(k for k in row if k not in names)
    return names


def write_table(rows: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """CSV (lists and dicts as JSON text) or Parquet (needs pandas and pyarrow)."""
    target = Path(path)
    if target.suffix.lower() == ".parquet":
        try:
            import pandas as pd

            pd.DataFrame(rows).to_parquet(target)
        except ImportError as exc:
            raise SpecError(
                f"writing Parquet needs pandas and pyarrow ({exc.name} is missing)",
                hint="pip install pandas pyarrow, or write a .csv",
            ) from None
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
