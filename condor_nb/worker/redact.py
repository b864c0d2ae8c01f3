"""Secret redaction for the worker wrapper, shipped next to it as ``condor_nb_redact.py``.

Pure functions: a :class:`Redactor` is built from the ``--secret`` values and turns
every form in which one of them can be written into ``[secret]``:

- in a structure (the notebook, the result, the manifest, the recorded values) before it
  is serialised: every string and every key, at any depth, so every kind of output
  (stream text, every mime type of execute_result/display_data, metadata, widget state,
  error ename/evalue/traceback) is covered; consecutive stream outputs of one name are
  merged first so that a secret printed in two pieces is still found;
- in any text afterwards (the logs, the HTML, the JSON files as written), whatever the
  encoding: as is, as Python's ``repr``/``ascii`` show it, JSON-escaped (with and
  without ``\\uXXXX`` escapes), HTML-escaped (html.escape and markupsafe styles), and a
  multi-line secret split into JSON strings line by line as nbformat writes it.

A secret shorter than :data:`MIN_REDACTED` characters is not redacted (it cannot be told
apart from ordinary text). Standard library only, Python >= 3.9, never condor_nb.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from typing import Any

MARK = "[secret]"
MIN_REDACTED = 4  # shorter secrets cannot be told apart from ordinary text
LONG_LINE = 16  # a line of a multi-line secret this long is redacted on its own too
_JSON_SEP = r'",\s*"'  # between two strings of a JSON list (nbformat's line-split text)
# Characters JSON, HTML and the redaction patterns never need escaped, to build a mark
# that cannot recreate a secret (see Redactor.text).
_FALLBACK_CHARS = "".join(chr(c) for c in range(0x2580, 0x25A0)) + "".join(
    chr(c) for c in range(0x4E00, 0x4F00)
)


# Keys of the formats themselves (nbformat 4, the result file, the manifest): never
# redacted, so that a secret such as "outp" or "code" cannot break the notebook's schema or
# condor_nb's reading of the result. MIME types (text/plain...) are kept likewise.
FORMAT_KEYS = frozenset(
    """cells metadata nbformat nbformat_minor id cell_type source attachments outputs
    execution_count output_type name text data ename evalue traceback transient
    kernelspec language_info display_name language papermill tags widgets state
    outcome exit_code failed_cell failed_cell_source error started_at finished_at
    duration_s cells_total cells_executed papermill_version python job_id value
    complete version implementation executable platform hostname packages imports
    versions_from kernel requested fallback language_version distributions stdlib
    local_file failure cell source_line summary""".split()  # noqa: SIM905
)
_MIME = re.compile(r"[\w.+-]+/[\w.+-]+")


def _json_inner(text: str, ascii_only: bool) -> str:
    return json.dumps(text, ensure_ascii=ascii_only)[1:-1]


def _html_forms(text: str) -> set[str]:
    markupsafe = (
        text.replace("&", "&amp;")
        .replace(">", "&gt;")
        .replace("<", "&lt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )
    return {html.escape(text), html.escape(text, quote=False), markupsafe}


def _repr_forms(value: str) -> set[str]:
    """The inside of repr()/ascii() of the value, with either quote character."""
    forms = set()
    for shown in (repr, ascii):
        quoted = shown(value)
        inner = quoted[1:-1]
        forms.add(inner)
        if quoted[0] == '"':  # the value has a ' and no "
            forms.add(inner.replace("'", "\\'"))
        else:
            forms.add(inner.replace("\\'", "'").replace('"', '\\"'))
    forms.add(repr(value.encode("utf-8", "surrogatepass"))[2:-1])
    return {f for f in forms if f}


def _bases(value: str) -> set[str]:
    """The value, as repr/ascii show it, stripped, and the long lines of a multi-line one."""
    bases = {value, *_repr_forms(value)}
    stripped = value.strip()
    if len(stripped) >= MIN_REDACTED:
        bases.add(stripped)
    lines = value.splitlines()
    if len(lines) > 1:
        bases.update(line for line in lines if len(line.strip()) >= max(LONG_LINE, MIN_REDACTED))
    return bases


def _escaped_forms(base: str) -> set[str]:
    """``base`` as is, JSON-escaped, HTML-escaped, and both ways round."""
    escaped = {base, _json_inner(base, True), _json_inner(base, False)}
    forms = set(escaped)
    for form in escaped:
        forms.update(_html_forms(form))
    for form in _html_forms(base):  # HTML in a JSON file (a text/html output)
        forms.update({_json_inner(form, True), _json_inner(form, False)})
    return {f for f in forms if len(f) >= MIN_REDACTED}


def written_forms(value: str) -> set[str]:
    """Every literal form in which ``value`` can appear in written text."""
    return {form for base in _bases(value) for form in _escaped_forms(base)}


_SAFE_RUN = re.compile(r"[A-Za-z0-9 !#$%()*+,\-./:;=?@\[\]^_`{|}~]+")


def _probes(base: str) -> set[str]:
    """Substrings every written form of ``base`` holds: its longest run of characters that
    no escaping changes (one fast substring search instead of one per form), or else the
    forms themselves."""
    run = max(_SAFE_RUN.findall(base), key=len, default="")
    return {run} if len(run) >= MIN_REDACTED else _escaped_forms(base)


def line_split_patterns(value: str) -> list[str]:
    """Regular expressions for a multi-line value written as a JSON list of its lines."""
    lines = value.splitlines(keepends=True)
    if len(lines) < 2:
        return []
    return [
        _JSON_SEP.join(re.escape(_json_inner(line, ascii_only)) for line in lines)
        for ascii_only in (True, False)
    ]


class Redactor:
    """Redacts the given secrets (those of at least MIN_REDACTED characters)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_REDACTED}, key=len, reverse=True)
        literals: set[str] = set()
        patterns: list[str] = []
        self.probes: set[str] = set()  # cheap substring checks before any regex runs
        for value in values:
            for base in _bases(value):
                literals |= _escaped_forms(base)
                self.probes |= _probes(base)
            split = line_split_patterns(value)
            if split:  # every match holds the first line's forms
                patterns += split
                first = value.splitlines(keepends=True)[0]
                run = max(_SAFE_RUN.findall(first), key=len, default="")
                short = {_json_inner(first, True), _json_inner(first, False)}
                self.probes |= {run} if len(run) >= MIN_REDACTED else short
        alternatives = patterns + [re.escape(f) for f in sorted(literals, key=len, reverse=True)]
        self.pattern = re.compile("|".join(alternatives)) if alternatives else None
        used = set("".join(literals)) | set('",\\') | {c for c in _FALLBACK_CHARS if c.isspace()}
        self.fallback = next(c for c in _FALLBACK_CHARS if c not in used) * 8

    def __bool__(self) -> bool:
        return self.pattern is not None

    def found(self, text: str) -> bool:
        """Whether ``text`` holds a form of a secret."""
        if self.pattern is None or not any(p in text for p in self.probes):
            return False
        return self.pattern.search(text) is not None

    def text(self, text: str) -> str:
        """Every form of every secret in ``text`` replaced by ``[secret]``.

        Should the mark and what surrounds it form a secret again (a secret made of the
        mark's own characters), a mark of characters no secret form holds is used.
        """
        if not self.found(text):
            return text
        assert self.pattern is not None
        out = self.pattern.sub(MARK, text)
        return self.pattern.sub(self.fallback, text) if self.found(out) else out

    def json_text(self, text: str) -> str:
        """:meth:`text` for a JSON document, which stays valid JSON.

        A form can match across an escape sequence of the JSON text without the decoded
        string holding the secret (a secret "u0080" and the escape \\u0080); replacing it
        would break the document. Then every string is redacted decoded instead.
        """
        clean = self.text(text)
        if clean == text:
            return text
        try:
            json.loads(clean)
            return clean
        except ValueError:
            pass
        try:
            document = json.loads(text)
        except ValueError:
            return clean  # it was no JSON to begin with
        return json.dumps(self.value(document), indent=1, ensure_ascii=False) + "\n"

    def bytes(self, data: bytes) -> bytes:
        """Same, for the bytes of a file (UTF-8; undecodable bytes are kept as they are)."""
        text = data.decode("utf-8", "surrogateescape")
        redacted = self.text(text)
        return data if redacted == text else redacted.encode("utf-8", "surrogateescape")

    def key(self, key: Any) -> Any:
        """A dict key redacted, unless it belongs to the format (FORMAT_KEYS, MIME types)."""
        if not isinstance(key, str) or key in FORMAT_KEYS or _MIME.fullmatch(key):
            return key
        return self.text(key)

    def value(self, obj: Any) -> Any:
        """A redacted copy of a JSON-like structure: every string and key, at any depth
        (but the format's own keys).

        Dicts become plain dicts and tuples lists (nbformat.from_dict makes a notebook
        node again); a notebook's consecutive stream outputs of one name are merged.
        """
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            if isinstance(obj.get("outputs"), list):
                obj = dict(obj, outputs=merge_streams(obj["outputs"]))
            return {self.key(k): self.value(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.value(item) for item in obj]
        return obj


def merge_streams(outputs: list[Any]) -> list[Any]:
    """Consecutive stream outputs of one name as one output (copies; the input is kept)."""
    merged: list[Any] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            isinstance(output, dict)
            and isinstance(previous, dict)
            and output.get("output_type") == previous.get("output_type") == "stream"
            and output.get("name") == previous.get("name")
        ):
            merged[-1] = dict(
                previous, text=_joined(previous.get("text")) + _joined(output.get("text"))
            )
        else:
            merged.append(output)
    return merged


def _joined(text: Any) -> str:
    return "".join(text) if isinstance(text, list) else str(text or "")
