"""Reporting half of the worker wrapper, shipped next to it as ``condor_nb_report.py``.

The environment manifest (Python, platform, host, package versions, versions of what the
notebook imports), the HTML report (nbconvert, or a standard-library page when nbconvert
is missing or fails), the error banners in a notebook that stopped, and live progress
through condor_chirp. run.py loads this file by path; without it the job still runs and
the result file is complete, but the manifest and the HTML stay placeholders.
Same rules as run.py: standard library (+ nbformat/nbconvert/papermill, lazily), never
condor_nb, Python >= 3.9.

Live progress: with an I/O proxy (``+WantIOProxy = true`` in the submit description sets
_CONDOR_CHIRP_CONFIG) and condor_chirp found (PATH, next to $_CONDOR_BIN, or HTCondor's
libexec; without it, as in most container images, the Chirp protocol is spoken here
over a socket), the job attribute CondorNbLive carries the running cell (number, first
source line, start time) and the tail of the output (contract: LIVE_ATTR), base64-encoded
JSON, with an immediate ``condor_chirp set_job_attr`` (the shadow writes it to the
schedd's job ad at once), at most once every 10 s: the first change after a quiet 10 s
is sent right away, later ones are coalesced and the latest state is sent when the 10 s
are up. Never ``set_job_attr_delayed``: HTCondor drops delayed updates whose name does
not match CHIRP_DELAYED_UPDATE_PREFIX (``Chirp*``) and sends the others only with the
starter's periodic update (STARTER_UPDATE_INTERVAL, 300 s by default). The condor_chirp
child process is never waited for. See docs/developers.md, "Live progress".
"""

from __future__ import annotations

import ast
import base64
import contextlib
import functools
import html
import json
import os
import platform
import re
import runpy
import shutil
import socket
import subprocess
import sys
import threading
import time
from types import SimpleNamespace
from typing import Any

# The names shared with condor_nb (condor_nb/contract/names.py, shipped beside this file).
SHIPPED = os.path.basename(__file__).startswith("condor_nb_")  # else: in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
CONTRACT = os.path.join(HERE, "condor_nb_contract.py" if SHIPPED else "../contract/names.py")
C = SimpleNamespace(**runpy.run_path(CONTRACT))

PACKAGES = ("papermill", "nbclient", "ipykernel", "nbformat", "nbconvert", "jupyter_client")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
MAX_OUTPUT_CHARS = 20000
LIVE_ATTR = C.LIVE_ATTR
CHIRP_EVERY_S = C.LIVE_EVERY_S  # at most one job-ad update per job per this many seconds
LIVE_TAIL_BYTES = C.LIVE_TAIL_BYTES
# The JSON's bound: the tail, the source line (4 bytes a character at worst) and the
# rest; base64 makes it 4/3 bigger: at most 3.4 KB (HTCondor 23.9's Chirp proxy takes it;
# one that refuses it gets LIVE_SMALL_TAIL_BYTES from then on).
LIVE_JSON_BYTES = LIVE_TAIL_BYTES + 4 * C.LIVE_SOURCE_CHARS + 256
# Any ANSI escape: CSI (colours, cursor), OSC (titles, links; ended by BEL or ST), others.
ANSI_ANY = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
CHIRP_ERROR_TOO_BIG = -5  # the Chirp proxy's answer to a line longer than it takes
LIVE_SMALL_TAIL_BYTES = 200  # then: the whole command within a 1024-byte line
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
CHIRP_LIBEXEC = "/usr/libexec/condor/condor_chirp"  # Debian, Ubuntu, RHEL packages
CHIRP_OTHER_PLACES = ("/usr/lib/condor/libexec/condor_chirp",)  # tarball-style layouts
#: condor_nb.record() for workers without condor_nb (run.py's enable_recording writes it).
RECORD_HELPER = os.path.join(C.RECORD_STUB_DIR, "condor_nb", "__init__.py")
#: Where condor_nb_executor.py extracts the shipped papermill & co.: on the wrapper's
#: sys.path only, never the kernel's, so the notebook's imports are looked up without it.
SHIPPED_DIR = C.EXECUTOR_EXTRACT_DIR


def find_chirp() -> str | None:
    """condor_chirp on the worker. The starter puts neither it nor libexec on PATH, but
    sets _CONDOR_BIN (e.g. /usr/bin), whose sibling libexec/condor holds it."""
    found = shutil.which("condor_chirp")
    if found:
        return found
    places = [CHIRP_LIBEXEC, *CHIRP_OTHER_PLACES]
    bin_dir = os.environ.get("_CONDOR_BIN")
    if bin_dir:
        prefix = os.path.dirname(os.path.normpath(bin_dir))
        places.insert(0, os.path.join(prefix, "libexec", "condor", "condor_chirp"))
    return next((p for p in places if os.access(p, os.X_OK)), None)


