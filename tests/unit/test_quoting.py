"""User strings are inert in a submit description: encoded attributes, paths, plain values."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from condor_nb.spec.quoting import (
    decode_attr,
    encode_attr,
    escape_macros,
    plain_value,
    transfer_path,
)

HOSTILE = [
    pytest.param('say "hi"', id="double quotes"),
    pytest.param("it's", id="single quote"),
    pytest.param("C:\\temp\\new", id="backslashes"),
    pytest.param('end with backslash \\"', id="backslash before a quote"),
    pytest.param("line one\nline two\r\nline three", id="newlines"),
    pytest.param("tab\there\x00nul\x1bescape\x7fdel", id="control characters"),
    pytest.param("$(Cluster).$(Process)", id="submit macro"),
    pytest.param("$$(Memory)", id="match-time macro"),
    pytest.param("$ENV(HOME) $RANDOM_INTEGER(1,9)", id="macro functions"),
    pytest.param("x\n+Attr = 1", id="newline then +Attr"),
    pytest.param("+Attr = 1", id="+Attr"),
    pytest.param('"]; Evil = 1; [', id="classad record break-out"),
    pytest.param('x" || true || "', id="classad expression break-out"),
    pytest.param("x\nqueue 1000", id="extra queue statement"),
    pytest.param("100% done %41 %%", id="percent signs"),
    pytest.param("α/β — 日本語 🚀", id="unicode"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="spaces only"),
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def assert_inert_literal(literal: str) -> None:
    """A ClassAd string literal nothing in the submit language or ClassAds can act on."""
    assert literal.startswith('"') and literal.endswith('"') and len(literal) >= 2
    inner = literal[1:-1]
    assert '"' not in inner
    assert "\\" not in inner
    assert "$" not in inner
    assert not _CONTROL.search(inner), repr(inner)
    assert inner.isascii()


@pytest.mark.parametrize("text", HOSTILE)
def test_encode_attr_round_trips_hostile_strings(text: str) -> None:
    literal = encode_attr(text)
    assert_inert_literal(literal)
    # The schedd hands back the string value (without quotes): decode it.
    assert decode_attr(literal[1:-1]) == text


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("hello", '"hello"'),
        ("fit alpha=0.5 (v2)", '"fit alpha=0.5 (v2)"'),
        ("/home/user/My Notebooks/fit.ipynb", '"/home/user/My Notebooks/fit.ipynb"'),
        ('{"alpha": 0.5}', '"{%22alpha%22: 0.5}"'),
        ("$(X)", '"%24(X)"'),
        ("a\\b", '"a%5Cb"'),
        ("a\nb", '"a%0Ab"'),
        ("50%", '"50%25"'),
    ],
)
def test_encode_attr_keeps_ordinary_text_readable(text: str, literal: str) -> None:
    assert encode_attr(text) == literal


def test_decode_attr_of_a_missing_attribute_is_empty() -> None:
    assert decode_attr(None) == ""


def test_decode_attr_accepts_non_strings() -> None:
    assert decode_attr(42) == "42"


@given(st.text())
def test_encode_attr_property(text: str) -> None:
    literal = encode_attr(text)
    assert_inert_literal(literal)
    assert decode_attr(literal[1:-1]) == text


def test_encoded_literal_is_one_classad_string() -> None:
    classad2 = pytest.importorskip("classad2")
    for param in HOSTILE:
        text = param.values[0]
        assert isinstance(text, str)
        value = classad2.ExprTree(encode_attr(text)).eval()
        assert isinstance(value, str)
        assert decode_attr(value) == text


# --- transfer paths ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ("/home/user/data/input.csv", "/home/user/data/input.csv"),
        ("/home/user/jobs/0a1b/in/fit.ipynb", "/home/user/jobs/0a1b/in/fit.ipynb"),
        ("/data/ünïcode/file.txt", "/data/ünïcode/file.txt"),
        ("/data/(v2)/a+b=c@d:e.txt", "/data/(v2)/a+b=c@d:e.txt"),
        ("/data/price$5.csv", "/data/price$(DOLLAR)5.csv"),
        ("/data/$(Cluster)/x", "/data/$(DOLLAR)(Cluster)/x"),
    ],
)
def test_transfer_path_accepts_plain_paths_and_escapes_dollar(path: str, rendered: str) -> None:
    assert transfer_path(path) == rendered


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ("/data/my file.csv", " "),
        ("/data/a,b.csv", ","),
        ('/data/a"b.csv', '"'),
        ("/data/a'b.csv", "'"),
        ("/data/a\\b.csv", "\\"),
        ("/data/a\nb.csv", "\n"),
        ("/data/a\tb.csv", "\t"),
        ("/data/a\x00b.csv", "\x00"),
        ("/data/a\x7fb.csv", "\x7f"),
        ("/data/x\n+Evil = 1", "\n"),
    ],
)
def test_transfer_path_refuses_what_htcondor_cannot_transfer(path: str, bad: str) -> None:
    with pytest.raises(ValueError, match="cannot be transferred by HTCondor") as info:
        transfer_path(path)
    assert repr(bad) in str(info.value)


def test_escape_macros_leaves_text_without_dollar_alone() -> None:
    assert escape_macros("plain text (1)") == "plain text (1)"
    assert escape_macros("$$") == "$(DOLLAR)$(DOLLAR)"


# --- plain values -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "/cvmfs/singularity.opensciencegrid.org/org/img:tag",
        "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el9:latest",
        "docker://python:3.11-slim",
        "python3",
        "python3.11",
        "/usr/bin/python3",
        "ir",
        "user@registry/img:1.0+build=2",
    ],
)
def test_plain_value_accepts_images_and_kernel_names(value: str) -> None:
    assert plain_value(value, what="image") == value


@pytest.mark.parametrize(
    "value",
    [
        "my image",
        "img:tag extra",
        '"img"',
        "img'",
        "$(CONDOR_NB_IMAGE)",
        "img$x",
        "img\\x",
        "img,other",
        "a\nexecutable = /bin/evil",
        "",
    ],
)
def test_plain_value_refuses_spaces_quotes_and_macros(value: str) -> None:
    with pytest.raises(ValueError) as info:
        plain_value(value, what="image")
    message = str(info.value)
    assert message.startswith("image may contain only letters, digits")
    assert repr(value) in message


@pytest.mark.parametrize("value", ["img:tag\n", "python3\n"])
def test_plain_value_refuses_a_trailing_newline(value: str) -> None:
    with pytest.raises(ValueError):
        plain_value(value, what="image")
