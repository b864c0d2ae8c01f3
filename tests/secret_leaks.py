"""Search a file's bytes for a secret in every form it could be written in.

Independent of condor_nb's own redaction code (so a bug there is not mirrored here):
the raw text, the JSON- and HTML-decoded text, every string of a JSON document, the
Python repr/ascii forms, and a multi-line secret's lines as nbformat splits them.
Also the notebook that shows its secrets in every way it can (CELLS).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Secrets in the forms that leaked before: a multi-line file secret (nbformat stores stream
# text line by line), a quote with non-ASCII letters (JSON-escaped, not ASCII-escaped),
# & and < (HTML-escaped).
PEM = "\n".join(
    ["-----BEGIN PRIVATE KEY-----"]
    + [f"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDx{i}q7ZLm3Hn+Y/wfA" for i in range(5)]
    + ["-----END PRIVATE KEY-----"]
)
QUOTED = 'p4ss"w\u00f6rd\U0001f511'  # a quote, a non-ASCII letter, a non-BMP one
MARKUP = "tok&en<b>x</b>'9"
SECRETS = {"PEM_KEY": PEM, "QUOTED": QUOTED, "MARKUP": MARKUP}  # name -> value

CELLS = [
    "import os, sys, json, time\nfrom IPython.display import display, HTML, JSON, Markdown\n"
    "S = {k: os.environ[k] for k in ('PEM_KEY', 'QUOTED', 'MARKUP')}\n"
    "print('lengths', sorted(len(v) for v in S.values()))",
    "for v in S.values():\n    print('printed:', v)\n    print(repr(v), ascii(v))\n"
    "    print(v, file=sys.stderr)",
    # in two pieces, flushed apart: two stream messages
    "v = S['QUOTED']\nprint(v[:4], end='', flush=True)\ntime.sleep(0.3)\nprint(v[4:])",
    "display(HTML('<p>' + S['MARKUP'] + '</p>'), JSON({'k': S['QUOTED'], S['MARKUP']: 1}))\n"
    "display(Markdown('`' + S['PEM_KEY'] + '`'), metadata={'alt': S['QUOTED']})\n"
    "display({'text/plain': S['PEM_KEY'], 'application/vnd.custom+json': {'v': S['MARKUP']}},"
    " raw=True)",
    "import condor_nb\ncondor_nb.record('token', S['QUOTED'])\ncondor_nb.record('n', 1)\n"
    "S['MARKUP']",
    "raise ValueError(S['QUOTED'] + ' ' + S['MARKUP'] + '\\n' + S['PEM_KEY'])",
]


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from _strings(item)


def _joined_streams(obj: Any) -> Iterator[str]:
    """A notebook's stream outputs of each cell, joined (what the user reads)."""
    if isinstance(obj, dict) and isinstance(obj.get("cells"), list):
        for cell in obj["cells"]:
            for name in ("stdout", "stderr"):
                yield "".join(
                    "".join(o.get("text", "")) if isinstance(o.get("text"), list) else o["text"]
                    for o in cell.get("outputs", [])
                    if o.get("output_type") == "stream" and o.get("name") == name
                )


def forms(secret: str) -> set[str]:
    """Literal forms of the secret as text files may hold it."""
    found = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    found |= {html.escape(secret), html.escape(secret, quote=False), repr(secret)[1:-1]}
    found |= {ascii(secret)[1:-1]}
    return found


def leaks(secret: str, data: bytes) -> list[str]:
    """How ``secret`` shows in ``data`` (empty: it does not)."""
    text = data.decode("utf-8", "replace")
    found = [f"form {form!r}" for form in forms(secret) if form in text]
    for decoded_name, decoded in (("html-decoded", html.unescape(text)),):
        if secret in decoded:
            found.append(decoded_name)
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if document is not None:
        values = [*_strings(document), *_joined_streams(document)]
        if any(secret in s or secret in html.unescape(s) for s in values):
            found.append("a JSON string")
    lines = [line for line in secret.splitlines() if len(line) >= 16]
    found += [f"line {line[:8]}..." for line in lines if line in text]
    return found


def scan(secrets: list[str], paths: list[Path]) -> dict[str, list[str]]:
    """path -> leaks of any of the secrets, for the files that leak."""
    report: dict[str, list[str]] = {}
    for path in paths:
        data = path.read_bytes()
        found = [f"{s[:6]!r}: {how}" for s in secrets for how in leaks(s, data)]
        if found:
            report[str(path)] = found
    return report
