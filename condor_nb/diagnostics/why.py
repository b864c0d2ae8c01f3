"""Why is a job not running: see :mod:`condor_nb.condor.matchmaking` (the analysis
lives in the condor layer so the submit chokepoint can refuse a job no slot can ever
match; this module is its name for the CLI, the API and the Jupyter extension)."""

from __future__ import annotations

from condor_nb.condor.matchmaking import (
    Clause,
    NeverMatch,
    Why,
    analyse_held,
    analyse_idle,
    explain,
    for_condor_id,
    never_matches,
    split_conjunction,
)

__all__ = [
    "Clause",
    "NeverMatch",
    "Why",
    "analyse_held",
    "analyse_idle",
    "explain",
    "for_condor_id",
    "never_matches",
    "split_conjunction",
]
