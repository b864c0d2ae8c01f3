"""Parameters from the command line, from Python and from files, checked as JSON."""

from __future__ import annotations

import contextlib
import datetime
import enum
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from condor_nb.errors import SpecError
from condor_nb.spec.notebook import DeclaredParameter, NotebookInfo, inspect_notebook
from condor_nb.spec.params import (
    canonical_parameters_json,
    check_parameters,
    coerce_cli_value,
    load_parameters_file,
)

DATA = Path(__file__).parent / "data"
INFO = inspect_notebook(DATA / "params.ipynb")
DECLARED = ["alpha", "ratio", "label", "verbose", "sizes", "config", "seed", "note", "grid"]


def p(kind: str, nullable: bool = False, name: str = "x", default: str = "0") -> DeclaredParameter:
    return DeclaredParameter(name=name, type=kind, default_source=default, nullable=nullable)


# --- coerce_cli_value ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "declared", "expected"),
    [
        ("3", p("int"), 3),
        ("-2", p("int"), -2),
        (" 7 ", p("int"), 7),
        ("1", p("float"), 1.0),
        ("2.5", p("float"), 2.5),
        ("-1e-3", p("float"), -0.001),
        ("true", p("bool"), True),
        ("True", p("bool"), True),
        ("YES", p("bool"), True),
        ("1", p("bool"), True),
        ("no", p("bool"), False),
        (" False ", p("bool"), False),
        ("0", p("bool"), False),
        ("3", p("str"), "3"),
        ("None", p("str", nullable=True), "None"),
        ("", p("str"), ""),
        ("  spaced  ", p("str"), "  spaced  "),
        ("$(Cluster)", p("str"), "$(Cluster)"),
        ("+Attr = 1", p("str"), "+Attr = 1"),
        ("a\nqueue 10", p("str"), "a\nqueue 10"),
        ("'single' \"double\"", p("str"), "'single' \"double\""),
        ("ünïcødé ✓", p("str"), "ünïcødé ✓"),
        ("[1, 2]", p("list"), [1, 2]),
        ('["a", null]', p("list"), ["a", None]),
        ("[a, b]", p("list"), ["a", "b"]),  # YAML flow style
        ("[]", p("list"), []),
        ('{"a": 1}', p("dict"), {"a": 1}),
        ("{a: 1, b: [x]}", p("dict"), {"a": 1, "b": ["x"]}),
        ("{}", p("dict"), {}),
        ("None", p("int", nullable=True), None),
        ("null", p("list", nullable=True), None),
        ("None", p("bool", nullable=True), None),
        # undeclared and "any": papermill's CLI rule
        ("True", None, True),
        ("False", None, False),
        ("None", None, None),
        ("3", None, 3),
        ("-3", p("any"), -3),
        ("2.5", None, 2.5),
        ("1e3", None, 1000.0),
        ("true", None, "true"),
        ("0x10", None, "0x10"),
        ("[1]", None, "[1]"),
        ("$(Cluster)", p("any", nullable=True), "$(Cluster)"),
    ],
)
def test_coerce_cli_value(raw: str, declared: DeclaredParameter | None, expected: Any) -> None:
    value = coerce_cli_value(raw, declared)
    assert value == expected and type(value) is type(expected)


def test_coerce_cli_value_undeclared_nan_follows_papermill() -> None:
    assert math.isnan(coerce_cli_value("nan", None))  # check_parameters rejects it later


@pytest.mark.parametrize(
    ("raw", "declared", "hint_part"),
    [
        ("x", p("int"), "a whole number, e.g. -p x 3"),
        ("2.5", p("int"), "whole number"),
        ("", p("int"), "whole number"),
        ("1e3", p("int"), "whole number"),
        ("True", p("int"), "whole number"),
        ("None", p("int"), "whole number"),
        ("$(Cluster)", p("int"), "whole number"),
        ("x", p("float"), "a number, e.g. -p x 0.5"),
        ("nan", p("float"), "a number"),
        ("inf", p("float"), "a number"),
        ("-Infinity", p("float"), "a number"),
        ("1e999", p("float"), "a number"),
        ("maybe", p("bool"), "true/false, yes/no or 1/0"),
        ("", p("bool"), "true/false"),
        ("2", p("bool"), "true/false"),
        ("{a: 1}", p("list"), "a JSON list, e.g. -p x '[1, 2]'"),
        ('"x"', p("list"), "a JSON list"),
        ("3", p("list"), "a JSON list"),
        ("[1, {", p("list"), "a JSON list"),
        ("null", p("list"), "a JSON list"),
        ("[1]", p("dict"), "a JSON object"),
        ("a", p("dict"), "a JSON object"),
        ("{a: [}", p("dict"), "a JSON object"),
    ],
)
def test_coerce_cli_value_rejects_values_that_do_not_fit_the_declaration(
    raw: str, declared: DeclaredParameter, hint_part: str
) -> None:
    with pytest.raises(SpecError) as err:
        coerce_cli_value(raw, declared)
    assert err.value.message.startswith(f"parameter 'x' is declared as {declared.type}")
    assert f"got {raw!r}" in err.value.message
    assert err.value.hint is not None and hint_part in err.value.hint