def chirp_escape(text: str) -> str:
    """A word of the Chirp protocol: backslash before backslash, space, tab, CR, LF."""
    return re.sub(r"([\\ \t\r\n])", r"\\\1", text)


def chirp_set_job_attr(name: str, expr: str, timeout: float = 10.0) -> int:
    """``set_job_attr`` spoken directly to the starter's Chirp proxy (no condor_chirp
    needed: container images rarely have it). The proxy's address and cookie are in
    $_CONDOR_CHIRP_CONFIG ("host port cookie"). Returns the server's code (0: done)."""
    with open(os.environ["_CONDOR_CHIRP_CONFIG"], encoding="utf-8") as fh:
        host, port, cookie = fh.read().split()[:3]
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        reader = sock.makefile("rb")

        def command(line: str) -> int:
            sock.sendall(line.encode() + b"\n")
            return int(reader.readline(1024).strip() or b"-127")

        if command(f"cookie {cookie}") != 0:
            return -1
        return command(f"set_job_attr {chirp_escape(name)} {chirp_escape(expr)}")


class Chirp:
    """Best-effort live progress and output through Chirp; a silent no-op outside HTCondor.

    What is known (the running cell, the tail of the output, the outcome) goes into one
    job attribute, LIVE_ATTR, in one ``set_job_attr``: at most one update every
    ``every`` seconds; what comes sooner is kept and the latest state is sent when the
    time is up (a timer thread), an unchanged value never.
    """

    def __init__(self, every: float = CHIRP_EVERY_S) -> None:
        config = os.environ.get("_CONDOR_CHIRP_CONFIG")
        # condor_chirp when present, else the protocol spoken here ("socket").
        self.exe = (find_chirp() or "socket") if config and os.path.isfile(config) else None
        self.thread: threading.Thread | None = None
        self.every = every
        self.last = time.monotonic() - every
        self.sent: str | None = None
        self.pending = False
        self.proc: subprocess.Popen[bytes] | None = None
        self.timer: threading.Timer | None = None
        self.lock = threading.Lock()
        self.state: dict[str, Any] = {"n": 0, "o": ""}
        #: Applied to the whole tail before each update (a secret printed in two writes).
        self.redact: Any = None
        #: Bytes of output tail sent; smaller if a Chirp proxy refuses the line as too big.
        self.tail_bytes = LIVE_TAIL_BYTES
        self.seen: tuple[int, int] = (-1, 0)  # (cell index, outputs already taken from it)

    # -- what the wrapper tells ------------------------------------------------------
    def cell_start(self, number: int, total: int, source: str) -> None:
        """The user's code cell ``number`` (1-based; 0: the injected parameters) starts."""
        src = first_line(source)
        self._change(c=number, of=total, src=src, t=int(time.time()))

    def output(self, text: str) -> None:
        """Text the notebook produced (already redacted): kept as a bounded tail."""
        if not self.exe:
            return
        clean = clean_output(text)
        if not clean:
            return
        with self.lock:
            self.state["n"] += len(clean)
            self.state["o"] = (self.state["o"] + clean)[-LIVE_TAIL_BYTES:]
        self._change()

    def cell_outputs(self, index: int, outputs: list[Any], redact: Any = None) -> None:
        """The non-stream outputs of the running cell (results, displays, errors) not
        yet taken; the stream outputs come through LiveTee."""
        if not self.exe:
            return
        seen_index, seen = self.seen
        if seen_index != index or len(outputs) < seen:  # another cell, or a clear_output
            seen = 0
        self.seen = (index, len(outputs))
        for out in outputs[seen:]:
            kind = out.get("output_type")
            if kind == "error":
                text = f"{out.get('ename', '')}: {out.get('evalue', '')}"
            elif kind in ("execute_result", "display_data"):
                text = out.get("data", {}).get("text/plain", "")
                text = "".join(text) if isinstance(text, list) else str(text)
            else:
                continue
            text = text if text.endswith("\n") else text + "\n"
            self.output(redact(text) if redact else text)

    def finish(self, outcome: str) -> None:
        """The notebook ended: send now if allowed, else not at all (its status says it)."""
        self._change(force=True, end=outcome)

    # -- sending -------------------------------------------------------------------
    def _change(self, force: bool = False, **fields: Any) -> None:
        if not self.exe:
            return
        with self.lock:
            self.state.update(fields)
            self.pending = True
            if self._due():
                self._send()
            elif force:
                self.pending = False
            elif self.timer is None:
                self._arm()

    def _due(self) -> bool:
        busy = (self.proc is not None and self.proc.poll() is None) or (
            self.thread is not None and self.thread.is_alive()
        )
        return not busy and time.monotonic() - self.last >= self.every

    def _arm(self) -> None:
        wait = max(0.2, self.last + self.every - time.monotonic())
        self.timer = threading.Timer(wait, self._flush)
        self.timer.daemon = True
        self.timer.start()

    def _flush(self) -> None:
        with self.lock:
            self.timer = None
            if not self.pending:
                return
            if self._due():
                self._send()
            else:
                self._arm()  # the last update still runs: try again shortly

    def _send(self) -> None:
        self.pending = False
        if self.proc is not None and self.proc.poll() not in (None, 0):
            self.tail_bytes = LIVE_SMALL_TAIL_BYTES  # condor_chirp failed: maybe too big
        state = self.state
        if self.redact is not None:
            state = dict(state, o=self.redact(state["o"]))
        value = encode_live(state, self.tail_bytes)
        if value == self.sent or not self.exe:
            return
        self.last, self.sent = time.monotonic(), value
        expr = f'"{value}"'  # base64 and the prefix: nothing to escape in a ClassAd string
        if self.exe == "socket":
            args = (LIVE_ATTR, expr)
            self.thread = threading.Thread(target=self._socket_send, args=args, daemon=True)
            self.thread.start()
            return
        cmd = [self.exe, "set_job_attr", LIVE_ATTR, expr]
        devnull = subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(cmd, stdin=devnull, stdout=devnull, stderr=devnull)
        except OSError:
            self.exe = None

    def _socket_send(self, name: str, expr: str) -> None:
        try:
            code = chirp_set_job_attr(name, expr)
        except (OSError, ValueError):
            self.exe = None  # no proxy after all: stop trying
            return
        if code == CHIRP_ERROR_TOO_BIG and self.tail_bytes > LIVE_SMALL_TAIL_BYTES:
            with self.lock:  # a proxy with a shorter line limit: a smaller tail from now on
                self.tail_bytes, self.sent = LIVE_SMALL_TAIL_BYTES, None
            self._change()


