"""A failed notebook's reason, in the same words before and after its outputs are fetched.

The worker wrapper writes one bounded line, e.g. ``cell 3: `x = 1/0`: ZeroDivisionError:
division by zero`` (the cell as the user counts it: their code cells, 1-based, papermill's
injected parameters cell not counted), into the job ad (``CondorNbFailure``) as the job
ends, and the same line into its result file (``failure.summary``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from condor_nb.contract.names import FAILURE_ATTR

#: A summary longer than this (a foreign or hostile ad) is cut: the wrapper sends <= 500 bytes.
MAX_SUMMARY_CHARS = 600


def clean_summary(value: Any) -> str | None:
    """The summary as shown: a non-empty string, one line, bounded; else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())
    return text if len(text) <= MAX_SUMMARY_CHARS else text[: MAX_SUMMARY_CHARS - 3] + "..."


def reason(klass: str, sentence: str, summary: str | None) -> str:
    """The reason a user reads: the summary alone for a cell's error (it says it all),
    else the failure class's sentence and the summary."""
    if not summary:
        return sentence
    return summary if klass == "cell_error" else f"{sentence}: {summary}"


def from_ad(ad: Mapping[str, Any]) -> str | None:
    """The wrapper's failure summary in a job ad (queue or history), if it sent one."""
    return clean_summary(ad.get(FAILURE_ATTR))


def from_result(result: Mapping[str, Any]) -> str | None:
    """The same summary in the worker's result file (None for an older wrapper's file)."""
    failure = result.get("failure")
    return clean_summary(failure.get("summary")) if isinstance(failure, Mapping) else None
