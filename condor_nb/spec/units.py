"""Resource sizes and counts, parsed the way HTCondor reads request_memory/request_disk.

Sizes use *binary* units, case-insensitively, with an optional space between number
and unit: ``K``/``KB``/``KiB`` = 1024 bytes, ``M``/``MB``/``MiB`` = 1024**2,
``G``/``GB``/``GiB`` = 1024**3, ``T``/``TB``/``TiB`` = 1024**4. Decimals are allowed
("1.5GB"). A bare number means MiB for memory *and* disk. (HTCondor itself reads
a bare request_disk as KiB; the renderer converts, so users never meet that
difference.) Results are whole MiB, rounded up.

Pure code: no I/O, and cheap to import (no decimal/fractions; exact integer maths).
"""

from __future__ import annotations

import math
import re

from condor_nb.errors import SpecError

_MIB_PER_UNIT: dict[str, tuple[int, int]] = {
    # unit -> (numerator, denominator) of its size in MiB
    "": (1, 1),
    "k": (1, 1024), "kb": (1, 1024), "kib": (1, 1024),
    "m": (1, 1), "mb": (1, 1), "mib": (1, 1),
    "g": (1024, 1), "gb": (1024, 1), "gib": (1024, 1),
    "t": (1024**2, 1), "tb": (1024**2, 1), "tib": (1024**2, 1),
}  # fmt: skip
_SIZE_RE = re.compile(r"(?P<whole>[0-9]*)(?:\.(?P<frac>[0-9]*))?[ \t]*(?P<unit>[A-Za-z]*)")
_COUNT_RE = re.compile(r"-?[0-9]+")
_MAX_MIB = 1024**4  # 1 EiB: anything larger is a typo, not a request
_MAX_COUNT = 1_000_000
_MAX_TEXT = 64
_SIZE_EXAMPLES = "a size such as 4GB, 512MiB or 2048 (MiB)"
_UNIT_HINT = "units are K, M, G, T (binary: 1G = 1024M; KB/KiB also work); a bare number is MiB"


def show_value(value: object) -> str:
    """Show a user's value in an error message: its repr, shortened; never raises.

    Quoted, with newlines escaped, so hostile input cannot fake extra message lines.
    """
    try:
        text = repr(value)
    except Exception:  # e.g. an int too long to print, a broken __repr__
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def _size_error(field: str, value: object, hint: str = _UNIT_HINT) -> SpecError:
    return SpecError(f"{field}: expected {_SIZE_EXAMPLES}; got {show_value(value)}", hint=hint)


def _checked_mib(exact_num: int, exact_den: int, field: str, value: object) -> int:
    """Round a positive exact quantity of MiB up to a whole number, within bounds."""
    if exact_num <= 0:
        raise _size_error(field, value, hint=f"{field} must be greater than zero, e.g. 1GB")
    mib = -(-exact_num // exact_den)
    if mib > _MAX_MIB:
        raise _size_error(field, value, hint=f"{field} cannot exceed 1 EiB; check the unit")
    return mib


def _parse_size_text(text: str, field: str) -> int:
    stripped = text.strip()
    if not stripped:
        raise _size_error(field, text, hint=f"give {field} a value, e.g. 4GB")
    if stripped.startswith("-"):
        raise _size_error(field, text, hint=f"{field} must be greater than zero, e.g. 1GB")
    if len(stripped) > _MAX_TEXT:
        raise _size_error(field, text, hint=f"that is far too long for a {field} size")
    match = _SIZE_RE.fullmatch(stripped)
    whole, frac, unit = match.group("whole", "frac", "unit") if match else ("", "", "")
    if not (whole or frac):
        raise _size_error(field, text)
    frac = frac or ""
    factor = _MIB_PER_UNIT.get(unit.lower())
    if factor is None:
        raise _size_error(field, text, hint=f"unknown unit {unit!r}; {_UNIT_HINT}")
    mantissa = int((whole or "0") + frac)
    return _checked_mib(mantissa * factor[0], 10 ** len(frac) * factor[1], field, text)


def _parse_size_number(value: int | float, field: str) -> int:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _size_error(field, value, hint=f"give {field} as a finite number, e.g. 4GB")
        num, den = value.as_integer_ratio()
        return _checked_mib(num, den, field, value)
    return _checked_mib(value, 1, field, value)


def parse_size_mib(value: str | int | float, *, field: str) -> int:
    """Parse a memory or disk size into whole MiB (rounded up; always > 0).

    ``value`` is a string ("4GB", "1.5 gib", "512MiB", "2048") or a number of MiB.
    A bare number means MiB for both memory and disk. Raises :class:`SpecError` for
    empty, zero, negative, non-finite, unknown units ("4 parsecs"), booleans and
    anything else.
    """
    if isinstance(value, bool):
        raise _size_error(field, value, hint=f"give {field} as a size, not True/False")
    if isinstance(value, str):
        return _parse_size_text(value, field)
    if isinstance(value, int | float):
        return _parse_size_number(value, field)
    raise _size_error(field, value, hint=f"give {field} as a string such as '4GB' or a number")


def _count_value(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if not _COUNT_RE.fullmatch(text):
        return None
    return int(text) if len(text) <= 12 else _MAX_COUNT + 1


def parse_count(value: str | int, *, field: str, minimum: int) -> int:
    """Parse a whole-number count such as cpus (minimum 1) or gpus (minimum 0).

    Accepts an ``int`` or a string of decimal digits (surrounding spaces allowed).
    Fractions ("2.5", 2.5), booleans, units and anything else raise :class:`SpecError`.
    """
    count = _count_value(value)
    if count is None:
        hint = f"give {field} as a whole number (no fraction or unit), e.g. {field}={minimum + 1}"
    elif count < minimum:
        hint = f"{field} must be at least {minimum}"
    elif count > _MAX_COUNT:
        hint = f"{field} is unrealistically large; check the value"
    else:
        return count
    expected = f"a whole number >= {minimum}, such as {minimum + 1}"
    raise SpecError(f"{field}: expected {expected}; got {show_value(value)}", hint=hint)


def format_mib(mib: int) -> str:
    """Format whole MiB for display: "512 MiB", "4 GiB", "1.5 GiB", "2 TiB".

    Uses the largest binary unit that shows the value exactly with at most two
    decimals, so ``parse_size_mib(format_mib(n), field=...) == n`` for n > 0.
    """
    for unit, size in (("TiB", 1024**2), ("GiB", 1024)):
        if abs(mib) >= size and (mib * 100) % size == 0:
            text = f"{mib / size:.2f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
    return f"{mib} MiB"