class LiveTee:
    """The stream papermill writes the cells' stdout/stderr to, also fed to the Chirp
    tail (redacted with ``redact`` first)."""

    def __init__(self, stream: Any, chirp: Chirp, redact: Any) -> None:
        self._stream, self._chirp, self._redact = stream, chirp, redact

    def write(self, text: str) -> int:
        written = int(self._stream.write(text))
        # The live tail is best effort; the log file is what counts.
        with contextlib.suppress(Exception):
            self._chirp.output(self._redact(text))
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def user_cell(nb: Any, index: int) -> tuple[int, int]:
    """(number, total) of the code cell at ``index`` as the user counts them: 1-based,
    the parameters cell papermill injected not counted (it is number 0)."""
    number = total = 0
    for at, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        injected = "injected-parameters" in cell.get("metadata", {}).get("tags", [])
        if not injected:
            total += 1
        if at == index:
            number = 0 if injected else total
    return number, total


def first_line(source: Any) -> str:
    """The first non-blank source line, cleaned and cut to LIVE_SOURCE_CHARS."""
    text = "".join(source) if isinstance(source, list) else str(source or "")
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    line = clean_output(line).replace("\n", " ").replace("\t", " ")
    cut = C.LIVE_SOURCE_CHARS
    return line if len(line) <= cut else line[: cut - 3] + "..."


def clean_output(text: str) -> str:
    """Printable text: ANSI escapes, NULs and other control characters out (newlines and
    tabs kept, a lone carriage return becomes a newline), no lone surrogates."""
    text = ANSI_ANY.sub("", str(text)).replace("\r\n", "\n").replace("\r", "\n")
    text = CONTROL.sub("", text)
    return text.encode("utf-8", "replace").decode("utf-8")


