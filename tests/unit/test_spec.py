"""notebook_job(): everything the user gave, validated once, with messages that help."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from condor_nb.errors import SpecError
from condor_nb.spec.job import NotebookJob, Resources, notebook_job

pytestmark = pytest.mark.usefixtures("isolated_env")

NotebookFactory = Callable[..., Path]  # the make_notebook fixture (conftest.py)


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    from condor_nb.settings import Settings

    return Settings(home=tmp_path / "home")


@pytest.fixture
def nb(make_notebook: NotebookFactory) -> Path:
    return make_notebook("analysis.ipynb")


def spec_error(**kwargs: Any) -> str:
    with pytest.raises(SpecError) as info:
        notebook_job(**kwargs)
    assert info.value.exit_code == 2
    return str(info.value)


def test_valid_job(nb: Path, settings: Any) -> None:
    job = notebook_job(nb, {"name": "grid", "repeat": 2}, settings=settings)
    assert isinstance(job, NotebookJob)
    assert job.notebook == nb
    assert job.parameters == {"name": "grid", "repeat": 2}
    assert job.name == "analysis"
    assert job.profile == "personal"
    assert job.image is None
    assert job.files == ()
    assert job.kernel is None
    assert job.cell_timeout is None
    assert job.content_hash.startswith("sha256:")


def test_defaults_come_from_settings(nb: Path, settings: Any) -> None:
    custom = settings.replace(cpus=2, memory="2GB", disk="3GB", gpus=1, image="img:1")
    job = notebook_job(nb, settings=custom)
    assert job.resources == Resources(cpus=2, memory_mib=2048, disk_mib=3072, gpus=1)
    assert job.image == "img:1"
    assert notebook_job(nb, settings=settings).resources == Resources(1, 1024, 1024, 0)


def test_arguments_beat_settings(nb: Path, settings: Any) -> None:
    custom = settings.replace(cpus=2, memory="2GB", image="img:1", profile="campus")
    job = notebook_job(
        nb, settings=custom, cpus="8", memory="16GB", disk=500, gpus=0, image="other:2",
        profile="ospool",
    )  # fmt: skip
    assert job.resources == Resources(cpus=8, memory_mib=16384, disk_mib=500, gpus=0)
    assert job.image == "other:2"
    assert job.profile == "ospool"


def test_empty_image_means_no_image(nb: Path, settings: Any) -> None:
    assert notebook_job(nb, settings=settings.replace(image="img:1"), image="").image is None


def test_notebook_path_is_made_absolute(
    nb: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(nb.parent.parent)
    job = notebook_job(Path(nb.parent.name) / nb.name, settings=settings)
    assert job.notebook.is_absolute()
    assert job.notebook == nb


def test_input_files_are_made_absolute(
    nb: Path, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data.csv").write_text("x\n", encoding="utf-8")
    (tmp_path / "lib").mkdir()
    monkeypatch.chdir(tmp_path)
    job = notebook_job(nb, settings=settings, files=["data.csv", "lib"])
    assert job.files == (tmp_path / "data.csv", tmp_path / "lib")


def test_missing_notebook(tmp_path: Path, settings: Any) -> None:
    message = spec_error(notebook=tmp_path / "missing.ipynb", settings=settings)
    assert "notebook not found" in message
    assert "missing.ipynb" in message


def test_missing_input_file(nb: Path, settings: Any, tmp_path: Path) -> None:
    message = spec_error(notebook=nb, settings=settings, files=[tmp_path / "nope.csv"])
    assert "input file not found" in message
    assert "nope.csv" in message
    assert "check the path" in message


def test_duplicate_input_basenames(nb: Path, settings: Any, tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "data.csv", tmp_path / "b" / "data.csv"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text("x\n", encoding="utf-8")
    message = spec_error(notebook=nb, settings=settings, files=[first, second])
    assert "two input files share the name 'data.csv'" in message
    assert str(first) in message and str(second) in message
    assert "rename one of them" in message


@pytest.mark.parametrize("filename", ["my data.csv", "a,b.csv", "it's.csv"])
def test_input_path_htcondor_cannot_transfer(
    nb: Path, settings: Any, tmp_path: Path, filename: str
) -> None:
    path = tmp_path / filename
    path.write_text("x\n", encoding="utf-8")
    message = spec_error(notebook=nb, settings=settings, files=[path])
    assert "cannot be sent to the worker" in message
    assert filename in message
    assert "put it in a directory and pass the directory" in message


def test_input_directory_may_hold_files_with_spaces(
    nb: Path, settings: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "my data.csv").write_text("x\n", encoding="utf-8")
    assert notebook_job(nb, settings=settings, files=[folder]).files == (folder,)


@pytest.mark.parametrize("filename", ["analysis.ipynb", "condor_nb_job.json", "condor_nb_run.py"])
def test_input_file_may_not_shadow_condor_nbs_own_inputs(
    nb: Path, settings: Any, tmp_path: Path, filename: str
) -> None:
    path = tmp_path / "other" / filename
    path.parent.mkdir()
    path.write_text("{}", encoding="utf-8")
    message = spec_error(notebook=nb, settings=settings, files=[path])
    assert filename in message


@pytest.mark.parametrize(
    "profile",
    [
        "../etc/passwd",
        "my profile",
        "-dash",
        "",
        "a" * 65,
        "ospool\n",
    ],
)
def test_bad_profile_name(nb: Path, settings: Any, profile: str) -> None:
    custom = settings.replace(profile=profile)  # "" falls back to settings.profile
    message = spec_error(notebook=nb, settings=custom, profile=profile)
    assert "site profile: expected a name like 'personal' or 'ospool'" in message
    assert repr(profile) in message
    assert "condor_nb profiles" in message


@pytest.mark.parametrize("profile", ["personal", "ospool", "campus-2", "site_a.v1", "A" * 64])
def test_good_profile_name(nb: Path, settings: Any, profile: str) -> None:
    assert notebook_job(nb, settings=settings, profile=profile).profile == profile


@pytest.mark.parametrize("name", ["", "   ", "\n\t"])
def test_empty_name(nb: Path, settings: Any, name: str) -> None:
    message = spec_error(notebook=nb, settings=settings, name=name)
    assert "job name: expected a non-empty string" in message
    assert repr(name) in message


def test_too_long_name(nb: Path, settings: Any) -> None:
    message = spec_error(notebook=nb, settings=settings, name="x" * 257)
    assert "job name: expected at most 256 characters; got 257" in message
    assert notebook_job(nb, settings=settings, name="x" * 256).name == "x" * 256


def test_name_may_hold_any_text(nb: Path, settings: Any) -> None:
    name = 'fit "α" $(Cluster)\n+Evil = 1'
    assert notebook_job(nb, settings=settings, name=name).name == name


@pytest.mark.parametrize("image", ["my image:latest", "img:tag;rm", '"img"', "$(X)"])
def test_bad_image(nb: Path, settings: Any, image: str) -> None:
    message = spec_error(notebook=nb, settings=settings, image=image)
    assert message.startswith("image: image may contain only letters, digits")
    assert repr(image) in message
    assert "/cvmfs/singularity.opensciencegrid.org/ORG/IMAGE:TAG" in message


def test_bad_image_from_settings(nb: Path, settings: Any) -> None:
    message = spec_error(notebook=nb, settings=settings.replace(image="bad image"))
    assert "'bad image'" in message


@pytest.mark.parametrize("timeout", [-1, 0, -0.5, "60", True])
def test_bad_cell_timeout(nb: Path, settings: Any, timeout: Any) -> None:
    message = spec_error(notebook=nb, settings=settings, cell_timeout=timeout)
    assert "cell timeout: expected a positive number of seconds" in message
    assert repr(timeout) in message


@pytest.mark.parametrize(("timeout", "stored"), [(60, 60.0), (0.5, 0.5), (None, None)])
def test_good_cell_timeout(nb: Path, settings: Any, timeout: Any, stored: Any) -> None:
    assert notebook_job(nb, settings=settings, cell_timeout=timeout).cell_timeout == stored


@pytest.mark.parametrize("timeout", [float("nan"), float("inf")])
def test_non_finite_cell_timeout(nb: Path, settings: Any, timeout: float) -> None:
    spec_error(notebook=nb, settings=settings, cell_timeout=timeout)


@pytest.mark.parametrize("kernel", ["python 3", "py;thon", "$(K)", "'python3'"])
def test_bad_kernel_name(nb: Path, settings: Any, kernel: str) -> None:
    message = spec_error(notebook=nb, settings=settings, kernel=kernel)
    assert message.startswith("kernel: kernel name may contain only letters, digits")
    assert repr(kernel) in message


@pytest.mark.parametrize("kernel", ["python3", "ir", "julia-1.10", "conda-env-ml-py"])
def test_good_kernel_name(nb: Path, settings: Any, kernel: str) -> None:
    assert notebook_job(nb, settings=settings, kernel=kernel).kernel == kernel


@pytest.mark.parametrize(
    ("kwargs", "parts"),
    [
        ({"memory": "4parsecs"}, ("memory: expected a size", "'4parsecs'", "unknown unit")),
        ({"disk": "-1GB"}, ("disk: expected a size", "greater than zero")),
        ({"cpus": "2.5"}, ("cpus: expected a whole number >= 1", "'2.5'")),
        ({"cpus": 0}, ("cpus: expected a whole number >= 1", "at least 1")),
        ({"gpus": "-1"}, ("gpus: expected a whole number >= 0",)),
    ],
)
def test_bad_resources(
    nb: Path, settings: Any, kwargs: dict[str, Any], parts: tuple[str, ...]
) -> None:
    message = spec_error(notebook=nb, settings=settings, **kwargs)
    for part in parts:
        assert part in message


def test_bad_resource_default_from_settings(nb: Path, settings: Any) -> None:
    message = spec_error(notebook=nb, settings=settings.replace(memory="lots"))
    assert "memory: expected a size" in message and "'lots'" in message


def test_unknown_parameter(nb: Path, settings: Any) -> None:
    message = spec_error(notebook=nb, parameters={"nmae": "x"}, settings=settings)
    assert "unknown parameter 'nmae'" in message
    assert "declares: name, repeat, scale" in message
    assert "did you mean 'name'?" in message
    assert "allow_unknown_params=True" in message
    job = notebook_job(nb, {"nmae": "x"}, settings=settings, allow_unknown_params=True)
    assert job.parameters == {"nmae": "x"}


def test_parameter_of_the_wrong_type(nb: Path, settings: Any) -> None:
    message = spec_error(notebook=nb, parameters={"repeat": "three"}, settings=settings)
    assert "parameter 'repeat' is declared as int" in message
    assert "'three'" in message


def test_int_for_a_float_parameter_becomes_a_float(nb: Path, settings: Any) -> None:
    job = notebook_job(nb, {"scale": 2}, settings=settings)
    assert job.parameters == {"scale": 2.0}
    assert isinstance(job.parameters["scale"], float)
