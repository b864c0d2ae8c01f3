"""Parameter sets of a sweep: grids, zips, files, and the errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from condor_nb.errors import SpecError
from condor_nb.spec.notebook import DeclaredParameter
from condor_nb.spec.sweep import grid_sets, load_sets, parse_grid_option, zip_sets

DECLARED = {
    "a": DeclaredParameter("a", "int", "1", False),
    "b": DeclaredParameter("b", "str", "'x'", False),
    "f": DeclaredParameter("f", "float", "0.5", False),
}


def test_grid_is_the_cartesian_product_with_declared_types() -> None:
    sets = grid_sets({"a": ["1", "2"], "b": ["x", "3"]}, DECLARED)
    assert sets == [{"a": 1, "b": "x"}, {"a": 1, "b": "3"}, {"a": 2, "b": "x"}, {"a": 2, "b": "3"}]


def test_zip_pairs_the_lists() -> None:
    assert zip_sets({"a": ["1", "2"], "f": ["0.1", "2"]}, DECLARED) == [
        {"a": 1, "f": 0.1},
        {"a": 2, "f": 2.0},
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: grid_sets({}), "at least one parameter to vary"),
        (lambda: grid_sets({"a": []}), "expected at least one value"),
        (lambda: zip_sets({"a": [1, 2], "b": ["x"]}), "of the same length; got a: 2, b: 1"),
        (lambda: grid_sets({"a": ["x"]}, DECLARED), "declared as int"),
        (lambda: parse_grid_option("alpha"), "expected NAME=V1,V2"),
        (lambda: parse_grid_option("alpha="), "expected at least one value"),
        (lambda: grid_sets({"a": list(range(200)), "b": list(range(200))}), "at most 20,000"),
    ],
)
def test_bad_sweep_specs_are_clear_errors(call: object, message: str) -> None:
    with pytest.raises(SpecError) as info:
        call()  # type: ignore[operator]
    assert message in str(info.value)


def test_csv_sets_are_typed_by_the_notebook(tmp_path: Path) -> None:
    path = tmp_path / "sets.csv"
    path.write_text('a,b\n1,x\n2,"y, z"\n')
    assert load_sets(path, DECLARED) == [{"a": 1, "b": "x"}, {"a": 2, "b": "y, z"}]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("short.csv", "a,b\n1\n", "line 2: expected 2 values (a, b); got 1"),
        ("header.csv", "a\n", "at least one row of values"),
        ("dup.csv", "a,a\n1,2\n", "name each column once"),
        ("bad.json", '[{"a": 1}, 2]', "expected a list of mappings"),
        ("broken.json", '[{"a": 1', "cannot parse parameter sets"),
        ("empty.yaml", "[]", "at least one parameter set"),
        ("sets.yaml", "a: 1", "expected a list of mappings"),
    ],
)
def test_malformed_set_files_are_clear_errors(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_sets(path, DECLARED)
    assert message in str(info.value)


def test_yaml_and_json_sets(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("- {a: 1, b: x}\n- {a: 2, b: y}\n")
    (tmp_path / "s.json").write_text('{"sets": [{"a": 3}]}')
    assert load_sets(tmp_path / "s.yaml") == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    assert load_sets(tmp_path / "s.json") == [{"a": 3}]


def test_unknown_parameter_in_a_set_names_the_set(
    isolated_env: Path, make_notebook: object
) -> None:
    import condor_nb

    nb = make_notebook()  # type: ignore[operator]
    with pytest.raises(SpecError) as info:
        condor_nb.sweep(nb, [{"name": "a"}, {"nmae": "b"}])
    message = str(info.value)
    assert "parameter set #1" in message and "nmae" in message and "name" in message
    with pytest.raises(SpecError) as info:
        condor_nb.sweep(nb, grid={"repeat": ["x"]})
    assert "repeat" in str(info.value)
