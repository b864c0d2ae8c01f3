#!/usr/bin/env python3
"""condor_nb job wrapper, run ON THE WORKER as ``python3 condor_nb_run.py`` in the scratch dir.

Reads condor_nb_job.json, runs the notebook with papermill and ALWAYS leaves four files:
the executed notebook (partial on failure), an HTML report, a result file and an
environment manifest; the exit code is the outcome (EXIT_CODES). SIGTERM (eviction,
condor_rm, wall-time limit) saves what has run so far and exits 8. The manifest, the HTML,
error banners and live progress come from condor_nb_report.py, shipped alongside.
Standard library + papermill/nbclient/nbformat/nbconvert only, never condor_nb; Python >= 3.9.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import runpy
import signal
import sys
import time
import traceback
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

# The names shared with condor_nb (condor_nb/contract/names.py, shipped beside this file).
SHIPPED = os.path.basename(__file__).startswith("condor_nb_")  # else: in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
CONTRACT = os.path.join(HERE, "condor_nb_contract.py" if SHIPPED else "../contract/names.py")
C = SimpleNamespace(**runpy.run_path(CONTRACT))
JOB_JSON, SECRETS_JSON, SECRETS_GONE, VALUES_JSON = (
    C.JOB_JSON,
    C.SECRETS_JSON,
    C.SECRETS_GONE,
    C.VALUES_JSON,
)
OUTPUT_NOTEBOOK, REPORT_HTML, RESULT_JSON = C.OUTPUT_NOTEBOOK, C.REPORT_HTML, C.RESULT_JSON
MANIFEST_JSON, OUTPUT_FILES, EXIT_CODES = C.MANIFEST_JSON, C.OUTPUT_FILES, C.EXIT_CODES
REPORT_MODULE = C.REPORT_NAME  # shipped next to this file; see load_report()
REDACT_MODULE = C.REDACT_NAME  # the same, for load_secrets()
EXECUTOR_MODULE = C.EXECUTOR_MODULE_NAME  # the worker's papermill or the shipped one
RECORDING_MODULE = C.RECORDING_NAME  # condor_nb.record() for workers without condor_nb
NOTIFY_MODULE = C.NOTIFY_NAME  # tells the --notify targets; see send_notifications()
FALLBACK_KERNEL = "python3"
NEEDS = "use an image (or a Python) with ipykernel installed (condor_nb brings papermill)"
SHUTDOWN_WAIT_S = 2.0  # graceful kernel shutdown budget (jupyter_client's default: 5 s)
KERNEL_DIED = (
    "The kernel died while running this cell. Most likely it ran out of memory (ask for "
    "more with request_memory); a crash in native code or os._exit() also does this."
)
JOB_KEYS: dict[str, tuple[tuple[type, ...], Any]] = {  # key: (accepted types, default)
    "parameters": ((dict,), {}),
    "kernel": ((str, type(None)), None),
    "cell_timeout": ((int, float, type(None)), None),
    "wall_time": ((int, float, type(None)), None),
    "autosave_seconds": ((int, float), 30),
    "report": ((bool,), True),
    "job_id": ((str, int), ""),
    "log_output": ((bool,), True),
    "name": ((str,), ""),
    "notify": ((list,), []),
}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class InputError(Exception):
    """The job file, the notebook or the worker's environment cannot run this job (exit 6)."""


class State:
    """Everything known about the run so far: the finishing code and the SIGTERM handler read it."""

    def __init__(self) -> None:
        self.t0, self.started_at = time.monotonic(), utc_now()
        self.job: dict[str, Any] = {"job_id": "", "report": True}
        self.input_nb: Any = None
        self.nb: Any = None  # the live notebook papermill is executing
        self.cell_index: int | None = None  # last code cell started, index in self.nb.cells
        self.cell_running = False
        self.code_done = self.code_total = 0
        self.kernel: dict[str, Any] = {}
        self.km: Any = None  # the kernel manager, to kill the kernel on SIGTERM
        self.manifest: dict[str, Any] = {}
        self.report: Any = None  # the condor_nb_report module
        self.chirp: Any = None  # its progress reporter
        self.finalizing = False
        self.redactor: Any = None  # condor_nb_redact.Redactor of the secrets; see load_secrets()
        self.had_secrets = False
        self.executor: dict[str, Any] = {}  # which papermill runs: see choose_executor()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


STATE = State()


