"""The executor zip: what goes in, what stays out, built once per set of versions."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from condor_nb.contract import EXECUTOR_NAME
from condor_nb.submission import executor


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CONDOR_NB_EXECUTOR_CACHE", str(tmp_path / "cache"))
    # No download in unit tests: tests/integration/test_old_python.py builds that tree.
    monkeypatch.setenv("CONDOR_NB_EXECUTOR_OLD_PYTHONS", "off")
    executor.archive.cache_clear()
    yield tmp_path / "cache"
    executor.archive.cache_clear()


def test_plan_ships_the_four_and_leaves_what_ipykernel_brings() -> None:
    plan = executor.plan()
    for name in executor.ROOTS:
        assert name in plan.shipped
    brought = executor._closure((executor.BROUGHT_BY,), set(), every=True)
    assert {"jupyter-client", "traitlets", "pyzmq", "tornado", "pygments"} <= brought
    assert brought & set(plan.shipped) == set(executor.NOT_ASSUMED) & set(plan.shipped)
    assert "typing-extensions" in plan.shipped  # bs4 needs it; not every ipykernel brings it
    assert any(want.startswith("nbclient ") for want in plan.needs["jupyter-client"])
    assert "tinycss2" in plan.shipped  # through nbconvert's bleach[css]: extras followed
    assert "jsonschema" not in plan.shipped and "rpds-py" not in plan.shipped
    assert "jsonschema" in plan.left_out


def test_zip_is_built_once_pure_python_and_importable(cache: Path, tmp_path: Path) -> None:
    first = executor.archive()
    assert first.parent.parent == cache and first.name == EXECUTOR_NAME
    stamp = first.stat().st_mtime_ns
    executor.archive.cache_clear()
    assert executor.archive() == first and first.stat().st_mtime_ns == stamp  # not rebuilt
    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
        info = json.loads(zf.read(executor.MANIFEST))
    assert not [n for n in names if n.endswith(executor.COMPILED)]
    assert "papermill/__init__.py" in names and "nbformat/v4/nbformat.v4.schema.json" in names
    assert any(n.startswith("papermill-") and n.endswith("/METADATA") for n in names)
    assert f"{executor.FALLBACK_DIR}/jsonschema/__init__.py" in names
    assert any(n.startswith(f"{executor.SHARE_DIR}/nbconvert/templates/lab/") for n in names)
    assert info["shipped"]["papermill"] and "jsonschema" in info["left_out"]
    (tmp_path / "in").mkdir()
    staged = executor.stage(tmp_path / "in")
    assert staged.read_bytes() == first.read_bytes()
    # The jsonschema stand-in validates with fastjsonschema, references included.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1] + '/condor_nb_fallback');"
        "import jsonschema, nbformat.v4 as v4; assert jsonschema.__file__.startswith(sys.argv[1]);"
        "v4.new_code_cell('x = 1'); import nbformat;"
        "bad = nbformat.from_dict({'nbformat': 4, 'nbformat_minor': 5, 'metadata': {},"
        " 'cells': [{'cell_type': 'code', 'source': '', 'metadata': {}, 'id': 'a'}]});"
        "nbformat.validate(bad)"
    )
    out = tmp_path / "x"
    zipfile.ZipFile(first).extractall(out)
    proc = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True)
    assert proc.returncode == 1 and "ValidationError" in proc.stderr, proc.stderr


def test_ship_executor_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from condor_nb.contract import JobFiles
    from condor_nb.errors import ConfigError
    from condor_nb.settings import load_settings
    from condor_nb.store import manifests

    env = {"XDG_CONFIG_HOME": str(tmp_path), "CONDOR_NB_HOME": str(tmp_path / "h")}
    auto = load_settings(env)
    assert auto.ship_executor == "auto" and executor.wanted(auto, None, procs=1)
    never = load_settings({**env, "CONDOR_NB_SHIP_EXECUTOR": "Never"})
    assert not executor.wanted(never, None, procs=1)
    with pytest.raises(ConfigError) as info:
        load_settings({**env, "CONDOR_NB_SHIP_EXECUTOR": "sometimes"})
    assert "expected auto or always or never, got 'sometimes'" in str(info.value)
    # A sweep ships unless the last worker in that image ran its own papermill.
    assert executor.wanted(auto, "/img", procs=100)  # nothing known yet
    seen = {"executor": {"source": "worker", "papermill": "2.7.0"}}
    monkeypatch.setattr(manifests, "last_worker_manifest", lambda settings, image: ("j1", seen))
    assert not executor.wanted(auto, "/img", procs=100) and executor.wanted(auto, "/img", procs=1)
    assert executor.wanted(load_settings({**env, "CONDOR_NB_SHIP_EXECUTOR": "always"}), "/img",
                           procs=100)  # fmt: skip
    files = JobFiles(tmp_path, "n.ipynb", executor=False)
    assert EXECUTOR_NAME not in [p.name for p in files.wrapper_files]


def test_worker_side_warns_of_distributions_older_than_the_shipped_ones_want(
    tmp_path: Path,
) -> None:
    from importlib import metadata

    from condor_nb.worker import executor as worker

    have = metadata.version("traitlets")
    needs = {"traitlets": ["nbclient 9 wants >=999.1", f"nbformat 9 wants !=5.0.*,>={have}"],
             "no-such-dist": ["x 1 wants >=1"]}  # fmt: skip
    (tmp_path / worker.MANIFEST).write_text(json.dumps({"needs": needs}))
    assert worker.too_old(str(tmp_path)) == [
        f"traitlets {have} on the worker: nbclient 9 wants >=999.1"
    ]
    assert worker._release("5.4.0rc1") == (5, 4, 0) < worker._release("5.13")
    assert worker.too_old(str(tmp_path / "missing")) == []


def test_worker_too_old_for_the_shipped_executor_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from condor_nb.worker import executor as worker

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(worker, "PACKAGES", ("no_such_package_here",))  # force the zip
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("JUPYTER_PATH", "")
    with zipfile.ZipFile(tmp_path / EXECUTOR_NAME, "w") as zf:
        zf.writestr(worker.MANIFEST, json.dumps({"min_python": ["99.1", "x 1 requires >=99.1"]}))
    info = worker.choose(str(tmp_path))
    assert info["source"] is None and not (tmp_path / worker.EXTRACT_TO).exists()
    assert (
        "the worker has no no_such_package_here, and the executor condor_nb shipped needs "
        "Python >= 99.1 (x 1 requires >=99.1); this worker's Python 3." in info["error"]
    )


@pytest.mark.parametrize(
    ("have", "spec", "ok"),
    [
        ("6.0.2", "", True),
        ("3.1.3", "<4,>=2.0.3", True),
        ("4.0", "<4,>=2.0.3", False),
        ("2.0.2", "<4,>=2.0.3", False),
        ("8.4.2+really8.4.1", ">=5.0.2", True),
        ("5.0.0", "!=5.0.0", False),
        ("5.0.1", "!=5.0.*", False),
        ("5.1", "!=5.0.*", True),
        ("3.2", "~=3.1", True),
        ("4.0", "~=3.1", False),
        ("2.1rc1", ">=2.0", False),  # pre-releases are not judged: the shipped copy
        ("2.1", ">=2.0;weird", False),  # nor clauses it does not understand
    ],
)
def test_worker_side_judges_version_specifiers(have: str, spec: str, ok: bool) -> None:
    from condor_nb.worker import executor as worker

    assert worker._satisfies(have, spec) is ok


def test_shipped_dependencies_the_worker_has_come_from_the_worker() -> None:
    from importlib import metadata

    from condor_nb.worker import executor as worker

    plan = executor.plan()
    assert "mistune" in plan.wants and "<4" in plan.wants["mistune"][0]
    assert "tinycss2" in plan.wants  # bleach[css]: a requirement behind an extra counts
    have = metadata.version("pyyaml")
    optional = {
        "pyyaml": {"paths": ["yaml"], "wants": [f">={have}"]},
        "jinja2": {"paths": ["jinja2"], "wants": [">=999"]},  # too old here: shipped
        "no-such-dist": {"paths": ["nope"], "wants": [""]},
    }
    assert worker.from_worker({"optional": optional}) == {"pyyaml": have}


@pytest.mark.parametrize(
    ("version", "tree"),
    [
        ("3.9.2", "old"),
        ("3.11.4", "old"),
        ("3.11.5", ""),  # the main tree's own range
        ("3.8.10", ""),  # older than every tree
    ],
)
def test_worker_side_picks_the_tree_for_its_python(version: str, tree: str) -> None:
    from condor_nb.worker import executor as worker

    variants = [{"dir": "bad"}, {"dir": "old", "min_python": "3.9", "below": "3.11.5"}]
    assert worker.variant_for({"variants": variants}, version) == tree


def test_worker_older_than_the_main_tree_uses_the_zip_s_older_pythons_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from condor_nb.worker import executor as worker

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(worker, "PACKAGES", ("no_such_package_here",))  # force the zip
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("JUPYTER_PATH", "")
    monkeypatch.delitem(sys.modules, "papermill", raising=False)
    variant = {"dir": "old", "min_python": "3.0", "below": "99.1"}
    with zipfile.ZipFile(tmp_path / EXECUTOR_NAME, "w") as zf:
        zf.writestr(
            worker.MANIFEST, json.dumps({"min_python": ["99.1", "x"], "variants": [variant]})
        )
        zf.writestr("papermill/__init__.py", "__version__ = 'main'\n")
        old = {"min_python": ["3.0", "pins"], "from_main": {"shared": ["shared"]}}
        zf.writestr("old/" + worker.MANIFEST, json.dumps(old))
        zf.writestr("old/papermill/__init__.py", "__version__ = 'old'\n")
        zf.writestr("shared/__init__.py", "")  # the same release in both trees: held once
    info = worker.choose(str(tmp_path))
    assert info["source"] == "shipped" and info["tree"] == "old" and info["papermill"] == "old"
    extracted = tmp_path / worker.EXTRACT_TO
    assert info["path"] == str(extracted / "old") and not (extracted / "papermill").exists()
    assert (extracted / "old/shared/__init__.py").is_file()
    sys.modules.pop("papermill", None)

    # Older than every tree: the message names the oldest tree's bound.
    shutil.rmtree(extracted)
    too_new = {**variant, "min_python": "98.0"}
    with zipfile.ZipFile(tmp_path / EXECUTOR_NAME, "w") as zf:
        main = {"min_python": ["99.1", "x"], "variants": [too_new]}
        zf.writestr(worker.MANIFEST, json.dumps(main))
    info = worker.choose(str(tmp_path))
    assert (
        info["source"] is None and "needs Python >= 98.0 (the oldest of the trees" in info["error"]
    )
    sys.modules.pop("papermill", None)


def test_no_package_index_ships_the_executor_without_the_old_pythons_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook host that cannot reach PyPI (the site's, many HPC login nodes) still
    submits: the zip goes without the tree for older worker Pythons, with a warning and
    the reason in its manifest, and the download is tried again only after an hour."""
    from condor_nb.submission import executor_py39

    monkeypatch.setenv("CONDOR_NB_EXECUTOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CONDOR_NB_EXECUTOR_OLD_PYTHONS", raising=False)
    tries: list[Path] = []

    def offline(cache: Path) -> list[Path]:
        tries.append(cache)
        raise executor_py39.OldPythonsError("pip exited 1: Network is unreachable", hint="h")

    monkeypatch.setattr(executor_py39, "wheels", offline)
    if executor._release(executor.plan().min_python()[0]) <= executor._release("3.9"):
        pytest.skip("this host's packages run on Python 3.9: no second tree is needed")
    executor.archive.cache_clear()
    with pytest.warns(executor.ExecutorWarning, match="no tree for worker Pythons 3.9.*unreach"):
        zipped = executor.archive()
    with zipfile.ZipFile(zipped) as zf:
        info = json.loads(zf.read(executor.MANIFEST))
    assert info["variants"] == []
    assert "Network is unreachable" in info["variants_unavailable"]["why"]
    assert len(tries) == 1
    executor.archive.cache_clear()  # a new process within the hour: no second download
    with pytest.warns(executor.ExecutorWarning):
        assert executor.archive() == zipped
    assert len(tries) == 1
    executor.archive.cache_clear()