def test_coerce_cli_value_error_quotes_the_notebook() -> None:
    with pytest.raises(SpecError) as err:
        coerce_cli_value("x", INFO.parameters["alpha"])
    assert err.value.message == (
        "parameter 'alpha' is declared as int (alpha = 3 in the parameters cell); got 'x'"
    )
    assert err.value.hint == "pass a whole number, e.g. -p alpha 3"


@pytest.mark.parametrize(
    ("raw", "declared", "message_part", "hint_part"),
    [
        ("[2024-01-01]", p("list"), "(at [0])", "quote it"),
        ("{1: a}", p("dict"), "(at a key)", "JSON keys must be str"),
        ("[NaN]", p("list"), "(at [0])", "NaN and infinity"),
        ("[.inf]", p("list"), "(at [0])", "NaN and infinity"),
    ],
)
def test_coerce_cli_value_rejects_yaml_that_is_not_json(
    raw: str, declared: DeclaredParameter, message_part: str, hint_part: str
) -> None:
    with pytest.raises(SpecError) as err:
        coerce_cli_value(raw, declared)
    assert f"parameter 'x' {message_part}" in err.value.message
    assert err.value.hint is not None and hint_part in err.value.hint


@given(st.text())
def test_coerce_cli_value_keeps_str_parameters_verbatim(raw: str) -> None:
    assert coerce_cli_value(raw, p("str")) == raw
    assert coerce_cli_value(raw, p("str", nullable=True)) == raw


@given(st.text(), st.sampled_from(["int", "float", "bool", "list", "dict", "any"]), st.booleans())
def test_coerce_cli_value_raises_only_spec_error(raw: str, kind: str, nullable: bool) -> None:
    with contextlib.suppress(SpecError):
        coerce_cli_value(raw, p(kind, nullable))


# --- check_parameters ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_values", "expected"),
    [
        ({}, {}),
        ({"alpha": 5}, {"alpha": 5}),
        ({"ratio": 2}, {"ratio": 2.0}),  # an int is fine for a float, and becomes one
        ({"ratio": 0.25}, {"ratio": 0.25}),
        ({"label": "$(Cluster)\n+Attr = 1"}, {"label": "$(Cluster)\n+Attr = 1"}),
        ({"verbose": True}, {"verbose": True}),
        ({"sizes": (1, 2)}, {"sizes": [1, 2]}),  # tuples travel as lists
        ({"sizes": []}, {"sizes": []}),
        ({"config": {"depth": {"x": [1, None]}}}, {"config": {"depth": {"x": [1, None]}}}),
        ({"seed": None}, {"seed": None}),
        ({"seed": 42}, {"seed": 42}),
        ({"note": None}, {"note": None}),
        ({"note": "ünïcødé"}, {"note": "ünïcødé"}),
        ({"grid": [[0, 1], [2, 3]]}, {"grid": [[0, 1], [2, 3]]}),
        ({"grid": {"a": (1, "b")}}, {"grid": {"a": [1, "b"]}}),
    ],
)
def test_check_parameters_accepts_fitting_values(
    given_values: dict[str, Any], expected: dict[str, Any]
) -> None:
    checked = check_parameters(INFO, given_values)
    assert checked == expected
    assert [type(v) for v in checked.values()] == [type(v) for v in expected.values()]


def test_check_parameters_returns_declared_order_then_extras_sorted() -> None:
    given_values = {"zeta": 1, "note": "n", "beta": 2, "alpha": 3}
    checked = check_parameters(INFO, given_values, allow_unknown=True)
    assert list(checked) == ["alpha", "note", "beta", "zeta"]


def test_check_parameters_normalises_subclasses_to_json_types() -> None:
    class Colour(enum.IntEnum):
        RED = 1

    class Name(str):
        pass

    checked = check_parameters(INFO, {"alpha": Colour.RED, "label": Name("n")})
    assert type(checked["alpha"]) is int and type(checked["label"]) is str


