"""Shared fixtures for the pure-layer unit tests: an isolated environment, tiny notebooks."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

PARAMETERS_SOURCE = 'name = "world"\nrepeat = 3\nscale = 1.5\n'

NotebookFactory = Callable[..., Path]


def notebook_json(parameters_source: str = PARAMETERS_SOURCE) -> dict[str, object]:
    """A minimal nbformat-4 Python notebook with a tagged parameters cell."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "params",
                "metadata": {"tags": ["parameters"]},
                "outputs": [],
                "source": parameters_source,
            },
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "work",
                "metadata": {},
                "outputs": [],
                "source": "print(name * repeat, scale)",
            },
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CONDOR_NB_* from the caller; home, config and profiles all under tmp_path."""
    for key in list(os.environ):
        if key.startswith("CONDOR_NB_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CONDOR_NB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CONDOR_NB_CONFIG", str(tmp_path / "no-such-config.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    return tmp_path


@pytest.fixture
def make_notebook(tmp_path: Path) -> NotebookFactory:
    """Write a small parameterised notebook: make_notebook("fit.ipynb", source=..., dir=...)."""

    def make(
        filename: str = "analysis.ipynb",
        *,
        source: str = PARAMETERS_SOURCE,
        directory: Path | None = None,
    ) -> Path:
        folder = directory or tmp_path / "notebooks"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / filename
        path.write_text(json.dumps(notebook_json(source), indent=1), encoding="utf-8")
        return path

    return make
