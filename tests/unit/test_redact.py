"""The worker's secret redaction (condor_nb/worker/redact.py), property-tested over the
whole character range: whatever a secret holds (quotes, backslashes, &, <, >, non-BMP
letters, newlines), none of the ways the job writes it lets it through, decoded or not,
and what is left is still readable JSON with "[secret]" in place."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import nbformat
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from condor_nb.worker.redact import FORMAT_KEYS, MARK, MIN_REDACTED, Redactor

MIME = re.compile(r"[\w.+-]+/[\w.+-]+")

# Every code point except lone surrogates (a secret file is UTF-8 text).
CHARS = st.characters(blacklist_categories=("Cs",))
SPECIAL = st.sampled_from(list("\"'\\&<>\n\r\t é\u00df\u2028\U0001f600;#x"))
SECRET = st.text(st.one_of(CHARS, SPECIAL), min_size=MIN_REDACTED, max_size=40)
MULTILINE = (
    st.lists(st.text(CHARS, min_size=1, max_size=70), min_size=2, max_size=5)
    .map("\n".join)
    .filter(lambda s: len(s) >= MIN_REDACTED)
)
AROUND = st.text(st.one_of(CHARS, SPECIAL), max_size=12)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def markupsafe_escape(text: str) -> str:
    """How Jinja2 (nbconvert's templates) escapes: &#34; and &#39; for the quotes."""
    for raw, entity in (("&", "&amp;"), (">", "&gt;"), ("<", "&lt;"), ("'", "&#39;")):
        text = text.replace(raw, entity)
    return text.replace('"', "&#34;")


# (encode, decode): the ways the job's files can hold a string.
ENCODINGS = {
    "raw": (lambda t: t, lambda t: t),
    "json": (json.dumps, json.loads),
    "json-unicode": (lambda t: json.dumps(t, ensure_ascii=False), json.loads),
    "html": (html.escape, html.unescape),
    "html-noquote": (lambda t: html.escape(t, quote=False), html.unescape),
    "markupsafe": (markupsafe_escape, html.unescape),
    "repr": (repr, lambda t: t),
    "ascii": (ascii, lambda t: t),
    "json-in-html": (lambda t: html.escape(json.dumps(t)), lambda t: json.loads(html.unescape(t))),
}


def strings(obj: Any) -> list[str]:
    """Every string and key of a JSON structure."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in (*strings(k), *strings(v))]
    if isinstance(obj, list):
        return [s for item in obj for s in strings(item)]
    return []


def notebook_with(secret: str) -> Any:
    """A notebook holding the secret in every kind of output, metadata and widget state."""
    half = len(secret) // 2
    outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"token: {secret}\n"),
        # printed in two pieces: two stream outputs, as nbclient stores them
        nbformat.v4.new_output("stream", name="stdout", text=secret[:half]),
        nbformat.v4.new_output("stream", name="stdout", text=secret[half:] + "\n"),
        nbformat.v4.new_output(
            "execute_result",
            data={
                "text/plain": repr(secret),
                "text/html": f"<b>{html.escape(secret)}</b>",
                "application/json": {"key": secret, secret: [1, secret]},
                "image/png": "iVBORw0KGgo=",
            },
            metadata={"image/png": {"alt": secret}},
            execution_count=1,
        ),
        nbformat.v4.new_output("display_data", data={"text/markdown": f"`{secret}`"}),
        nbformat.v4.new_output(
            "error", ename=f"Error{secret}", evalue=secret, traceback=[f"\x1b[31m{secret}\x1b[0m"]
        ),
    ]
    cell = nbformat.v4.new_code_cell("print(os.environ['TOKEN'])", outputs=outputs)
    cell.metadata["papermill"] = {"exception": True, "note": secret}
    widgets = {"application/vnd.jupyter.widget-state+json": {"state": {"m": {"value": secret}}}}
    return nbformat.v4.new_notebook(cells=[cell], metadata={"widgets": widgets})


def assert_gone(secret: str, written: str) -> None:
    """Neither the written text nor any form it decodes to holds the secret."""
    assert secret not in written
    for name, (encode, _) in ENCODINGS.items():
        form = encode(secret)
        inner = form[1:-1] if name in ("json", "json-unicode", "repr", "ascii") else form
        assert inner not in written, name


@PROPERTY
@given(secret=SECRET, before=AROUND, after=AROUND)
def test_every_encoding_of_a_secret_in_text_is_redacted(
    secret: str, before: str, after: str
) -> None:
    redactor = Redactor([secret])
    for name, (encode, decode) in ENCODINGS.items():
        written = encode(f"{before}{secret}{after}")
        clean = redactor.text(written)
        assert secret not in clean, name
        try:
            decoded = decode(clean)
        except ValueError:  # the mark may replace a quote the encoding needed: still no leak
            decoded = clean
        assert secret not in decoded, name


def part_of_the_format(secret: str) -> bool:
    """A secret that the notebook format itself holds ("outp", 'out"', "text") cannot be
    told apart from it, like a secret shorter than MIN_REDACTED."""
    background = nbformat.writes(notebook_with("\x00" * MIN_REDACTED))
    if any(secret in key for key in FORMAT_KEYS) or MIME.fullmatch(secret):
        return True  # as a key (the test uses it as one), it is kept
    return any(
        form in background
        for form in (secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1])
    )


@PROPERTY
@given(secret=st.one_of(SECRET, MULTILINE))
def test_a_notebook_redacted_before_serialising_holds_no_form_of_the_secret(secret: str) -> None:
    assume(not part_of_the_format(secret))
    nb = notebook_with(secret)
    redactor = Redactor([secret])
    clean = redactor.value(nb)
    text = nbformat.writes(nbformat.from_dict(clean))
    assert_gone(secret, text)
    assert_gone(secret, html.unescape(text))
    read = json.loads(text)
    for s in strings(read):
        assert secret not in s and secret not in html.unescape(s)
    stdout = "".join("".join(o.get("text", "")) for o in read["cells"][0]["outputs"])
    assert secret not in stdout and MARK in stdout  # still useful: the mark in its place
    assert nb.cells[0].outputs[0].text == f"token: {secret}\n"  # the live notebook is untouched


@PROPERTY
@given(secret=st.one_of(SECRET, MULTILINE), before=AROUND)
def test_a_notebook_written_first_is_redacted_in_its_text(secret: str, before: str) -> None:
    """The text guard alone on nbformat's line-split JSON (and on plain JSON, with and
    without \\uXXXX escapes): no form left, still valid JSON."""
    nb = notebook_with(before + secret)
    redactor = Redactor([secret])
    for text in (nbformat.writes(nb), json.dumps(nb), json.dumps(nb, ensure_ascii=False)):
        clean = redactor.json_text(text)
        # Checked on the strings: a secret such as "null" or "1234" is JSON syntax there.
        for s in strings(json.loads(clean)):
            assert_gone(secret, s)


@PROPERTY
@given(secrets=st.lists(SECRET, min_size=1, max_size=3), data=st.data())
def test_several_secrets_and_the_bytes_of_a_log(secrets: list[str], data: st.DataObject) -> None:
    redactor = Redactor(secrets)
    pieces = data.draw(st.lists(st.sampled_from(secrets) | AROUND, max_size=8))
    log = "\n".join(pieces).encode("utf-8") + b"\xff\xfe"  # no secret holds these
    clean = redactor.bytes(log)
    assert clean.endswith(b"\xff\xfe")  # undecodable bytes kept as they were
    text = clean.decode("utf-8", "replace")
    for secret in secrets:
        assert secret not in text


def test_a_secret_that_looks_like_an_escape_leaves_the_json_valid() -> None:
    """Found by hypothesis: "0000" after "\\x80" matched across the escape \\u0080."""
    for secret, before in (("0000", "\x80"), ("u0080", "\x80"), ("n\\u00e9", "\n")):
        redactor = Redactor([secret])
        text = json.dumps({"k": [before + secret, before]}, indent=1)
        clean = json.loads(redactor.json_text(text))
        assert all(secret not in s for s in strings(clean)) and MARK in clean["k"][0]
        assert clean["k"][1] == before


def test_the_mark_cannot_recreate_a_secret_made_of_its_own_characters() -> None:
    for secret in ("secr", "t][s", "[secret]", "]]]]", "et][sec"):
        redactor = Redactor([secret])
        for text in (secret, secret * 3, f"[{secret}]", f"t]{secret}[s"):
            assert secret not in redactor.text(text), (secret, text)


def test_short_secrets_are_not_redacted_and_text_without_secrets_is_kept() -> None:
    assert not Redactor(["abc"])
    assert Redactor(["abc"]).text("abc abc") == "abc abc"
    redactor = Redactor(["hunter2-token"])
    assert redactor.text("nothing here") == "nothing here"
    assert redactor.text("pw=hunter2-token;") == f"pw={MARK};"


def test_a_pem_key_printed_and_written_by_nbformat_comes_out_as_one_mark() -> None:
    body = ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC" + str(i) for i in range(4)]
    pem = "\n".join(["-----BEGIN PRIVATE KEY-----", *body, "-----END PRIVATE KEY-----"])
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("stream", text=pem)])]
    )
    text = nbformat.writes(nb)
    assert pem not in text and json.dumps(pem) not in text  # hence the old leak
    clean = Redactor([pem]).text(text)
    assert body[0] not in clean
    assert "".join(json.loads(clean)["cells"][0]["outputs"][0]["text"]) == MARK