def encode_live(state: dict[str, Any], tail_bytes: int = LIVE_TAIL_BYTES) -> str:
    """LIVE_PREFIX + base64 of the compact JSON, its tail cut so the JSON stays within
    ``tail_bytes`` + the rest (quotes and backslashes in the tail grow when escaped)."""
    data = dict(state)
    tail = str(data.get("o", "")).encode("utf-8")[-tail_bytes:]
    data["o"] = tail.decode("utf-8", "ignore")  # a character cut in two goes
    bound = LIVE_JSON_BYTES - LIVE_TAIL_BYTES + tail_bytes
    while True:
        blob = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(blob) <= bound or not data["o"]:
            break
        data["o"] = data["o"][len(data["o"]) // 4 + 1 :]
    return str(C.LIVE_PREFIX) + base64.b64encode(blob).decode("ascii")


@functools.lru_cache(maxsize=None)  # noqa: UP033 (Python 3.8+ on the worker)
def dist_version(name: str) -> str | None:
    """Installed version of a distribution (cached: the submit side asks at every submit)."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except Exception:
        return None


def imported_modules(nb: Any) -> list[str]:
    """Top-level modules the notebook's code cells import (parsed with ast, never imported)."""
    found: set[str] = set()
    for cell in nb.get("cells", []):
        src = str(cell.get("source", ""))
        if cell.get("cell_type") != "code" or src.startswith("%%"):
            continue
        src = re.sub(r"(?m)^(\s*)[%!].*$", r"\1pass", src)  # line magics and shell escapes
        try:
            for node in ast.walk(ast.parse(src)):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module.split(".")[0])
        except (SyntaxError, ValueError):
            found.update(re.findall(r"(?m)^\s*(?:from|import)\s+([A-Za-z_]\w*)", src))
    return sorted(found)


def _uncached_version(name: str) -> str | None:
    """dist_version without its cache (the cache holds what the wrapper itself sees)."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except Exception:
        return None


@functools.lru_cache(maxsize=1)
def _packages_distributions() -> dict[str, list[str]]:
    """Module -> distributions; scanning every installed package is slow, so once."""
    from importlib import metadata

    return dict(getattr(metadata, "packages_distributions", dict)())


def is_stdlib(module: str) -> bool:
    """Part of this Python's standard library? (sys.stdlib_module_names is 3.10+; before,
    a module found under the stdlib folder, outside site-packages.)"""
    if module in sys.builtin_module_names:
        return True
    names = getattr(sys, "stdlib_module_names", None)
    if names is not None:
        return module in names
    import importlib.util
    import sysconfig

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    where = (spec and (spec.origin or next(iter(spec.submodule_search_locations or []), ""))) or ""
    roots = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib")}
    inside = any(where.startswith(os.path.join(root, "")) for root in roots)
    return inside and "site-packages" not in where and "dist-packages" not in where


def module_versions(modules: list[str]) -> dict[str, Any]:
    """module -> {"distributions": {name: version}, "version"}, or {"stdlib": true}.

    Looked up in the wrapper's Python (sys.executable), the kernel's unless the notebook
    asked for another kernel; a module next to the notebook is flagged "local_file", and
    condor_nb, when only the record() helper shipped with the job provides it, "helper".
    """

    saved = sys.path[:]
    sys.path[:] = [p for p in saved if SHIPPED_DIR not in p.split(os.sep)]
    try:
        return _module_versions(modules, shipped=len(sys.path) != len(saved))
    finally:
        sys.path[:] = saved


def _module_versions(modules: list[str], shipped: bool) -> dict[str, Any]:
    from importlib import metadata

    stdlib = {m for m in modules if is_stdlib(m)}
    others = [m for m in modules if m not in stdlib]
    mapping: dict[str, list[str]] = {}
    if others:  # packages_distributions is 3.10+; on 3.9 a module is looked up by its name
        getter = getattr(metadata, "packages_distributions", dict)
        mapping = dict(getter()) if shipped else _packages_distributions()
    lookup = _uncached_version if shipped else dist_version
    out: dict[str, Any] = {m: {"stdlib": True} for m in modules if m in stdlib}
    for mod in others:
        dists = dict.fromkeys(mapping.get(mod) or [mod])
        versions = {d: v for d in dists if (v := lookup(d)) is not None}
        out[mod] = {"distributions": versions, "version": next(iter(versions.values()), None)}
        if os.path.exists(f"{mod}.py") or os.path.isdir(mod):
            out[mod]["local_file"] = True
        if mod == "condor_nb" and not versions and os.path.isfile(RECORD_HELPER):
            out[mod]["helper"] = "condor_nb.record() shipped with the job"
    return out


def start_manifest(nb: Any, job_id: str) -> dict[str, Any]:
    """What is known before execution; ``complete`` becomes true in finish_manifest."""
    return {
        "job_id": job_id,
        "complete": False,
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "packages": {name: dist_version(name) for name in PACKAGES},
        "imports": module_versions(imported_modules(nb)) if nb is not None else {},
        "versions_from": sys.executable,
        "kernel": None,
    }


def finish_manifest(manifest: dict[str, Any], nb: Any, kernel: dict[str, Any]) -> dict[str, Any]:
    """Add the kernel (requested, used, fallback) and its language from the executed notebook."""
    meta = nb.get("metadata", {})
    info, spec = meta.get("language_info", {}), meta.get("kernelspec", {})
    language = info.get("name") or spec.get("language")
    kernel = dict(kernel, language=language, language_version=info.get("version"))
    return dict(manifest, kernel=kernel, complete=True)


def output_text(output: dict[str, Any]) -> str:
    text = output.get("text") or output.get("data", {}).get("text/plain") or output.get("traceback")
    text = "".join(text) if isinstance(text, list) else str(text or "")
    return ANSI.sub("", text)[:MAX_OUTPUT_CHARS]


def simple_html(result: dict[str, Any], nb: Any) -> str:
    """Standard-library report: the outcome, the error, every cell's source and text outputs."""
    esc, err = html.escape, result.get("error") or {}
    parts = [
        f"<h1>condor_nb job {esc(str(result['job_id']))}: {esc(result['outcome'])}</h1>",
        f"<p>{result['cells_executed']}/{result['cells_total']} code cells run in "
        f"{result['duration_s']} s; exit code {result['exit_code']}</p>",
    ]
    if result.get("failure"):
        parts.append(f"<h2>{esc(str(result['failure'].get('summary', '')))}</h2>")
    if err:
        trace = esc(ANSI.sub("", "\n".join(err.get("traceback") or [])))
        parts.append(f"<h2>{esc(err['name'])}: {esc(str(err['value']))}</h2><pre>{trace}</pre>")
    for index, cell in enumerate(nb.get("cells", [])):
        box = "2px solid red" if index == result.get("failed_cell") else "1px solid #ccc"
        parts.append(f"<pre style='border:{box}'>{esc(str(cell.get('source', '')))}</pre>")
        for output in cell.get("outputs", []):
            parts.append(f"<pre style='color:#555'>{esc(output_text(output))}</pre>")
    head = "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>condor_nb report</title>"
    return head + "</head><body>\n" + "\n".join(parts) + "\n</body></html>\n"


