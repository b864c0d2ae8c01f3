"""Make user strings inert in an HTCondor submit description.

The submit language expands ``$(...)`` macros in every value, and ``+Attr`` values
are parsed as (old-syntax) ClassAd expressions where a backslash is not an escape.
So a user string goes into the job ad only as a ClassAd string literal whose
content is percent-encoded: no quote, backslash, dollar, newline or control
character can survive into the submit text. :func:`decode_attr` restores it.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

# Characters left readable in encoded attributes; everything else becomes %XX.
_SAFE = " !#&'()*+,-./:;<=>?@[]^_`{|}~"

_PATH_FORBIDDEN = re.compile(r"[\s,\"'\\\x00-\x1f\x7f]")


def encode_attr(text: str) -> str:
    """A ClassAd string literal (with quotes) carrying ``text`` percent-encoded."""
    return '"' + encode_text(text) + '"'


def encode_text(text: str) -> str:
    """The content of :func:`encode_attr`'s literal, without the quotes (for itemdata)."""
    return quote(text, safe=_SAFE)


def decode_attr(value: object) -> str:
    """Inverse of :func:`encode_attr` applied to the value read back from a job ad."""
    return unquote(str(value)) if value is not None else ""


def escape_macros(text: str) -> str:
    """Make ``$`` literal in a submit value (HTCondor's ``$(DOLLAR)`` macro)."""
    return text.replace("$", "$(DOLLAR)")


def transfer_path(path: str) -> str:
    """A path as it may appear in ``transfer_input_files``.

    HTCondor splits that list on commas and white space and has no quoting, so such
    paths are refused (callers turn the ValueError into a SpecError with a hint).
    """
    bad = _PATH_FORBIDDEN.search(path)
    if bad:
        raise ValueError(f"character {bad.group()!r} cannot be transferred by HTCondor")
    return escape_macros(path)


_SAFE_VALUE = re.compile(r"[A-Za-z0-9_./:@+=-]+")


def plain_value(text: str, *, what: str) -> str:
    """A bare submit value (an image path, a kernel name): only safe characters."""
    if not _SAFE_VALUE.fullmatch(text):
        raise ValueError(
            f"{what} may contain only letters, digits and _ . / : @ + = -; got {text!r}"
        )
    return text