@pytest.mark.parametrize(
    ("name", "value", "hint_part"),
    [
        ("alpha", True, "True/False are not ints"),
        ("alpha", 2.5, "an int"),
        ("alpha", "3", "an int"),
        ("alpha", None, "declare it Optional (alpha: int | None = ...)"),
        ("ratio", False, "an int or a float"),
        ("ratio", "0.5", "an int or a float"),
        ("label", 3, "a str"),
        ("label", b"bytes", "a str"),
        ("verbose", 1, "True or False"),
        ("verbose", "true", "True or False"),
        ("sizes", "1,2", "a list"),
        ("sizes", {1, 2}, "a list"),
        ("config", [("a", 1)], "a dict"),
    ],
)
def test_check_parameters_rejects_wrong_types(name: str, value: Any, hint_part: str) -> None:
    with pytest.raises(SpecError) as err:
        check_parameters(INFO, {name: value})
    declared = INFO.parameters[name]
    assert err.value.message.startswith(f"parameter {name!r} is declared as {declared.type} (")
    assert f"{name} = {declared.default_source} in the parameters cell" in err.value.message
    assert f"({type(value).__name__})" in err.value.message
    assert err.value.hint is not None and hint_part in err.value.hint


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def cyclic() -> list[Any]:
    loop: list[Any] = [1]
    loop.append(loop)
    return loop


@pytest.mark.parametrize(
    ("value", "message_part", "hint_part"),
    [
        ({1, 2}, "got set {1, 2}", "pass a list instead"),
        (frozenset(), "got frozenset", "pass a list instead"),
        (datetime.date(2024, 1, 2), "got date", "isoformat()"),
        ([datetime.datetime(2024, 1, 2)], "(at [0])", "isoformat()"),
        (float("nan"), "got float nan", "NaN and infinity cannot be sent as JSON"),
        ({"a": [0, float("-inf")]}, "(at ['a'][1])", "NaN and infinity"),
        (b"raw", "got bytes", "convert it to one of"),
        (object(), "got object", "convert it to one of"),
        (Unprintable(), "got Unprintable <Unprintable>", "convert it to one of"),
        ({1: "a"}, "(at a key)", "JSON keys must be str"),
        ({"a": {None: 1}}, "(at a key in ['a'])", "JSON keys must be str"),
        ("\udcff", "got str '\\udcff'", "not valid UTF-8"),
        (cyclic(), "(at [1])", "convert it to one of"),
        (10**5000, "got int <int>", "too large"),
        (complex(1, 2), "got complex", "convert it"),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, str) else None,
)
def test_check_parameters_requires_json_values(
    value: Any, message_part: str, hint_part: str
) -> None:
    with pytest.raises(SpecError) as err:
        check_parameters(INFO, {"grid": value})
    assert err.value.message.startswith("parameter 'grid'")
    assert "expected a JSON value (None, bool, int, float, str, list, or dict" in err.value.message
    assert message_part in err.value.message
    assert err.value.hint is not None and hint_part in err.value.hint


def test_check_parameters_requires_json_for_undeclared_values_too() -> None:
    with pytest.raises(SpecError, match=r"^parameter 'extra': expected a JSON value"):
        check_parameters(INFO, {"extra": {1, 2}}, allow_unknown=True)


def test_check_parameters_rejects_absurd_nesting() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(SpecError, match="nested too deeply"):
        check_parameters(INFO, {"grid": deep})


def test_unknown_parameter_lists_declared_and_suggests() -> None:
    with pytest.raises(SpecError) as err:
        check_parameters(INFO, {"alpah": 1, "alpha": 2})
    message, hint = err.value.message, err.value.hint or ""
    assert message.startswith("unknown parameter 'alpah' for ")
    assert f"the parameters cell declares: {', '.join(DECLARED)}" in message
    assert hint.startswith("did you mean 'alpha'?")
    assert "--allow-unknown-params" in hint and "allow_unknown_params=True" in hint


def test_unknown_parameters_are_all_named() -> None:
    with pytest.raises(SpecError) as err:
        check_parameters(INFO, {"zz": 1, "ratoi": 2})
    assert "unknown parameters 'ratoi', 'zz'" in err.value.message
    assert "did you mean 'ratio'?" in (err.value.hint or "")


