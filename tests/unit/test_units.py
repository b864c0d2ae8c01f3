"""Resource sizes and counts: HTCondor's binary units, clear errors for anything else."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from condor_nb.errors import SpecError
from condor_nb.spec.units import format_mib, parse_count, parse_size_mib

GIB = 1024


@pytest.mark.parametrize(
    ("value", "mib"),
    [
        ("4GB", 4 * GIB),
        ("4gb", 4 * GIB),
        ("4 GiB", 4 * GIB),
        ("4G", 4 * GIB),
        ("4g", 4 * GIB),
        ("1.5GB", 1536),
        ("1.5 gib", 1536),
        (".5G", 512),
        ("4.", 4),
        ("1.1GB", 1127),  # 1126.4 MiB, rounded up
        ("512MiB", 512),
        ("512 mb", 512),
        ("512M", 512),
        ("2048", 2048),  # a bare number is MiB
        ("  8 g  ", 8 * GIB),
        ("1K", 1),  # 1 KiB rounds up to 1 MiB
        ("1024K", 1),
        ("1025 KiB", 2),
        ("0.0001K", 1),
        ("2T", 2 * 1024 * GIB),
        ("2 TiB", 2 * 1024 * GIB),
        ("1tb", 1024 * GIB),
        (2048, 2048),
        (1.5, 2),
        (0.001, 1),
    ],
)
def test_parse_size_mib_accepts_htcondor_sizes(value: str | int | float, mib: int) -> None:
    assert parse_size_mib(value, field="memory") == mib


@pytest.mark.parametrize(
    ("value", "hint_part"),
    [
        ("4 parsecs", "unknown unit 'parsecs'"),
        ("4PB", "unknown unit 'PB'"),
        ("512B", "unknown unit 'B'"),
        ("", "give memory a value"),
        ("   ", "give memory a value"),
        ("0", "greater than zero"),
        ("0GB", "greater than zero"),
        ("0.0", "greater than zero"),
        (0, "greater than zero"),
        (0.0, "greater than zero"),
        ("-1G", "greater than zero"),
        (-4, "greater than zero"),
        (True, "not True/False"),
        (False, "not True/False"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        ("nan", "units are K, M, G, T"),
        ("4e3", "units are K, M, G, T"),
        ("1,5GB", "units are K, M, G, T"),
        ("4 G B", "units are K, M, G, T"),
        ("GB", "units are K, M, G, T"),
        (".", "units are K, M, G, T"),
        ("$(Cluster)", "units are K, M, G, T"),
        ('4GB"\nrequest_cpus = 64', "units are K, M, G, T"),
        ("+Attr = 1", "units are K, M, G, T"),
        ("٤GB", "units are K, M, G, T"),  # Arabic-Indic four: ASCII digits only
        ("9" * 70, "far too long"),
        ("99999999999T", "cannot exceed 1 EiB"),
        pytest.param(10**5000, "cannot exceed 1 EiB", id="int-of-5000-digits"),
        (None, "string such as '4GB'"),
        ([4], "string such as '4GB'"),
    ],
)
def test_parse_size_mib_rejects_with_a_helpful_message(value: object, hint_part: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_size_mib(value, field="memory")  # type: ignore[arg-type]
    assert err.value.message.startswith("memory: expected a size such as 4GB, 512MiB or 2048")
    assert err.value.hint is not None and hint_part in err.value.hint


def test_parse_size_mib_message_quotes_what_was_given() -> None:
    with pytest.raises(SpecError) as err:
        parse_size_mib("4 parsecs", field="disk")
    assert err.value.message == (
        "disk: expected a size such as 4GB, 512MiB or 2048 (MiB); got '4 parsecs'"
    )


def test_parse_size_mib_escapes_newlines_in_the_message() -> None:
    with pytest.raises(SpecError) as err:
        parse_size_mib("4GB\nqueue 1000", field="memory")
    assert "\n" not in err.value.message
    assert "'4GB\\nqueue 1000'" in err.value.message


@given(st.text())
def test_parse_size_mib_raises_only_spec_error_on_any_text(text: str) -> None:
    try:
        mib = parse_size_mib(text, field="memory")
    except SpecError:
        return
    assert isinstance(mib, int) and mib > 0


@given(st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True)))
def test_parse_size_mib_raises_only_spec_error_on_any_number(value: int | float) -> None:
    try:
        mib = parse_size_mib(value, field="memory")
    except SpecError:
        return
    assert mib == math.ceil(value)


@pytest.mark.parametrize(
    ("value", "minimum", "count"),
    [
        ("1", 1, 1),
        ("2", 1, 2),
        (" 3 ", 1, 3),
        (4, 1, 4),
        ("0", 0, 0),
        (0, 0, 0),
        ("64", 0, 64),
    ],
)
def test_parse_count_accepts_whole_numbers(value: str | int, minimum: int, count: int) -> None:
    assert parse_count(value, field="cpus", minimum=minimum) == count


@pytest.mark.parametrize(
    ("value", "minimum", "hint_part"),
    [
        ("2.5", 1, "whole number (no fraction or unit)"),
        (2.5, 1, "whole number"),
        (2.0, 1, "whole number"),
        ("2.0", 1, "whole number"),
        ("4 cores", 1, "whole number"),
        ("", 1, "whole number"),
        ("x", 1, "whole number"),
        (True, 1, "whole number"),
        (False, 0, "whole number"),
        (None, 1, "whole number"),
        ("$(Cluster)", 1, "whole number"),
        ("1\nqueue", 1, "whole number"),
        ("٣", 1, "whole number"),
        ("0", 1, "at least 1"),
        (0, 1, "at least 1"),
        ("-1", 0, "at least 0"),
        (-1, 0, "at least 0"),
        ("99999999999", 1, "unrealistically large"),
        pytest.param("9" * 5000, 1, "unrealistically large", id="str-of-5000-digits"),
        pytest.param(10**5000, 1, "unrealistically large", id="int-of-5000-digits"),
    ],
)
def test_parse_count_rejects_with_a_helpful_message(
    value: object, minimum: int, hint_part: str
) -> None:
    with pytest.raises(SpecError) as err:
        parse_count(value, field="cpus", minimum=minimum)  # type: ignore[arg-type]
    assert err.value.message.startswith(f"cpus: expected a whole number >= {minimum}")
    assert err.value.hint is not None and hint_part in err.value.hint


def test_parse_count_names_the_field() -> None:
    expected = r"^gpus: expected a whole number >= 0, such as 1; got '-2'"
    with pytest.raises(SpecError, match=expected):
        parse_count("-2", field="gpus", minimum=0)


@given(st.text())
def test_parse_count_raises_only_spec_error_on_any_text(text: str) -> None:
    try:
        count = parse_count(text, field="gpus", minimum=0)
    except SpecError:
        return
    assert count == int(text.strip())


@pytest.mark.parametrize(
    ("mib", "text"),
    [
        (1, "1 MiB"),
        (512, "512 MiB"),
        (1000, "1000 MiB"),
        (1024, "1 GiB"),
        (1536, "1.5 GiB"),
        (1280, "1.25 GiB"),
        (1127, "1127 MiB"),  # 1.1005... GiB: not exact, so stays in MiB
        (4096, "4 GiB"),
        (1024 * 1024, "1 TiB"),
        (3 * 512 * 1024, "1.5 TiB"),
        (1024 * 1024 + 1024, "1025 GiB"),
    ],
)
def test_format_mib(mib: int, text: str) -> None:
    assert format_mib(mib) == text


@given(st.integers(min_value=1, max_value=1024**4))
def test_format_mib_round_trips_through_parse(mib: int) -> None:
    assert parse_size_mib(format_mib(mib), field="memory") == mib