def say(msg: str, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(f"condor_nb: {msg}\n")
    stream.flush()


def redact(text: str) -> str:
    """Every written form of every secret (see condor_nb_redact.py) becomes [secret]."""
    return STATE.redactor.text(text) if STATE.redactor else text


def redacted(obj: Any) -> Any:
    """A copy of a JSON-like structure (a notebook...) with every secret redacted."""
    return STATE.redactor.value(obj) if STATE.redactor else obj


class RedactingStream:
    """stdout/stderr, with the secrets taken out of what the notebook prints."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return int(self._stream.write(redact(text)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def load_secrets() -> None:
    """Secrets become the kernel's environment variables; their file is deleted at once."""
    if not os.path.isfile(SECRETS_JSON):
        return
    try:
        with open(SECRETS_JSON, encoding="utf-8") as f:
            secrets = json.load(f)
    finally:
        os.remove(SECRETS_JSON)
    if not isinstance(secrets, dict):
        raise InputError(f"{SECRETS_JSON} must map names to values")
    if secrets.get("_condor_nb") == SECRETS_GONE:
        raise InputError(f"{SECRETS_JSON}: the secrets were {SECRETS_GONE}; submit the job again")
    STATE.had_secrets = True
    try:
        module = load_report("redact.py", REDACT_MODULE)
    except Exception as exc:  # never run a notebook whose secrets cannot be redacted
        raise InputError(f"cannot redact the secrets: {exc}") from None
    for name, value in secrets.items():
        os.environ[str(name)] = str(value)
        if len(str(value)) < module.MIN_REDACTED:
            say(f"WARNING secret {name} is too short to be redacted from the outputs", True)
    STATE.redactor = module.Redactor(str(value) for value in secrets.values())
    sys.stdout, sys.stderr = RedactingStream(sys.stdout), RedactingStream(sys.stderr)


def write_atomic(path: str, text: str) -> None:
    if STATE.redactor:  # the last guard; structures were redacted before (see redacted())
        is_json = path.endswith((".json", ".ipynb"))
        text = STATE.redactor.json_text(text) if is_json else STATE.redactor.text(text)
    attempt(f"keep the notebook's {path!r} apart", keep_notebook_file, path)
    with open(f".{path}.tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(f".{path}.tmp", path)
    remember_own_file(path)


def write_json(path: str, data: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(redacted(data), indent=1, default=str) + "\n")


def attempt(what: str, fn: Any, *args: Any) -> Any:
    """Run one step; a failure is reported on stderr and never stops the steps after it."""
    try:
        return fn(*args)
    except Exception as exc:
        say(f"could not {what}: {type(exc).__name__}: {exc}", err=True)
        return None


def dist_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except Exception:
        return None


# ------------------------------------------------------------------------------------ inputs
def load_job(path: str = JOB_JSON) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError:
        raise InputError(f"{path} is missing from the job directory {os.getcwd()}") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("notebook"), str) or not raw["notebook"]:
        raise InputError(f"{path} must be an object with a 'notebook' file name: {raw!r:.200}")
    job = {"notebook": raw["notebook"]}
    for key, (types, default) in JOB_KEYS.items():
        value = job[key] = raw.get(key, default)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise InputError(f"{path}: '{key}' must be {names}, got {value!r:.200}")
    for key in ("cell_timeout", "wall_time"):
        if job[key] is not None and not 0 < job[key] < 2**31:  # alarm() takes a C int
            raise InputError(f"{path}: '{key}' must be a number of seconds in (0, 2**31), or null")
    job["job_id"] = str(job["job_id"])
    return job


def load_notebook(name: str) -> Any:
    if name in OUTPUT_FILES:
        raise InputError(f"the input notebook may not be called {name!r} (an output file name)")
    if not os.path.isfile(name):
        present = ", ".join(sorted(os.listdir("."))[:30])
        raise InputError(f"notebook {name!r} is not in the job directory (present: {present})")
    try:
        with open(name, encoding="utf-8") as f:
            text = f.read()
        raw = json.loads(text)
    except (OSError, ValueError) as exc:
        raise InputError(f"{name!r} is not a Jupyter notebook (not JSON text): {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("nbformat"), int):
        raise InputError(f"{name!r} is JSON but not a Jupyter notebook (no 'nbformat' version)")
    import nbformat

    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:
        raise InputError(f"{name!r} is not a valid notebook: {type(exc).__name__}: {exc}") from None
    if not isinstance(nb.get("cells"), list):
        raise InputError(f"{name!r} is not a valid notebook: it has no list of cells")
    return nb


def message_notebook(text: str) -> dict[str, Any]:
    cell = {"cell_type": "markdown", "id": "condor-nb-message", "metadata": {}, "source": text}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}


def own_executable() -> None:
    """Set sys.executable when Python left it empty: started by name (``env python3``)
    with no PATH, as HTCondor starts jobs. jupyter_client starts a kernelspec whose argv
    says ``python`` (pip's ipykernel installs it so) as sys.executable, and the manifest
    records it: empty, the kernel cannot start and the worker's Python is unknown."""
    if sys.executable or not os.path.exists("/proc/self/exe"):
        return
    real = os.path.realpath("/proc/self/exe")
    major, minor = sys.version_info[:2]
    names = (f"python{major}", f"python{major}.{minor}", "python")
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):  # where `env` looks without PATH
        for name in names:
            if os.path.realpath(os.path.join(folder, name)) == real:
                sys.executable = os.path.join(folder, name)
                return
    sys.executable = real