def test_unknown_parameter_without_a_parameters_cell() -> None:
    info = inspect_notebook(DATA / "no_params.ipynb")
    with pytest.raises(SpecError) as err:
        check_parameters(info, {"x": 1})
    assert "has no cell tagged 'parameters'" in err.value.message
    assert "tag the cell" in (err.value.hint or "")
    assert "--allow-unknown-params" in (err.value.hint or "")
    assert check_parameters(info, {"x": 1}, allow_unknown=True) == {"x": 1}


def test_unknown_parameter_of_a_notebook_in_another_language() -> None:
    info = inspect_notebook(DATA / "r_params.ipynb")
    with pytest.raises(SpecError, match="cannot read the parameters of a notebook in R"):
        check_parameters(info, {"alpha": 1})
    assert check_parameters(info, {"alpha": 1}, allow_unknown=True) == {"alpha": 1}


def test_declared_parameters_are_still_checked_with_allow_unknown() -> None:
    with pytest.raises(SpecError, match="declared as int"):
        check_parameters(INFO, {"alpha": "x", "other": 1}, allow_unknown=True)


@pytest.mark.parametrize(
    ("name", "message_part"),
    [
        ("class", "got the Python keyword 'class'"),
        ("None", "got the Python keyword 'None'"),
        ("1a", "got the name '1a'"),
        ("a-b", "got the name 'a-b'"),
        ("a b", "got the name 'a b'"),
        ("", "got the name ''"),
        ("$(Cluster)", "got the name '$(Cluster)'"),
        ("+Attr", "got the name '+Attr'"),
        ("a\nb", "got the name 'a\\nb'"),
        (3, "got the name 3"),
        (None, "got the name None"),
        ("ﬁ", "Python reads it as 'fi'"),
    ],
)
def test_parameter_names_must_be_identifiers_even_when_unknown_allowed(
    name: Any, message_part: str
) -> None:
    with pytest.raises(SpecError) as err:
        check_parameters(INFO, {name: 1}, allow_unknown=True)
    assert message_part in err.value.message
    assert err.value.hint


@pytest.mark.parametrize("name", ["match", "case", "type", "_", "α", "print", "__x"])
def test_soft_keywords_builtins_and_unicode_names_are_fine(name: str) -> None:
    assert check_parameters(INFO, {name: 1}, allow_unknown=True) == {name: 1}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), json_values))
def test_checked_parameters_survive_a_json_round_trip(values: dict[str, Any]) -> None:
    try:
        checked = check_parameters(INFO, values, allow_unknown=True)
    except SpecError as err:  # a declared name given a value of the wrong type, or a keyword
        assert "declared as" in err.message or "keyword" in err.message
        return
    text = canonical_parameters_json(checked)
    assert json.loads(text) == checked
    assert canonical_parameters_json(dict(reversed(list(checked.items())))) == text


# --- load_parameters_file -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("p.yaml", "alpha: 5\nlabel: run\n", {"alpha": 5, "label": "run"}),
        ("p.YML", "sizes: [1, 2]\nconfig: {depth: 3}\n", {"sizes": [1, 2], "config": {"depth": 3}}),
        ("p.json", '{"alpha": 5, "note": null}', {"alpha": 5, "note": None}),
        ("p.txt", '{"alpha": 5}', {"alpha": 5}),
        ("params", "alpha: 5", {"alpha": 5}),
        ("p.yaml", "label: 'ünïcødé $(Cluster)'", {"label": "ünïcødé $(Cluster)"}),
        ("p.yaml", "# only\nalpha: 1 # comments\n", {"alpha": 1}),
        ("p.json", "{}", {}),
    ],
)
def test_load_parameters_file(tmp_path: Path, name: str, text: str, expected: Any) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert load_parameters_file(path) == expected
    assert load_parameters_file(str(path)) == expected


