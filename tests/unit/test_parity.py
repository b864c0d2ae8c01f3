"""Manifests, their differences, the default image and image paths (no pool needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from condor_nb.diagnostics import parity
from condor_nb.errors import SpecError
from condor_nb.settings import load_settings


def manifest(py: str = "3.11.7", pm: str | None = "2.7.0", numpy: Any = "1.26.0") -> dict[str, Any]:
    imports: dict[str, Any] = {"json": {"stdlib": True}}
    if numpy is not None:
        imports["numpy"] = {"distributions": {"numpy": numpy}, "version": numpy}
    else:
        imports["numpy"] = {"distributions": {}, "version": None}
    return {
        "python": {"version": py, "implementation": "CPython", "executable": "/x"},
        "packages": {"papermill": pm, "ipykernel": "6.29.0"},
        "imports": imports,
        "kernel": {"requested": "python3", "name": "python3", "fallback": False},
        "hostname": "anything",
    }


def test_identical_environments_have_no_differences() -> None:
    assert parity.compare(manifest(), dict(manifest(), hostname="worker")) == []


def test_differences_are_named_with_both_sides() -> None:
    diffs = parity.compare(manifest(), manifest(py="3.13.5", pm=None, numpy=None))
    text = [str(d) for d in diffs]
    assert "python version: here 3.11.7, on the worker 3.13.5" in text
    assert "package papermill: here 2.7.0, on the worker not installed" in text
    assert "import numpy: here 1.26.0, on the worker not installed" in text


def test_kernel_fallback_is_a_difference() -> None:
    worker = dict(manifest(), kernel={"requested": "python3", "name": "ir", "fallback": True})
    assert [d.what for d in parity.compare(manifest(), worker)] == ["kernel"]


@pytest.mark.parametrize("var", parity.IMAGE_VARIABLES)
def test_default_image_comes_from_the_container_we_run_in(var: str, tmp_path: Path) -> None:
    image = "/cvmfs/singularity.opensciencegrid.org/org/img:1"
    env = {var: image, "XDG_CONFIG_HOME": str(tmp_path)}
    assert parity.default_image(env) == image
    assert load_settings(env).image == image
    assert load_settings(env, image="/other").image == "/other"


def test_missing_image_path_is_refused(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.sif")
    with pytest.raises(SpecError) as info:
        parity.check_image(missing)
    assert f"image {missing}: expected an existing image" in str(info.value)
    present = tmp_path / "img.sif"
    present.write_text("x")
    parity.check_image(str(present))
    parity.check_image("docker://python:3.11")


def test_submit_manifest_matches_the_worker_shape(tmp_path: Path) -> None:
    nb = tmp_path / "n.ipynb"
    nb.write_text(
        '{"cells": [{"cell_type": "code", "source": "import json\\nimport click"}],'
        ' "metadata": {"kernelspec": {"name": "python3", "language": "python"}}}'
    )
    m = parity.submit_manifest(nb, "/img", None)
    assert m["side"] == "submit" and m["image"] == "/img"
    assert m["imports"]["json"] == {"stdlib": True}
    assert m["imports"]["click"]["version"]
    assert set(manifest()) - {"hostname"} <= set(m)


def test_shipped_papermill_helper_and_unrecorded_modules() -> None:
    worker = manifest(py="3.13.5")
    worker["executor"] = {"source": "shipped", "papermill": "2.7.0", "reason": "no papermill"}
    worker["imports"]["condor_nb"] = {"distributions": {}, "version": None, "helper": "h"}
    worker["imports"]["only_here"] = {"distributions": {}, "version": None}
    submit = manifest()
    submit["imports"]["condor_nb"] = {"distributions": {"condor-nb": "0.1"}, "version": "0.1"}
    text = [str(d) for d in parity.compare(submit, worker)]
    assert text == [
        "python version: here 3.11.7, on the worker 3.13.5",
        "papermill: here installed 2.7.0, on the worker 2.7.0 shipped by condor_nb (no papermill)",
    ]
    worker["executor"] = {"source": "worker", "papermill": "2.7.0"}
    assert [d.what for d in parity.compare(submit, worker)] == ["python version"]


def test_stdlib_is_recognised_without_stdlib_module_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python 3.9 has no sys.stdlib_module_names: the module's location decides."""
    import sys

    from condor_nb.worker import report

    monkeypatch.delattr(sys, "stdlib_module_names")
    versions = report.module_versions(["json", "asyncio", "sys", "click", "no_such_module_x"])
    assert versions["json"] == versions["asyncio"] == versions["sys"] == {"stdlib": True}
    assert versions["click"]["version"] and versions["no_such_module_x"]["version"] is None


def test_record_helper_counts_as_condor_nb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from condor_nb.worker import report

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(report, "dist_version", lambda name: None)  # a worker without it
    assert "helper" not in report.module_versions(["condor_nb"])["condor_nb"]
    helper = tmp_path / report.RECORD_HELPER
    helper.parent.mkdir(parents=True)
    helper.write_text("")
    assert report.module_versions(["condor_nb"])["condor_nb"]["helper"]