def load_report(source: str = "report.py", shipped: str = REPORT_MODULE) -> Any:
    """condor_nb_report.py next to this file (report.py in the source tree), loaded by path."""
    import importlib.util

    here = os.path.abspath(__file__)
    name = source if os.path.basename(here) == "run.py" else shipped
    path = os.path.join(os.path.dirname(here), name)
    spec = importlib.util.spec_from_file_location(shipped[:-3], path)
    if spec is None or spec.loader is None or not os.path.isfile(path):
        raise ImportError(f"{path} is missing: ship it with {os.path.basename(here)}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def choose_executor() -> None:
    """The worker's own papermill, or the one shipped with the job (condor_nb_executor.py)."""
    try:
        module = load_report("executor.py", EXECUTOR_MODULE)
    except ImportError:  # not shipped: the worker's papermill or bust
        STATE.executor = {"source": "worker"}
        return
    started = time.monotonic()
    STATE.executor = module.choose()
    # What setting up the executor cost this job (extracting and importing the shipped
    # one, or importing the worker's papermill): the shipped executor's overhead.
    STATE.executor["seconds"] = round(time.monotonic() - started, 3)
    if STATE.executor.get("error"):
        raise InputError(STATE.executor["error"])
    say(f"executor: the {STATE.executor['source']} papermill {STATE.executor.get('papermill')}")


# --------------------------------------------------------------------------------- execution
def resolve_kernel(job: dict[str, Any], nb: Any) -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    wanted = job["kernel"] or nb.metadata.get("kernelspec", {}).get("name") or FALLBACK_KERNEL
    specs = sorted(KernelSpecManager().find_kernel_specs())
    if job["kernel"] and wanted not in specs:  # asked for by name: never another one
        raise InputError(f"the kernel {wanted!r} asked for is not on this worker (found {specs})")
    used = wanted if wanted in specs else FALLBACK_KERNEL
    STATE.kernel = {"requested": wanted, "name": used, "fallback": used != wanted}
    if used not in specs:
        raise InputError(f"no Jupyter kernel {wanted!r} nor {used!r} (found {specs}): {NEEDS}")
    if used != wanted:
        say(
            f"WARNING kernel {wanted!r} is not on this worker (found {specs}); using {used!r}", True
        )
    return used


def kernel_manager_class() -> type:
    """AsyncKernelManager that records itself (to kill the kernel on SIGTERM), shorter shutdown."""
    from jupyter_client.manager import AsyncKernelManager

    class RecordedKernelManager(AsyncKernelManager):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**{"shutdown_wait_time": SHUTDOWN_WAIT_S, **kw})

        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            await super().start_kernel(**kw)
            STATE.km = self

    return RecordedKernelManager


def make_engine(job: dict[str, Any]) -> type:
    """A papermill engine that saves the notebook every autosave_seconds, not at every cell."""
    from papermill.engines import NBClientEngine, NotebookExecutionManager

    log = job["log_output"]

    class Manager(NotebookExecutionManager):  # type: ignore[misc]
        every = float(job["autosave_seconds"])  # 0: no periodic saves
        last_write, dirty, timer = time.monotonic(), False, None

        def save(self, **kw: Any) -> None:  # papermill: at every cell start and end, every output
            self.nb = STATE.nb = kw.get("nb") or self.nb  # type: ignore[has-type]
            self.dirty = True
            self.flush()

        def flush(self) -> None:
            if self.dirty and self.every > 0 and time.monotonic() - self.last_write >= self.every:
                self.write()

        def tick(self, loop: Any) -> None:
            """Every second on nbclient's event loop, so a long silent cell still gets saves."""
            self.timer = loop.call_later(1.0, self.tick, loop)
            attempt("save the partial notebook", self.flush)

        def write(self) -> None:
            begin = self.last_write = time.monotonic()
            self.dirty = False
            write_notebook(self.nb)
            if time.monotonic() - begin > self.every / 4:
                self.every *= 2  # like papermill: saving a huge notebook must not dominate

        def autosave_cell(self) -> None:
            self.save()
            if STATE.chirp and STATE.cell_running and STATE.cell_index is not None:
                cell = self.nb.cells[STATE.cell_index]
                STATE.chirp.cell_outputs(STATE.cell_index, cell.get("outputs", []), redact)

        def notebook_start(self, **kw: Any) -> None:
            super().notebook_start(**kw)
            STATE.code_total = sum(c.cell_type == "code" for c in self.nb.cells)
            self.write()  # the parameterized notebook, before any cell runs
            attempt("schedule periodic saves", self.start_ticks)

        def start_ticks(self) -> None:
            try:  # the loop nbclient's calls run on
                from jupyter_core.utils import ensure_event_loop
            except ImportError:  # jupyter_core < 5: nbclient < 0.8 runs on asyncio's own
                import asyncio

                self.tick(asyncio.get_event_loop())
                return
            self.tick(ensure_event_loop())

        def cell_start(self, cell: Any, cell_index: int | None = None, **kw: Any) -> None:
            super().cell_start(cell, cell_index, **kw)
            if cell.cell_type == "code":
                STATE.cell_index, STATE.cell_running = cell_index, True
                if log:
                    say(f"executing {cell_label(self.nb, cell_index, with_line=True)}")
                if STATE.chirp:
                    number, total = STATE.report.user_cell(self.nb, cell_index)
                    STATE.chirp.cell_start(number, total, redact(str(cell.source)))

        def cell_complete(self, cell: Any, cell_index: int | None = None, **kw: Any) -> None:
            super().cell_complete(cell, cell_index, **kw)
            if cell.cell_type == "code":
                STATE.cell_running, STATE.code_done = False, STATE.code_done + 1
                if log:
                    took, failed = cell.metadata.papermill.get("duration") or 0.0, "exception"
                    verb = "failed" if cell.metadata.papermill.get(failed) else "finished"
                    say(f"{verb} {cell_label(self.nb, cell_index)} in {took:.2f} s")

    class Engine(NBClientEngine):  # type: ignore[misc]
        @classmethod
        def execute_notebook(cls, nb: Any, kernel_name: str, **kwargs: Any) -> Any:
            for unused in ("output_path", "progress_bar", "log_output", "autosave_cell_every"):
                kwargs.pop(unused, None)
            nb_man = Manager(nb, progress_bar=False, autosave_cell_every=0)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=False, **kwargs)
            finally:
                timer = getattr(nb_man, "timer", None)
                if timer is not None:
                    timer.cancel()
                nb_man.notebook_complete()
                attempt("keep the notebook's own files", keep_notebook_file, OUTPUT_NOTEBOOK)
            return nb_man.nb

    return Engine