@pytest.mark.parametrize(
    ("name", "text", "message_part", "hint_part"),
    [
        ("p.json", '{"alpha": 1,\n "beta": }', "invalid JSON at line 2, column 10", "fix the JSON"),
        ("p.json", "alpha: 1", "invalid JSON at line 1, column 1", "named .yaml or .yml"),
        ("p.yaml", "alpha: [1, 2\nbeta: 3\n", "invalid YAML at line 2, column 5", "fix the YAML"),
        ("p.yaml", "a: 1\n\tb: 2\n", "invalid YAML at line 2", "fix the YAML"),
        ("p.yaml", "a: 1\n---\nb: 2\n", "invalid YAML", "fix the YAML"),
        ("p.txt", "{not: json: nor yaml", "invalid YAML", "fix the YAML"),
        ("p.yaml", "", "got an empty file", "one name and value"),
        ("p.yaml", "# nothing\n", "got an empty file", "one name and value"),
        ("p.yaml", "- 1\n- 2\n", "got a list", "one name and value"),
        ("p.json", "3", "got a int", "one name and value"),
        ("p.yaml", "just text", "got a str", "one name and value"),
        ("p.yaml", "1: a\n", "got the key 1", "quote the key"),
        ("p.yaml", "? [a, b]\n: c\n", "invalid YAML at line 1, column 3", "fix the YAML"),
        ("p.yaml", "true: x\n", "got the key True", "quote the key"),
        ("p.yaml", "~: x\n", "got the key None", "quote the key"),
        ("p.yaml", "alpha: " + "9" * 5000, "cannot read parameters file", "simplify"),
        ("p.json", '{"a": ' + "9" * 5000 + "}", "cannot read parameters file", "simplify"),
        ("p.json", "[" * 100_000, "cannot read parameters file", "simplify"),
    ],
    ids=lambda v: v[:20] if isinstance(v, str) else None,
)
def test_load_parameters_file_errors(
    tmp_path: Path, name: str, text: str, message_part: str, hint_part: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_parameters_file(path)
    assert message_part in err.value.message and str(path) in err.value.message
    assert err.value.hint is not None and hint_part in err.value.hint


def test_load_parameters_file_missing_directory_and_binary(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"^parameters file not found: "):
        load_parameters_file(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match=r"^expected parameters file .* to be a file; got a dir"):
        load_parameters_file(tmp_path)
    (tmp_path / "bin.yaml").write_bytes(b"\x80\x81")
    with pytest.raises(SpecError, match="expected UTF-8 text in parameters file"):
        load_parameters_file(tmp_path / "bin.yaml")


def test_yaml_booleans_for_str_parameters_suggest_quoting(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("label: no\n", encoding="utf-8")
    with pytest.raises(SpecError) as err:
        check_parameters(INFO, load_parameters_file(path))
    assert "got False (bool)" in err.value.message
    assert "quote values such as no" in (err.value.hint or "")


def test_yaml_dates_load_but_are_not_json(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("label: 2024-01-02\n", encoding="utf-8")
    loaded = load_parameters_file(path)
    with pytest.raises(SpecError) as err:
        check_parameters(INFO, loaded)
    assert "declared as str" in err.value.message and "(date)" in err.value.message
    assert "in a YAML file, quote values" in (err.value.hint or "")
    with pytest.raises(SpecError) as err:
        check_parameters(INFO, {"grid": loaded["label"]})
    assert "in a YAML file, quote it" in (err.value.hint or "")


# --- canonical_parameters_json ------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({}, "{}"),
        ({"b": 1, "a": [1, 2.5]}, '{"a":[1,2.5],"b":1}'),
        ({"x": {"z": None, "y": True}}, '{"x":{"y":true,"z":null}}'),
        ({"s": 'ünï "q"\n$(Cluster)'}, '{"s":"ünï \\"q\\"\\n$(Cluster)"}'),
    ],
)
def test_canonical_parameters_json(params: dict[str, Any], text: str) -> None:
    assert canonical_parameters_json(params) == text


@pytest.mark.parametrize("params", [{"a": float("nan")}, {"a": {1, 2}}, {"a": float("inf")}])
def test_canonical_parameters_json_refuses_unchecked_values(params: dict[str, Any]) -> None:
    with pytest.raises(SpecError) as err:
        canonical_parameters_json(params)
    assert "check_parameters()" in (err.value.hint or "")


def test_canonical_json_is_the_same_for_cli_and_python_values() -> None:
    raw = [("alpha", "3"), ("ratio", "2"), ("sizes", "[1, 2]"), ("verbose", "yes")]
    from_cli = {name: coerce_cli_value(value, INFO.parameters[name]) for name, value in raw}
    from_python = {"alpha": 3, "ratio": 2, "sizes": (1, 2), "verbose": True}
    assert canonical_parameters_json(check_parameters(INFO, from_cli)) == (
        canonical_parameters_json(check_parameters(INFO, from_python))
    )


def test_info_can_be_built_by_hand() -> None:
    info = NotebookInfo(
        path=Path("x.ipynb"), kernel_name=None, language=None,
        parameters={"n": p("int", name="n", default="1")}, parameters_cell_index=0,
        content_hash="sha256:0",
    )  # fmt: skip
    assert check_parameters(info, {"n": 2}) == {"n": 2}
