"""The notebook's files and condor_nb's never hide each other (the wrapper run for real,
then fetch's copy from a staging folder): nothing forged, nothing lost, nothing replaced."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from test_remote_run import NEEDS_KERNEL, make_notebook, run_job, stage

import condor_nb.contract as contract
from condor_nb.api import check_dest
from condor_nb.errors import FetchError, SpecError
from condor_nb.spec.job import notebook_job
from condor_nb.store.outputs import copy_outputs

FORGE = """
import os
for name in ["_condor_nb_output.ipynb", "_condor_nb_result.json", "_condor_nb_files.json",
             "condor_nb.out", "condor_nb.log"]:
    with open(name, "w") as f:
        f.write("FORGED " + name)
os.mkfifo("pipe")
"""


@NEEDS_KERNEL
def test_wrapper_keeps_the_notebooks_files_apart_even_when_a_cell_fails(tmp_path: Path) -> None:
    scratch = stage(tmp_path, make_notebook(FORGE, "raise ValueError('boom')"))

    code, _out, err = run_job(scratch)

    assert code == contract.EXIT_CODES["cell_error"], err
    result = json.loads((scratch / contract.RESULT_JSON).read_text())
    assert result["outcome"] == "cell_error" and result["error"]["value"] == "boom"
    assert "boom" in (scratch / contract.OUTPUT_NOTEBOOK).read_text()  # papermill's, not forged
    record = json.loads((scratch / contract.FILES_JSON).read_text())
    assert record["skipped"] == [{"name": "pipe", "kind": "FIFO"}]
    assert not (scratch / "pipe").exists()
    kept = record["kept"]
    assert sorted(kept.values()) == sorted(
        [
            "_condor_nb_output.ipynb",
            "_condor_nb_result.json",
            "_condor_nb_files.json",
            "condor_nb.out",
            "condor_nb.log",
        ]
    )
    for kept_name, name in kept.items():
        assert (scratch / kept_name).read_text() == f"FORGED {name}"
    assert not (scratch / "condor_nb.out").exists()  # HTCondor writes the real one there


def _staging(tmp_path: Path, record: object = None) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    files = {
        contract.OUTPUT_NOTEBOOK: "real notebook",
        contract.RESULT_JSON: '{"outcome": "completed"}',
        "condor_nb.out": "real stdout",
        "stdout.txt": "notebook's stdout.txt",
        "plot.png": "png",
        "_condor_nb_kept.0.condor_nb.out": "notebook's condor_nb.out",
        "_condor_nb_kept.1.condor_nb.out": "notebook's second condor_nb.out",
    }
    for name, text in files.items():
        (out / name).write_text(text)
    record = record or {
        "kept": {
            "_condor_nb_kept.0.condor_nb.out": "condor_nb.out",
            "_condor_nb_kept.1.condor_nb.out": "condor_nb.out",
        },
        "skipped": [{"name": "pipe", "kind": "FIFO"}],
    }
    (out / contract.FILES_JSON).write_text(json.dumps(record))
    return out


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}


def test_fetch_puts_colliding_notebook_files_apart(tmp_path: Path) -> None:
    fetched = copy_outputs(_staging(tmp_path), tmp_path / "dest", "analysis")

    assert _tree(tmp_path / "dest") == {
        "analysis.ipynb": "real notebook",
        "result.json": '{"outcome": "completed"}',
        "stdout.txt": "real stdout",
        "plot.png": "png",
        "notebook_files/stdout.txt": "notebook's stdout.txt",
        "notebook_files/condor_nb.out": "notebook's condor_nb.out",
        "notebook_files/_condor_nb_kept.1.condor_nb.out": "notebook's second condor_nb.out",
    }
    assert fetched.skipped == {"pipe": "FIFO"}
    assert fetched.notebook == tmp_path / "dest" / "analysis.ipynb"


@pytest.mark.parametrize(
    "record",
    [
        {"kept": {"_condor_nb_kept.0.condor_nb.out": "../escape"}},
        {"kept": {"_condor_nb_output.ipynb": "x"}},  # only kept names are renamed
        ["not", "a", "record"],
    ],
)
def test_a_forged_record_cannot_misplace_files(tmp_path: Path, record: object) -> None:
    copy_outputs(_staging(tmp_path, record), tmp_path / "dest", "analysis")

    tree = _tree(tmp_path / "dest")
    assert tree["analysis.ipynb"] == "real notebook" and tree["stdout.txt"] == "real stdout"
    assert not (tmp_path / "escape").exists()
    assert sorted(tree.values()).count("notebook's condor_nb.out") == 1


def test_fetch_never_overwrites_unless_asked(tmp_path: Path) -> None:
    out, dest = _staging(tmp_path), tmp_path / "dest"
    copy_outputs(out, dest, "analysis")
    copy_outputs(out, dest, "analysis")  # identical files: nothing to refuse
    (dest / "stdout.txt").write_text("my notes")
    (dest / "plot.png").unlink()

    with pytest.raises(FetchError, match=r"stdout\.txt") as caught:
        copy_outputs(out, dest, "analysis")

    assert "--overwrite" in str(caught.value)
    assert (dest / "stdout.txt").read_text() == "my notes"
    assert not (dest / "plot.png").exists()  # nothing written
    copy_outputs(out, dest, "analysis", overwrite=True)
    assert (dest / "stdout.txt").read_text() == "real stdout"


def test_a_notebook_files_symlink_is_refused_even_with_overwrite(tmp_path: Path) -> None:
    out, dest, elsewhere = _staging(tmp_path), tmp_path / "dest", tmp_path / "elsewhere"
    dest.mkdir()
    elsewhere.mkdir()
    os.symlink(elsewhere, dest / "notebook_files")

    with pytest.raises(FetchError, match="in the way"):
        copy_outputs(out, dest, "analysis", overwrite=True)
    assert not list(elsewhere.iterdir())


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_destination_or_input_path_is_an_error(
    empty: str, make_notebook: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from condor_nb.settings import Settings

    nb, settings = make_notebook("analysis.ipynb"), Settings(home=tmp_path / "home")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match="empty"):
        check_dest(empty)
    with pytest.raises(SpecError, match="empty"):
        notebook_job(nb, settings=settings, files=[empty])
    check_dest(".")  # the current folder, said explicitly


# -- properties over the whole class: any notebook file names, any forged record ------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_NAMES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=30
).filter(
    lambda n: n not in (".", "..") and not n.startswith("_condor_nb") and len(n.encode()) < 200
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_NAMES, max_size=6, unique=True), _JSON | st.fixed_dictionaries({"kept": _JSON}))
def test_any_notebook_files_and_any_record_fetch_the_real_outputs_and_every_file(
    tmp_path_factory: pytest.TempPathFactory, names: list[str], record: Any
) -> None:
    """Whatever names the notebook's files have (condor_nb's own output names among them)
    and whatever the files record says: the real notebook, result and stdout come back
    under their names, each notebook file's content comes back, nothing lands outside."""
    tmp = tmp_path_factory.mktemp("prop")
    out = _staging(tmp, record)
    extra = {n: f"notebook file {i}" for i, n in enumerate(names) if not (out / n).exists()}
    for name, text in extra.items():
        (out / name).write_text(text)
    copy_outputs(out, tmp / "dest", "analysis")

    tree = _tree(tmp / "dest")
    assert tree["analysis.ipynb"] == "real notebook" and tree["result.json"].startswith("{")
    assert tree["stdout.txt"] == "real stdout"
    assert sorted(p.name for p in tmp.iterdir()) == ["dest", "out"]
    for text in extra.values():
        assert text in tree.values(), (text, sorted(tree))