def execute(job: dict[str, Any], nb: Any) -> tuple[str, dict[str, Any] | None, int | None]:
    """Run the notebook; return (outcome, error, index of the failed cell in STATE.nb)."""
    import nbformat
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.engines import papermill_engines
    from papermill.exceptions import PapermillExecutionError
    from papermill.iorw import papermill_io

    kernel = resolve_kernel(job, nb)
    papermill_engines.register("condor_nb", make_engine(job))
    papermill_io.register(OUTPUT_NOTEBOOK, RedactedWrite())  # a path prefix, like "s3://"
    streams: tuple[Any, Any] = (sys.stdout, sys.stderr) if job["log_output"] else (None, None)
    if job["log_output"] and STATE.chirp:  # the live tail of the output (see report.py)
        streams = tuple(STATE.report.LiveTee(s, STATE.chirp, redact) for s in streams)
    timeout = job["cell_timeout"]
    say(f"running {job['notebook']} with kernel {kernel!r} (papermill {papermill.__version__})")
    try:
        papermill.execute_notebook(
            papermill_path(job["notebook"]),
            OUTPUT_NOTEBOOK,
            parameters=job["parameters"],
            engine_name="condor_nb",
            kernel_name=kernel,
            request_save_on_cell_execute=False,
            progress_bar=False,
            stdout_file=streams[0],
            stderr_file=streams[1],
            kernel_manager_class=kernel_manager_class(),
            execution_timeout=None if timeout is None else math.ceil(timeout),
        )
    except PapermillExecutionError as exc:  # papermill wrote the notebook with its banner
        attempt("note the output notebook", remember_own_file, OUTPUT_NOTEBOOK)
        STATE.nb = (
            attempt("read the failed notebook", nbformat.read, OUTPUT_NOTEBOOK, 4) or STATE.nb
        )
        error = error_dict(exc.ename, exc.evalue, exc.traceback)
        return "cell_error", error, failed_index(STATE.nb)
    except CellTimeoutError as exc:
        why = f"cell_timeout={timeout} s" if timeout else str(exc).splitlines()[0]
        return stopped_in_cell("cell_timeout", "CellTimeoutError", f"Ran longer than {why}.")
    except RuntimeError as exc:  # DeadKernelError, or the kernel died while starting
        if not isinstance(exc, DeadKernelError) and "kernel died" not in str(exc).lower():
            raise
        return stopped_in_cell("kernel_died", "DeadKernelError", KERNEL_DIED)
    attempt("note the output notebook", remember_own_file, OUTPUT_NOTEBOOK)  # papermill wrote it
    return "completed", None, None


def papermill_path(name: str) -> str:
    """The notebook's path as papermill must get it: "./" first (it reads a path
    starting with "-" from stdin) and braces doubled (it formats paths)."""
    return os.path.join(".", name).replace("{", "{{").replace("}", "}}")


# ---------------------------------------------------------------------- the failure, in words
# One numbering everywhere: a cell is the user's code cell number, 1-based, the
# parameters cell papermill injects not counted, with its first source line.
INJECTED_TAG = "injected-parameters"  # papermill's tag on the cell it adds
FAILURE_ATTR = C.FAILURE_ATTR
MAX_LINE_CHARS = C.LIVE_SOURCE_CHARS  # a cell's first source line, cut as the live progress cuts it
MAX_SUMMARY_BYTES = 500  # the one-line failure summary, in the job ad and the result
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]+")


def one_line(text: Any) -> str:
    """``text`` as one printable line: no ANSI escapes, control characters or invalid UTF-8."""
    text = ANSI.sub("", str(text)).encode("utf-8", "replace").decode("utf-8")
    return " ".join(CONTROL.sub(" ", text).split())


def cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, "..." marking the cut."""
    if len(text.encode("utf-8")) <= limit:
        return text
    data = text.encode("utf-8")[: max(0, limit - 3)]
    return data.decode("utf-8", "ignore") + "..."


def user_cell(nb: Any, index: int | None) -> tuple[int | None, str]:
    """The cell at ``index`` of the executed notebook as the user counts it: its number
    among the user's code cells (1-based; papermill's injected parameters cell is not
    counted, and is None itself) and its first non-blank source line, cut short."""
    cells = list(nb.get("cells", [])) if hasattr(nb, "get") else []
    if index is None or not 0 <= index < len(cells):
        return None, ""
    number = 0
    for cell in cells[: index + 1]:
        tags = (cell.get("metadata") or {}).get("tags") or []
        if cell.get("cell_type") == "code" and INJECTED_TAG not in tags:
            number += 1
    cell = cells[index]
    source = cell.get("source") or ""
    source = "".join(source) if isinstance(source, list) else str(source)
    line = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    line = one_line(line)
    line = line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 3] + "..."
    tags = (cell.get("metadata") or {}).get("tags") or []
    return (None if INJECTED_TAG in tags else number), line


def injected_cells(nb: Any) -> int:
    """How many parameters cells papermill injected into ``nb`` (0 or 1)."""
    cells = nb.get("cells", []) if hasattr(nb, "get") else []
    return sum(INJECTED_TAG in (c.get("metadata") or {}).get("tags", []) for c in cells)


def cell_label(nb: Any, index: int | None, with_line: bool = False) -> str:
    """ "cell 3 of 5" (the user's numbering; with_line: and its first line), for the log."""
    number, line = user_cell(nb, index)
    if number is None:
        return "the injected parameters cell"
    total = sum(c.get("cell_type") == "code" for c in nb.get("cells", [])) - injected_cells(nb)
    return f"cell {number} of {total}" + (f": `{line}`" if with_line and line else "")


def failure_record(outcome: str, error: Any, failed: int | None, nb: Any) -> dict[str, Any] | None:
    """Where and why the notebook failed, in the words every front end shows:
    ``cell 3: `x = 1/0`: ZeroDivisionError: division by zero`` (bounded, one line)."""
    if outcome == "completed" or not error:
        return None
    number, line = user_cell(nb, failed)
    where = ""
    if failed is not None:
        label = f"cell {number}" if number is not None else "the injected parameters cell"
        where = f"{label}: `{line}`: " if line else f"{label}: "
    name, message = one_line(error.get("name") or "Error"), one_line(error.get("value") or "")
    summary = cut(
        redact(f"{where}{name}: {message}" if message else f"{where}{name}"), MAX_SUMMARY_BYTES
    )
    # Neither a closing backslash (it would escape the closing quote) nor a closing
    # space (the schedd's parser drops it): the ad and the result say the same.
    summary = summary.rstrip("\\ ")
    return {"cell": number, "source_line": line or None, "summary": summary}


def classad_string(text: str) -> str:
    """A ClassAd string literal holding ``text`` as the schedd reads a ``set_job_attr``
    value: in old ClassAd syntax, where only a quote is escaped (backslash-quote) and a
    backslash is itself. ``text`` is one_line()'d (no control characters) and must not
    end with a backslash (failure_record() sees to it). Never JSON: its \\uXXXX escapes
    and doubled backslashes would be stored as they are written."""
    return '"' + one_line(text).replace('"', '\\"') + '"'


def publish_failure(failure: dict[str, Any] | None) -> None:
    """Once, at the job's end: the failure summary into the job ad (FAILURE_ATTR), through
    the starter's Chirp proxy, so it is seen before any fetch. Best effort: no proxy, no
    report module or no answer leaves the ad as it is and never fails the job."""
    if not failure or STATE.report is None or not os.environ.get("_CONDOR_CHIRP_CONFIG"):
        return
    code = STATE.report.chirp_set_job_attr(
        FAILURE_ATTR, classad_string(failure["summary"]), timeout=5.0
    )
    if code != 0:
        say(f"could not put the failure summary into the job ad (Chirp answered {code})", True)


def failed_index(nb: Any) -> int | None:
    flags = [c.metadata.get("papermill", {}).get("exception") for c in getattr(nb, "cells", [])]
    return flags.index(True) if True in flags else None


def error_dict(name: str, value: str, tb: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "value": value, "traceback": [ANSI.sub("", line) for line in tb or []]}


def stopped_in_cell(outcome: str, name: str, msg: str) -> tuple[str, dict[str, Any], int | None]:
    return outcome, error_dict(name, msg), mark_failed_cell(STATE.cell_index, name, msg)


def mark_failed_cell(index: int | None, name: str, message: str) -> int | None:
    """Annotate the cell that was running (banners like papermill's); return its new index."""
    if STATE.nb is None or index is None:
        return None
    marked = attempt(
        "mark the failed cell", STATE.report.annotate_failed_cell, STATE.nb, index, name, message
    )
    return index if marked is None else marked


# ----------------------------------------------------------------------------------- outputs
class RedactedWrite:
    """papermill's I/O handler for the output notebook: its own writes are redacted too."""

    def write(self, buf: str, path: str) -> None:
        import nbformat

        write_notebook(nbformat.reads(buf, as_version=4))

    def read(self, path: str) -> str:
        with open(path, encoding="utf-8") as f:
            return f.read()

    def pretty_path(self, path: str) -> str:
        return path

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)


def write_notebook(nb: Any) -> None:
    if hasattr(nb, "cells"):
        import nbformat

        write_atomic(OUTPUT_NOTEBOOK, nbformat.writes(nbformat.from_dict(redacted(nb))))
    else:  # a plain dict: the placeholder or an error message (nbformat may be missing)
        write_atomic(OUTPUT_NOTEBOOK, json.dumps(redacted(nb), indent=1) + "\n")


def build_result(outcome: str, error: Any, failed: int | None, nb: Any) -> dict[str, Any]:
    cells = nb.get("cells", []) if isinstance(nb, dict) else []
    return {
        "outcome": outcome,
        "exit_code": EXIT_CODES[outcome],
        # The failed cell's index in the executed notebook (0-based, banners included).
        "failed_cell": failed,
        "failed_cell_source": None if failed is None else str(cells[failed].get("source"))[:2000],
        # The same cell as the user counts it, and the one line every front end shows.
        "failure": failure_record(outcome, error, failed, nb),
        "error": error,
        "started_at": STATE.started_at,
        "finished_at": utc_now(),
        "duration_s": round(time.monotonic() - STATE.t0, 3),
        "cells_total": STATE.code_total,
        "cells_executed": STATE.code_done,
        "papermill_version": dist_version("papermill"),
        "python": platform.python_version(),
        "job_id": STATE.job["job_id"],
    }


