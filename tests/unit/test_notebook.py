"""Reading notebooks, finding the parameters cell, inferring types, hashing content."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from condor_nb.errors import SpecError
from condor_nb.spec.notebook import (
    TYPES,
    DeclaredParameter,
    content_hash,
    inspect_notebook,
    parse_parameters,
    read_notebook,
)

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parents[2]


def write_json(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def notebook(*cells: dict[str, Any], kernel: str = "python3") -> dict[str, Any]:
    spec = {"name": kernel, "language": "python", "display_name": "Python 3"}
    metadata = {"kernelspec": spec}
    return {"cells": list(cells), "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def code(source: str | list[str], tags: list[str] | None = None) -> dict[str, Any]:
    metadata = {"tags": tags} if tags is not None else {}
    return {"cell_type": "code", "metadata": metadata, "source": source, "outputs": [],
            "execution_count": None}  # fmt: skip


def markdown(source: str, tags: list[str] | None = None) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {"tags": tags or []}, "source": source}


# --- read_notebook ------------------------------------------------------------------


def test_read_notebook_returns_the_json() -> None:
    nb = read_notebook(DATA / "params.ipynb")
    assert nb["nbformat"] == 4 and len(nb["cells"]) == 4


def test_read_notebook_accepts_str_paths() -> None:
    assert read_notebook(str(DATA / "no_params.ipynb"))["cells"][0]["source"] == "x = 1"


V3 = {"metadata": {}, "nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": []}]}
BROKEN = {  # files ruff would refuse to lint are written at test time, not kept in data/
    "truncated.ipynb": '{\n "cells": [\n  {\n   "cell_type": "code",\n',
    "v3.ipynb": json.dumps(V3),
}


@pytest.mark.parametrize(
    ("name", "message_part", "hint_part"),
    [
        ("missing.ipynb", "notebook not found: ", "check the path"),
        ("truncated.ipynb", "invalid JSON at line 5, column 1", "re-save"),
        ("script.py", "invalid JSON at line 1, column 1", "jupytext --to notebook"),
        ("not_notebook.json", "got an object lacking one", "path of a Jupyter notebook"),
        ("v3.ipynb", "is in format 3", "jupyter nbconvert --to notebook --nbformat 4"),
    ],
)
def test_read_notebook_errors_for_files(
    tmp_path: Path, name: str, message_part: str, hint_part: str
) -> None:
    path = DATA / name
    if name in BROKEN:
        path = tmp_path / name
        path.write_text(BROKEN[name], encoding="utf-8")
    with pytest.raises(SpecError) as err:
        read_notebook(path)
    assert message_part in err.value.message
    assert str(path) in err.value.message
    assert err.value.hint is not None and hint_part in err.value.hint


def test_read_notebook_rejects_a_directory() -> None:
    with pytest.raises(SpecError, match="to be a file; got a directory"):
        read_notebook(DATA)


@pytest.mark.parametrize(
    ("content", "message_part"),
    [
        ([1, 2], "got a JSON list"),
        ("just text", "got a JSON str"),
        ({"cells": [], "nbformat": "4"}, "got an object lacking one"),
        ({"cells": [], "nbformat": True}, "got an object lacking one"),
        ({"cells": {}, "nbformat": 4}, "got an object lacking one"),
        ({"cells": [], "nbformat": 2}, "is in format 2"),
        ({"cells": [42], "nbformat": 4}, "cell #1"),
        ({"cells": [{"cell_type": "code"}], "nbformat": 4}, "cell #1"),
        ({"cells": [code("x"), {"cell_type": "code", "source": ["a", 1]}], "nbformat": 4},
         "cell #2"),
    ],
)  # fmt: skip
def test_read_notebook_rejects_json_that_is_not_a_notebook(
    tmp_path: Path, content: Any, message_part: str
) -> None:
    path = write_json(tmp_path / "bad.ipynb", content)
    with pytest.raises(SpecError) as err:
        read_notebook(path)
    assert message_part in err.value.message
    assert err.value.hint


@pytest.mark.parametrize(
    ("raw", "message_part"),
    [
        (b"\xff\xfe{}", "expected UTF-8 text in notebook"),
        (b"", "invalid JSON at line 1, column 1"),
        (b"\xef\xbb\xbf{}", "invalid JSON at line 1, column 1"),  # a BOM: papermill refuses it
        (b"[" * 100_000, "JSON"),
        (b'{"cells": [], "nbformat": ' + b"9" * 5000 + b"}", "cannot read"),
    ],
    ids=["not-utf8", "empty", "bom", "deep-nesting", "huge-number"],
)
def test_read_notebook_rejects_unreadable_bytes(
    tmp_path: Path, raw: bytes, message_part: str
) -> None:
    path = tmp_path / "odd.ipynb"
    path.write_bytes(raw)
    with pytest.raises(SpecError) as err:
        read_notebook(path)
    assert message_part in err.value.message


# --- declared parameters ------------------------------------------------------------


def p(name: str, kind: str, default: str, nullable: bool = False) -> DeclaredParameter:
    return DeclaredParameter(name=name, type=kind, default_source=default, nullable=nullable)


def test_inspect_notebook_describes_the_example() -> None:
    info = inspect_notebook(DATA / "params.ipynb")
    assert info.path == DATA / "params.ipynb"
    assert (info.kernel_name, info.language, info.parameters_cell_index) == ("python3", "python", 2)
    assert list(info.parameters.values()) == [
        p("alpha", "int", "3"),
        p("ratio", "float", "1"),
        p("label", "str", '"run-α"'),
        p("verbose", "bool", "False"),
        p("sizes", "list", "[1, 2]"),
        p("config", "dict", '{"depth": 2}'),
        p("seed", "any", "None", nullable=True),
        p("note", "str", "None", nullable=True),
        p("grid", "any", "np.arange(3)", nullable=True),
    ]
    assert info.content_hash.startswith("sha256:") and len(info.content_hash) == 7 + 64


def test_inspect_notebook_agrees_with_papermill() -> None:
    papermill = pytest.importorskip("papermill")
    from papermill.iorw import load_notebook_node
    from papermill.utils import find_first_tagged_cell_index

    path = str(DATA / "params.ipynb")
    ours = inspect_notebook(path)
    assert list(ours.parameters) == list(papermill.inspect_notebook(path))
    index = find_first_tagged_cell_index(load_notebook_node(path), "parameters")
    assert ours.parameters_cell_index == index


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a = 1", [p("a", "int", "1")]),
        ("a = -1.5e3", [p("a", "float", "-1.5e3")]),
        ("a = 'x'", [p("a", "str", "'x'")]),
        ("a = 'x' 'y'", [p("a", "str", "'x' 'y'")]),
        ("a = f'{b}'", [p("a", "str", "f'{b}'")]),
        ("a = True", [p("a", "bool", "True")]),
        ("a = [1, 'x']", [p("a", "list", "[1, 'x']")]),
        ("a = {'k': [1]}", [p("a", "dict", "{'k': [1]}")]),
        ("a = None", [p("a", "any", "None", True)]),
        ("a = (1, 2)", [p("a", "any", "(1, 2)", True)]),
        ("a = {1, 2}", [p("a", "any", "{1, 2}", True)]),
        ("a = np.arange(3)", [p("a", "any", "np.arange(3)", True)]),
        ("a = 2 * 3", [p("a", "any", "2 * 3", True)]),
        ("a = float('nan')", [p("a", "float", "float('nan')")]),
        ("a = dict(k=1)", [p("a", "dict", "dict(k=1)")]),
        ("a: float = 1", [p("a", "float", "1")]),
        ("a: int = None", [p("a", "int", "None", True)]),
        ("a: list[int] = []", [p("a", "list", "[]")]),
        ("a: List[int] = []", [p("a", "list", "[]")]),
        ("a: typing.Dict[str, int] = {}", [p("a", "dict", "{}")]),
        ("a: Optional[str] = None", [p("a", "str", "None", True)]),
        ("a: typing.Optional[int] = 3", [p("a", "int", "3", True)]),
        ("a: str | None = 'x'", [p("a", "str", "'x'", True)]),
        ("a: None | float = 1.0", [p("a", "float", "1.0", True)]),
        ("a: Union[int, None] = 1", [p("a", "int", "1", True)]),
        ("a: Union[int, str] = 1", [p("a", "any", "1", True)]),
        ("a: 'float' = 1", [p("a", "float", "1")]),
        ("a: Any = 1", [p("a", "any", "1", True)]),
        ("a: np.ndarray = np.zeros(2)", [p("a", "any", "np.zeros(2)", True)]),
        ("a = b = 2", [p("a", "int", "2"), p("b", "int", "2")]),
        ("a, b = 1, 'x'", [p("a", "int", "1"), p("b", "str", "'x'")]),
        ("[a, b] = [1, 2.0]", [p("a", "int", "1"), p("b", "float", "2.0")]),
        ("a, *b = 1, 2, 3", []),
        ("a, b = pair", []),
        ("a = 1\na = 'two'\nb = 3", [p("a", "str", "'two'"), p("b", "int", "3")]),
        ("a: int", []),
        ("a += 1", []),
        ("x.y = 1\nd['k'] = 2", []),
        ("import os\nfrom typing import Optional", []),
        ("if True:\n    a = 1\ndef f():\n    b = 2", []),
        ("for i in range(3):\n    pass", []),
        ("# just a comment\n", []),
        ("", []),
        ("α = 1", [p("α", "int", "1")]),
        ("a = '$(Cluster)'\nb = '+Attr = 1'",
         [p("a", "str", "'$(Cluster)'"), p("b", "str", "'+Attr = 1'")]),
        ("a = 'x\"\\ny'", [p("a", "str", "'x\"\\ny'")]),
        ("a = '''multi\nline'''", [p("a", "str", "'''multi\nline'''")]),
        ("a = [\n  1,\n  2,\n]", [p("a", "list", "[\n  1,\n  2,\n]")]),
        ("a = 1\r\nb = 2\r\n", [p("a", "int", "1"), p("b", "int", "2")]),
        ("a = '\\d'", [p("a", "str", "'\\d'")]),  # SyntaxWarning, not an error
    ],
)  # fmt: skip
def test_parse_parameters(source: str, expected: list[DeclaredParameter]) -> None:
    assert list(parse_parameters(source).values()) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("%matplotlib inline\na = 1", [p("a", "int", "1")]),
        ("%%time\na = 1", [p("a", "int", "1")]),
        ("!pip install x\na = 1", [p("a", "int", "1")]),
        ("a = 1\nif a:\n    !echo hi\nb = 2", [p("a", "int", "1"), p("b", "int", "2")]),
        ("a = (10\n     % 3)", [p("a", "any", "10\n     % 3", True)]),  # not a magic
    ],
)  # fmt: skip
def test_parse_parameters_ignores_ipython_magics(
    source: str, expected: list[DeclaredParameter]
) -> None:
    assert list(parse_parameters(source).values()) == expected


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("a = 1\nb = (2\nc = 3", "line 2"),
        ("a = = 1", "line 1"),
        ("+Attr = 1", "line 1"),
        ("a = 1\n  b = 2", "line 2"),
        ("a = '\x00'", ""),
    ],
    ids=["unclosed", "double-equals", "classad-attr", "indent", "nul-byte"],
)
def test_parse_parameters_syntax_error_names_cell_and_line(source: str, line: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_parameters(source, cell_number=7)
    assert "parameters cell (cell #7" in err.value.message
    assert line in err.value.message
    assert err.value.hint is not None and "fix that line" in err.value.hint


def test_inspect_notebook_syntax_error_names_the_cell(tmp_path: Path) -> None:
    cells = [markdown("intro"), code(["alpha = 1\n", "beta = (2\n", "gamma = 3\n"], ["parameters"])]
    with pytest.raises(SpecError) as err:
        inspect_notebook(write_json(tmp_path / "bad.ipynb", notebook(*cells)))
    assert "parameters cell (cell #2, counting from 1)" in err.value.message
    assert "at line 2" in err.value.message


def test_inspect_notebook_without_parameters_cell() -> None:
    info = inspect_notebook(DATA / "no_params.ipynb")
    assert (info.parameters_cell_index, info.parameters) == (None, {})


def test_inspect_notebook_of_another_language_reads_no_parameters() -> None:
    info = inspect_notebook(DATA / "r_params.ipynb")
    assert (info.kernel_name, info.language) == ("ir", "R")
    assert (info.parameters_cell_index, info.parameters) == (0, {})


def test_tagged_markdown_before_tagged_code_is_an_error() -> None:
    with pytest.raises(SpecError) as err:
        inspect_notebook(DATA / "markdown_tagged.ipynb")
    assert "cell #1" in err.value.message and "override" in err.value.message
    assert err.value.hint == "remove the 'parameters' tag from cell #1"


@pytest.mark.parametrize(
    ("cells", "index", "names"),
    [
        ([markdown("doc", ["parameters"]), code("a = 1")], 0, []),  # papermill injects after it
        ([code("x = 0"), code("a = 1", ["parameters"]), code("b = 2", ["parameters"])], 1, ["a"]),
        ([code(["a = 1\n", "b = 2"], ["other", "parameters"])], 0, ["a", "b"]),
        ([code("a = 1", ["Parameters"])], None, []),  # tags are case-sensitive
        ([code("a = 1", ["injected-parameters"])], None, []),
    ],
)  # fmt: skip
def test_parameters_cell_follows_papermill(
    tmp_path: Path, cells: list[dict[str, Any]], index: int | None, names: list[str]
) -> None:
    info = inspect_notebook(write_json(tmp_path / "nb.ipynb", notebook(*cells)))
    assert info.parameters_cell_index == index
    assert list(info.parameters) == names


def test_inspect_notebook_tolerates_missing_metadata(tmp_path: Path) -> None:
    nb = {"cells": [{"cell_type": "code", "source": "a = 1", "metadata": {"tags": "parameters"}}],
          "nbformat": 4, "metadata": {"kernelspec": "python3"}}  # fmt: skip
    info = inspect_notebook(write_json(tmp_path / "nb.ipynb", nb))
    assert (info.kernel_name, info.language, info.parameters_cell_index) == (None, None, None)


# --- content_hash -------------------------------------------------------------------

BASE = notebook(markdown("# Title"), code(["a = 1\n", "b = 2"], ["parameters"]), code("print(a)"))


def edited(change: Any) -> dict[str, Any]:
    nb = copy.deepcopy(BASE)
    change(nb)
    return nb


SAME = {
    "outputs": lambda nb: nb["cells"][2].update(
        outputs=[{"output_type": "stream", "name": "stdout", "text": ["1\n"]}], execution_count=3
    ),
    "cell ids": lambda nb: [c.update(id=f"cell-{i}") for i, c in enumerate(nb["cells"])],
    "cell metadata": lambda nb: nb["cells"][2]["metadata"].update(collapsed=True, scrolled=False),
    "execution timing": lambda nb: nb["cells"][1]["metadata"].update(execution={"t": "now"}),
    "language_info": lambda nb: nb["metadata"].update(language_info={"name": "python"}),
    "papermill metadata": lambda nb: nb["metadata"].update(papermill={"parameters": {"a": 2}}),
    "display name": lambda nb: nb["metadata"]["kernelspec"].update(display_name="Py"),
    "nbformat_minor": lambda nb: nb.update(nbformat_minor=4),
    "source split differently": lambda nb: nb["cells"][1].update(source="a = 1\nb = 2"),
    "duplicate tag": lambda nb: nb["cells"][1]["metadata"].update(tags=["parameters"] * 2),
}
DIFFERENT = {
    "one source char": lambda nb: nb["cells"][1].update(source=["a = 1\n", "b = 3"]),
    "trailing newline": lambda nb: nb["cells"][2].update(source="print(a)\n"),
    "markdown text": lambda nb: nb["cells"][0].update(source="# Title!"),
    "tag added": lambda nb: nb["cells"][2]["metadata"].update(tags=["skip"]),
    "tag removed": lambda nb: nb["cells"][1]["metadata"].update(tags=[]),
    "cell type": lambda nb: nb["cells"][0].update(cell_type="raw"),
    "cell order": lambda nb: nb["cells"].reverse(),
    "empty cell added": lambda nb: nb["cells"].append(code("")),
    "kernel name": lambda nb: nb["metadata"]["kernelspec"].update(name="python3.12"),
    "kernel language": lambda nb: nb["metadata"]["kernelspec"].update(language="R"),
}  # fmt: skip


@pytest.mark.parametrize("change", list(SAME.values()), ids=list(SAME))
def test_content_hash_ignores_what_does_not_change_the_run(change: Any) -> None:
    assert content_hash(edited(change)) == content_hash(BASE)


def test_content_hash_ignores_tag_order() -> None:
    one = notebook(code("a = 1", ["parameters", "x"]))
    assert content_hash(one) == content_hash(notebook(code("a = 1", ["x", "parameters"])))


@pytest.mark.parametrize("change", list(DIFFERENT.values()), ids=list(DIFFERENT))
def test_content_hash_changes_with_what_the_run_depends_on(change: Any) -> None:
    assert content_hash(edited(change)) != content_hash(BASE)


def test_content_hash_is_stable_and_formatted() -> None:
    digest = content_hash(BASE)
    assert digest == content_hash(json.loads(json.dumps(BASE)))
    assert digest.startswith("sha256:") and all(c in "0123456789abcdef" for c in digest[7:])


def test_content_hash_survives_lone_surrogates() -> None:
    nb = notebook(code("s = '\ud800'"))
    assert content_hash(nb) != content_hash(notebook(code("s = '\ud801'")))


def test_inspect_hash_matches_content_hash_of_the_file() -> None:
    info = inspect_notebook(DATA / "params.ipynb")
    assert info.content_hash == content_hash(read_notebook(DATA / "params.ipynb"))


# --- start-up cost ------------------------------------------------------------------


def test_modules_do_not_import_heavy_dependencies() -> None:
    script = (
        "import sys, condor_nb.spec.notebook, condor_nb.spec.params, condor_nb.spec.units\n"
        "heavy = {'nbformat', 'papermill', 'yaml', 'difflib'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@given(st.text())
def test_parse_parameters_raises_only_spec_error_on_any_text(source: str) -> None:
    try:
        declared = parse_parameters(source)
    except SpecError as err:
        assert "parameters cell (cell #1" in err.message
        return
    assert all(d.type in TYPES and d.name.isidentifier() for d in declared.values())


@given(st.lists(st.tuples(st.sampled_from(["code", "markdown", "raw"]), st.text())))
def test_content_hash_of_any_cells_is_deterministic(cells: list[tuple[str, str]]) -> None:
    nb = notebook(*({"cell_type": kind, "metadata": {}, "source": text} for kind, text in cells))
    assert content_hash(nb) == content_hash(copy.deepcopy(nb))