def nbconvert_html(nb: Any) -> str:
    from nbconvert import HTMLExporter

    body: str = HTMLExporter().from_notebook_node(nb)[0]
    return body


BANNER_TAG = "papermill-error-cell-tag"  # papermill's ERROR_MARKER_TAG (a rerun drops these)
BANNER_STYLE = "color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif; font-size:2em;"


def number_banner(nb: Any, index: int, failure: dict[str, Any]) -> None:
    """Papermill's banner at the top says "In [n]" (the kernel's execution count, which
    counts the parameters papermill injected): say the cell as the user counts it, and
    the one-line failure summary, instead. Changes no cell but the banner."""
    cell = failure.get("cell")
    where = f"cell {cell}" if cell is not None else "the injected parameters cell"
    text = (
        f'<span style="{BANNER_STYLE}">An Exception was encountered at '
        f"'<a href=\"#papermill-error-cell\">{where}</a>'.</span>\n\n"
        f"<pre>{html.escape(str(failure.get('summary', '')))}</pre>"
    )
    for each in nb.cells[:index]:  # the banner links to the anchor (the cell before it)
        tags = each.get("metadata", {}).get("tags", [])
        if BANNER_TAG in tags and 'href="#papermill-error-cell"' in str(each.get("source")):
            each["source"] = text
            return


def annotate_failed_cell(nb: Any, index: int, name: str, message: str) -> int:
    """Show the error in the cell and add papermill's banners; return the cell's new index."""
    import nbformat
    from papermill.execute import ERROR_ANCHOR_MSG, ERROR_MARKER_TAG, ERROR_MESSAGE_TEMPLATE

    cell = nb.cells[index]
    error = nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[message])
    cell.outputs.append(error)
    cell.metadata.setdefault("papermill", {}).update(status="failed", exception=True)
    banner = ERROR_MESSAGE_TEMPLATE % cell.get("execution_count")
    for at, text in ((index, ERROR_ANCHOR_MSG), (0, banner)):  # papermill removes these on a rerun
        tags = {"tags": [ERROR_MARKER_TAG]}
        nb.cells.insert(at, nbformat.v4.new_markdown_cell(text, metadata=tags))
    return index + 2