def write_manifest(nb: Any, finished: bool) -> None:
    if not STATE.manifest:
        STATE.manifest = STATE.report.start_manifest(nb, STATE.job["job_id"])
    if STATE.executor:
        STATE.manifest["executor"] = STATE.executor
    if finished:
        STATE.manifest = STATE.report.finish_manifest(STATE.manifest, nb, STATE.kernel)
    write_json(MANIFEST_JSON, STATE.manifest)


def write_html(result: dict[str, Any], nb: Any) -> None:
    """The standard-library page first (fast), then nbconvert's over it if asked and possible."""
    write_atomic(REPORT_HTML, STATE.report.simple_html(result, nb))
    if STATE.job["report"] and hasattr(nb, "cells") and result["outcome"] != "input_error":
        html = attempt("render the report with nbconvert", STATE.report.nbconvert_html, nb)
        if html:
            write_atomic(REPORT_HTML, html)


def redact_outputs(nb: Any, error: Any) -> tuple[Any, Any]:
    """The notebook and error with the secrets redacted; the recorded values file too."""
    import nbformat

    if os.path.isfile(VALUES_JSON):  # the notebook's file (condor_nb.record): in place
        with open(VALUES_JSON, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        try:
            clean = STATE.redactor.json_text(json.dumps(redacted(json.loads(text))))
        except ValueError:
            clean = STATE.redactor.text(text)
        if clean != text:
            with open(f".{VALUES_JSON}.tmp", "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(clean)
            os.replace(f".{VALUES_JSON}.tmp", VALUES_JSON)
    nb = nbformat.from_dict(redacted(nb)) if hasattr(nb, "cells") else redacted(nb)
    return nb, redacted(error)


def redact_std_files() -> None:
    """The job's stdout and stderr files (HTCondor's _condor_stdout...), redacted in place:
    what the kernel or its children wrote to them directly, or a secret written in pieces."""
    for fd in (1, 2):
        path = f"/proc/self/fd/{fd}"  # opened afresh: the job's own fd may be write-only
        if not os.path.isfile(path):  # a pipe or a terminal: written through RedactingStream
            continue
        with open(path, "r+b") as f:
            data = f.read()
            clean = STATE.redactor.bytes(data)
            if clean != data:
                f.seek(0)
                f.write(clean)
                f.truncate()


def job_ad() -> dict[str, str]:
    """The job ad HTCondor gives the job ($_CONDOR_JOB_AD), values as written."""
    ad: dict[str, str] = {}
    path = os.environ.get("_CONDOR_JOB_AD", ".job.ad")
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                name, _, value = line.partition(" = ")
                ad[name.strip()] = value.strip()
    return ad


def final_run(code: int) -> bool:
    """Whether HTCondor will not run this job again after this exit.

    A success, or bad input (retry_until stops the retries), is final; another failure is
    final once max_retries (JobMaxRetries) is used up. An eviction or condor_rm (SIGTERM,
    exit 8) is not: HTCondor transfers nothing back then and may start the job again.
    Nor is any run of a job that stays queued whatever its exit (``on_exit_remove =
    false``: a schedule, whose next firing runs it again with the same spooled inputs).
    """
    if code == EXIT_CODES["interrupted"]:
        return False
    if job_ad().get("OnExitRemove", "").lower() == "false":
        return False
    if code in (EXIT_CODES["completed"], EXIT_CODES["input_error"]):
        return True
    ad = {k: int(v) for k, v in job_ad().items() if v.lstrip("-").isdigit()}
    return ad.get("NumJobCompletions", 0) + 1 > ad.get("JobMaxRetries", 0)


def drop_secrets(code: int) -> None:
    """At the final run's exit, a placeholder under the secrets file's name.

    HTCondor transfers new and changed files back at exit, and a spooled job's land in
    its spool directory on the access point, over the spooled copy of the secrets: they
    are gone from there when the job finishes instead of when it is retrieved (up to
    days later). The next run of a job that will run again still needs them: kept then.
    """
    if not (STATE.had_secrets or SECRETS_JSON in job_ad().get("TransferInput", "")):
        return  # no secrets (a file of that name is the notebook's)
    if final_run(code):  # also when they were never read (bad input before): same file
        with open(SECRETS_JSON, "w", encoding="utf-8") as f:
            json.dump({"_condor_nb": SECRETS_GONE}, f)


# ------------------------------------------------------- the notebook's files vs condor_nb's
# The notebook runs in this folder too, and HTCondor brings back every new top-level
# file. A notebook file with a name condor_nb uses (ours below, or the job's stdout,
# stderr and event log, which HTCondor writes under those names beside ours) is renamed
# KEPT_PREFIX<n>.<name> and listed in FILES_JSON, so fetch returns both. Only regular
# files may be left at the top: a FIFO, socket, device or symbolic link would hang (or
# flood) the output transfer, so it is moved into SKIPPED_DIR (never transferred) and
# listed too.
FILES_JSON, KEPT_PREFIX, SKIPPED_DIR = C.FILES_JSON, C.KEPT_PREFIX, C.SKIPPED_DIR
SCHEDD_FILES = C.SCHEDD_FILES
OWN_FILES: dict[str, tuple[int, int, int]] = {}  # name -> (inode, mtime, size) as we wrote it
KEPT: dict[str, str] = {}  # kept name -> the name the notebook gave the file
SKIPPED: dict[str, str] = {}  # name -> what it is


def file_signature(path: str) -> tuple[int, int, int]:
    st = os.lstat(path)
    return st.st_ino, st.st_mtime_ns, st.st_size


def remember_own_file(path: str) -> None:
    OWN_FILES[path] = file_signature(path)


def keep_notebook_file(name: str) -> None:
    """If the notebook (not we) left a file called ``name``, rename it out of our way."""
    try:
        signature = file_signature(name)
    except OSError:
        return
    if OWN_FILES.get(name) == signature:
        return
    n = 0
    while os.path.lexists(f"{KEPT_PREFIX}{n}.{name}"):
        n += 1
    kept = f"{KEPT_PREFIX}{n}.{name}"
    os.rename(name, kept)
    KEPT[kept] = name
    say(f"the notebook wrote {name!r}, a name condor_nb uses: it comes back as its own file", True)


def special_kind(path: str) -> str | None:
    """What a top-level entry is, when it must not be transferred back (None: fine)."""
    import stat

    mode = os.lstat(path).st_mode
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISLNK(mode):
        target = os.path.realpath(path)
        inside = os.path.dirname(target) == os.path.realpath(".")
        return None if inside and os.path.isfile(target) else "symbolic link"
    kinds = ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "device"))
    return next((kind for test, kind in kinds if test(mode)), "device")


