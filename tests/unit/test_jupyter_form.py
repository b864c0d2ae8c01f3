"""The Create Job form's pure functions (condor_nb_jupyter.form): fields, parameters,
the server's image, profiles, and checking typed text with the CLI's own code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("jupyter_scheduler")

from condor_nb_jupyter import form

from condor_nb.settings import load_settings
from condor_nb.spec import options as spec_options

SOURCE = """\
n: int = 3  # how many rounds
alpha = 0.5  # learning rate
label = "a # not a comment"
maybe: int | None = None  # optional
flags = [1, 2]  # a list
"""


def _notebook(root: Path, name: str = "analysis.ipynb", source: str = SOURCE) -> Path:
    cells = [
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": source,
         "outputs": [], "execution_count": None},
        {"cell_type": "code", "metadata": {}, "source": "print(n)", "outputs": [],
         "execution_count": None},
    ]  # fmt: skip
    nb = {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
          "metadata": {"kernelspec": {"name": "python3", "language": "python"}}}  # fmt: skip
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


@pytest.fixture
def root(isolated_env: Path) -> Path:
    folder = isolated_env / "root"
    _notebook(folder)
    (folder / "data.csv").write_text("x\n", encoding="utf-8")
    return folder


def _check(
    root: Path,
    options: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    profile: str = "personal",
    notebook: str = "analysis.ipynb",
) -> dict[str, Any]:
    settings = load_settings()
    return form.check(settings, str(root), notebook, profile, None, options or {}, params or {})


def test_fields_are_the_job_options_in_the_contract_order() -> None:
    fields = form.fields(load_settings())
    assert [f["key"] for f in fields] == list(form.OPTION_KEYS)
    assert form.OPTION_KEYS == ("cpus", "memory", "disk", "gpus", "image", "files",
                                "wall_time", "retries", "cell_timeout", "secrets")  # fmt: skip
    for f in fields:
        assert f["help"] == spec_options.info(f["key"]).doc  # the one list's own doc
        assert f["kind"] in ("int", "size", "duration", "number", "text", "list")


def test_describe_gives_types_defaults_and_trailing_comments(root: Path) -> None:
    out = form.describe(load_settings(), str(root), "analysis.ipynb", [])
    params = {p["name"]: p for p in out["parameters"]}
    assert list(params) == ["n", "alpha", "label", "maybe", "flags"]
    assert params["n"] == {"name": "n", "type": "int", "nullable": False, "default": 3,
                           "default_text": "3", "help": "how many rounds"}  # fmt: skip
    assert params["alpha"]["type"] == "float" and params["alpha"]["help"] == "learning rate"
    assert params["label"]["default"] == "a # not a comment" and params["label"]["help"] == ""
    assert params["maybe"]["nullable"] and params["maybe"]["default"] is None
    assert params["flags"]["default"] == [1, 2]
    assert out["parameters_error"] is None


def test_describe_reports_an_unreadable_notebook_by_its_relative_path(root: Path) -> None:
    (root / "sub").mkdir()
    (root / "sub" / "bad.ipynb").write_text("{oops", encoding="utf-8")
    out = form.describe(load_settings(), str(root), "sub/bad.ipynb", [])
    assert out["parameters"] == []
    assert out["parameters_error"].startswith("expected a notebook (.ipynb JSON) in sub/bad.ipynb")
    outside = form.describe(load_settings(), str(root), "../x.ipynb", [])
    assert "inside the server's root directory" in outside["parameters_error"]
    assert form.describe(load_settings(), str(root), "", [])["parameters"] == []


def test_check_keys_each_error_with_the_cli_wording(root: Path) -> None:
    out = _check(
        root,
        {"cpus": "lots", "memory": "4 parsecs", "wall_time": "soon", "retries": "500",
         "cell_timeout": "abc", "files": "data.csv\nmissing.csv", "gpus": ""},
        {"n": "abc", "alpha": "0.25", "typo": "1", "maybe": "None", "label": ""},
    )  # fmt: skip
    errors = out["errors"]
    assert set(errors) == {"cpus", "memory", "wall_time", "retries", "cell_timeout", "files",
                           "param:n", "param:typo"}  # fmt: skip
    assert errors["cpus"].startswith("cpus: expected a whole number >= 1, such as 2; got 'lots'")
    assert errors["wall_time"].startswith("wall time: expected a duration such as 90, 30m")
    assert errors["retries"] == "retries: expected at most 100; got 500"
    assert errors["cell_timeout"].startswith("cell timeout: expected a positive number")
    assert errors["files"].startswith("input file not found: missing.csv")
    assert errors["param:n"].startswith("parameter 'n' is declared as int (n = 3 in the")
    assert "did you mean" not in errors["param:typo"] and "analysis.ipynb" in errors["param:typo"]
    assert str(root) not in json.dumps(errors)
    assert out["parameters"] == {"alpha": 0.25, "maybe": None}


def test_check_of_good_values_is_empty_and_types_parameters(root: Path) -> None:
    out = _check(root, {"cpus": "2", "memory": "3GB", "files": "data.csv", "cell_timeout": "60",
                        "wall_time": "1h30m", "retries": "3"},
                 {"n": "5", "flags": "[3]", "alpha": "1"})  # fmt: skip
    assert out == {"errors": {}, "parameters": {"n": 5, "alpha": 1.0, "flags": [3]}}


def test_check_for_a_schedule_refuses_retries_on_its_field(root: Path) -> None:
    settings = load_settings()
    options = {"retries": "2", "cpus": "2"}
    out = form.check(settings, str(root), "analysis.ipynb", "personal", None, options, {},
                     kind="schedule")  # fmt: skip
    assert set(out["errors"]) == {"retries"}, out
    assert out["errors"]["retries"].startswith("retries is not an option of a schedule: ")
    assert _check(root, options)["errors"] == {}  # a job takes it


def test_a_container_profile_without_an_image_is_an_image_error(root: Path) -> None:
    out = _check(root, {"image": ""}, profile="ospool")
    assert "runs jobs in a container: expected an image, got none" in out["errors"]["image"]
    docker = _check(root, {"image": "docker://python:3.11"}, profile="ospool")
    assert docker["errors"] == {}
    assert form.needs_image("ospool") and not form.needs_image("personal")


def test_files_and_secret_files_stay_in_the_root(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _check(root, {"files": "../../etc/passwd", "secrets": "TOKEN=../t.txt"})
    assert "inside the server's root directory" in out["errors"]["files"]
    assert "inside the server's root directory" in out["errors"]["secrets"]
    monkeypatch.delenv("NOT_SET_HERE", raising=False)
    unset = _check(root, {"secrets": "NOT_SET_HERE"})
    assert unset["errors"]["secrets"].startswith("secret NOT_SET_HERE: the environment variable")


def test_job_options_turns_form_text_into_job_options(root: Path) -> None:
    got = form.job_options(
        {"cpus": " 2 ", "memory": "", "files": "data.csv, sub/x\n", "secrets": "A\nB",
         "cell_timeout": "60", "allow_no_match": "true"},
        str(root),
    )  # fmt: skip
    assert got == {"cpus": "2", "files": [str(root / "data.csv"), str(root / "sub" / "x")],
                   "secrets": ["A", "B"], "cell_timeout": 60.0, "allow_no_match": True}  # fmt: skip
    with pytest.raises(form.FieldError, match="expected one of cpus, memory"):
        form.job_options({"colour": "red"}, str(root))
    with pytest.raises(form.FieldError, match="is not an option of a schedule") as refused:
        form.job_options({"retries": "2"}, str(root), kind="schedule")
    assert refused.value.key == "retries" and "next firing" in refused.value.message
    assert refused.value.hint and "Run now" in refused.value.hint
    assert form.job_options({"retries": " "}, str(root), kind="schedule") == {}  # not given


def test_default_image_reads_the_container_variables() -> None:
    assert form.default_image({}) is None
    sif = "/images/nb.sif"
    assert form.default_image({"APPTAINER_CONTAINER": sif, "JUPYTER_IMAGE_SPEC": "x"}) == sif
    assert form.default_image({"SINGULARITY_CONTAINER": sif}) == sif
    hub = {"JUPYTER_IMAGE_SPEC": "quay.io/jupyter/scipy-notebook:2024-05-27"}
    assert form.default_image(hub) == "docker://quay.io/jupyter/scipy-notebook:2024-05-27"
    assert form.default_image({"JUPYTER_IMAGE": "docker://a/b:1"}) == "docker://a/b:1"


def test_dask_worker_is_not_a_notebook_environment(isolated_env: Path) -> None:
    assert not form.runs_notebooks("dask-worker")
    assert form.runs_notebooks("personal") and form.runs_notebooks("ospool")
    assert not form.runs_notebooks("no-such-profile")


def test_user_paths_names_the_staged_copy_as_the_users_notebook(tmp_path: Path) -> None:
    staged = str(tmp_path / "data" / "staging" / "uuid" / "analysis.ipynb")
    text = f"unknown parameter 'x' for {staged}; also {tmp_path}/root/sub/y.csv"
    shown = form.user_paths(text, str(tmp_path / "root"), {staged: "sub/analysis.ipynb"})
    assert shown == "unknown parameter 'x' for sub/analysis.ipynb; also sub/y.csv"


def test_empty_parameters_are_the_defaults() -> None:
    assert form.given_parameters({"a": "", "b": "0", "c": None}) == {"b": "0", "c": None}
    assert form.given_parameters(None) == {}
