"""Screenshots of browser tests, kept under tests/browser/artifacts/ for a human to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).with_name("artifacts")


def shot(page: Any, name: str) -> None:
    """Save a screenshot as tests/browser/artifacts/<name>.png (kept for a human to look at)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