def tidy_scratch() -> None:
    secrets = (SECRETS_JSON,) if STATE.had_secrets else ()  # ours was deleted: the notebook's
    for name in (*SCHEDD_FILES, FILES_JSON, *secrets):  # FILES_JSON: before files_record()
        keep_notebook_file(name)
    for entry in sorted(os.listdir(".")):
        kind = attempt(f"inspect {entry!r}", special_kind, entry)
        if kind is None:
            continue
        os.makedirs(SKIPPED_DIR, exist_ok=True)
        os.rename(entry, os.path.join(SKIPPED_DIR, entry))
        SKIPPED[entry] = kind
        say(f"not bringing back {entry!r}: a {kind}, not a regular file", True)


def files_record() -> dict[str, Any]:
    return {"kept": KEPT, "skipped": [{"name": n, "kind": k} for n, k in sorted(SKIPPED.items())]}


def kill_kernel() -> None:
    provisioner = getattr(STATE.km, "provisioner", None)
    pgid, pid = getattr(provisioner, "pgid", None), getattr(provisioner, "pid", None)
    if pgid:  # the kernel leads its own session: this also stops what it started
        os.killpg(pgid, signal.SIGKILL)
    elif pid:
        os.kill(pid, signal.SIGKILL)


def finalize(outcome: str, error: Any = None, failed: int | None = None, kill: bool = False) -> int:
    """Write the four files, most important first, and return the exit code."""
    STATE.finalizing = True
    attempt("set the notebook's files apart", tidy_scratch)
    nb = next((n for n in (STATE.nb, STATE.input_nb) if n is not None), None)
    if nb is None:
        nb = message_notebook(f"**condor_nb: {outcome}**: {(error or {}).get('value', '')}")
    if STATE.redactor:  # one redacted copy for the notebook, the result and the report
        nb, error = attempt("redact the secrets", redact_outputs, nb, error) or (None, None)
        nb = nb or message_notebook(f"**condor_nb: {outcome}** (outputs withheld: see stderr)")
    failure = failure_record(outcome, error, failed, nb)
    if failure and failed is not None and STATE.report is not None and hasattr(nb, "cells"):
        attempt("number the error banner", STATE.report.number_banner, nb, failed, failure)
    attempt("write the output notebook", write_notebook, nb)
    result = build_result(outcome, error, failed, nb)
    attempt("write the result file", write_json, RESULT_JSON, result)
    attempt("complete the manifest", write_manifest, nb, True)
    if kill:
        attempt("stop the kernel", kill_kernel)
    attempt("write the HTML report", write_html, result, nb)
    attempt("notify", send_notifications, result)
    attempt("set the notebook's files apart", tidy_scratch)  # what a leftover process made
    attempt("write the list of the notebook's files", write_json, FILES_JSON, files_record())
    if STATE.chirp:
        STATE.chirp.finish(outcome)
    if error and error["traceback"]:
        sys.stderr.write("\n".join(error["traceback"]) + "\n")
    why = f": {failure['summary']}" if failure else ""
    injected = injected_cells(nb)  # counted by the engine, not by the user
    ran, total = max(0, STATE.code_done - injected), max(0, STATE.code_total - injected)
    summary = f"{ran}/{total} code cells run{why}"
    say(
        f"{outcome}, exit {result['exit_code']}, after {result['duration_s']} s, {summary}",
        err=outcome != "completed",
    )
    if outcome != "interrupted":  # evicted or removed: it may run again, or is gone
        attempt("put the failure into the job ad", publish_failure, failure)
    return int(EXIT_CODES[outcome])


def send_notifications(result: dict[str, Any]) -> None:
    """Tell the --notify targets at the job's real end (not an eviction, nor a failed run
    HTCondor will retry); what happened goes into the result file, never the exit code."""
    code = result["exit_code"]
    ends = final_run(code) or (
        code != EXIT_CODES["interrupted"] and job_ad().get("OnExitRemove", "").lower() == "false"
    )  # a schedule's run: each one ends
    if not STATE.job.get("notify") or not ends:
        return
    module = load_report("notify.py", NOTIFY_MODULE)
    result["notifications"] = module.notify_all(STATE.job, result, REPORT_HTML, redact)
    for record in result["notifications"]:
        if not record["ok"]:
            say(f"could not notify {record['target']}: {record['error']}", err=True)
    write_json(RESULT_JSON, result)


def on_signal(signum: int, _frame: Any) -> None:
    if STATE.finalizing:
        return  # the normal finish is already writing the files
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, signal.SIG_IGN)
    running = STATE.cell_index if STATE.cell_running else None
    if signum == signal.SIGALRM:  # our own wall-time limit (see start_wall_clock)
        limit = STATE.job.get("wall_time")
        message = f"Stopped: the job's wall-time limit ({limit} s) was reached while running."
        failed = mark_failed_cell(running, "WallTimeExceeded", message)
        error = error_dict("WallTimeExceeded", f"ran longer than the wall-time limit of {limit} s")
        hard_exit(finalize("wall_time", error, failed, True))
    name = signal.Signals(signum).name
    message = f"Stopped by {name} (eviction, condor_rm or a wall-time limit) while running."
    failed = mark_failed_cell(running, "Interrupted", message)
    hard_exit(finalize("interrupted", error_dict("Interrupted", f"received {name}"), failed, True))


def start_wall_clock(job: dict[str, Any]) -> None:
    """SIGALRM at the wall-time limit: the notebook stops, its partial outputs are kept."""
    if job.get("wall_time"):
        remaining = job["wall_time"] - (time.monotonic() - STATE.t0)
        signal.alarm(max(1, math.ceil(remaining)))


def enable_recording() -> None:
    """Let the notebook's condor_nb.record() write VALUES_JSON, with or without condor_nb."""
    import importlib.util

    os.environ[C.VALUES_ENV] = os.path.abspath(VALUES_JSON)
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), RECORDING_MODULE)
    if importlib.util.find_spec("condor_nb") is not None or not os.path.isfile(source):
        return
    # A hidden folder: HTCondor brings back new top-level files only, not folders.
    package = os.path.join(os.path.abspath(C.RECORD_STUB_DIR), "condor_nb")
    os.makedirs(package, exist_ok=True)
    with open(source, encoding="utf-8") as src:  # one "with" per file: Python 3.9
        text = src.read()
    with open(os.path.join(package, "__init__.py"), "w", encoding="utf-8") as dst:
        dst.write(text)
    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.path.dirname(package) + (os.pathsep + path if path else "")


def hard_exit(code: int) -> None:
    """Exit without interpreter teardown (zmq contexts, stray threads) that could hang."""
    for stream in (sys.stdout, sys.stderr):
        attempt("flush output", stream.flush)
    if STATE.redactor:
        attempt("redact the logs", redact_std_files)
    attempt("drop the secrets from the access point", drop_secrets, code)
    os._exit(code)


def prepare() -> None:
    """Placeholders first, so that the four files exist even if everything else fails."""
    write_notebook(message_notebook("condor_nb: the job started but did not finish."))
    unfinished = error_dict("NotFinished", "the wrapper stopped before recording a result")
    write_json(RESULT_JSON, build_result("internal_error", unfinished, None, None))
    write_atomic(REPORT_HTML, f"<!DOCTYPE html>\n<p>condor_nb: see {RESULT_JSON}</p>\n")
    write_json(MANIFEST_JSON, {"complete": False, "python": platform.python_version()})


def run() -> int:
    try:
        STATE.report = attempt("load the manifest and report module", load_report)
        if STATE.report is not None:
            STATE.chirp = attempt("set up live progress", STATE.report.Chirp)
            if STATE.chirp:
                STATE.chirp.redact = redact
        STATE.job = load_job()
        load_secrets()
        start_wall_clock(STATE.job)
        attempt("enable condor_nb.record()", enable_recording)
        choose_executor()
        STATE.input_nb = load_notebook(STATE.job["notebook"])
        STATE.code_total = sum(c.cell_type == "code" for c in STATE.input_nb.cells)
        attempt("write the manifest", write_manifest, STATE.input_nb, False)
        return finalize(*execute(STATE.job, STATE.input_nb))
    except (InputError, ImportError) as exc:  # ImportError: the image lacks papermill...
        if isinstance(exc, ImportError):
            exc = InputError(f"{sys.executable} cannot import {exc.name}: {NEEDS}")
        STATE.input_nb = STATE.nb = None
        return finalize("input_error", error_dict("InputError", str(exc)))
    except BaseException as exc:
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        return finalize("internal_error", error_dict(type(exc).__name__, str(exc), tb))


def main() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, on_signal)
    code = EXIT_CODES["internal_error"]
    try:
        own_executable()
        prepare()
        code = run()
    except BaseException:
        traceback.print_exc()
    hard_exit(code)


if __name__ == "__main__":
    main()
