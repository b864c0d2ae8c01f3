"""In a notebook and a terminal: HTML reprs, wait()'s live progress, results as Parquet.

A real notebook runs in a real kernel (nbclient, as papermill runs one), submits a job
and a sweep to the pool, waits for them and displays them; a terminal (a pty) and a
pipe wait for another job; the CLI writes the sweep's results as Parquet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

import condor_nb

from .conftest import Cnb

pytestmark = pytest.mark.pool
REPO = Path(__file__).resolve().parents[2]

NAME = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
TAG = "<img src=x onerror=alert(2)>"
PAYLOAD_PARAMS = "x = 0\ntag = ''\n"
PAYLOAD = ["import time\ntime.sleep(3)", "import condor_nb\ncondor_nb.record('double', x * 2)"]

DRIVER = [
    "import condor_nb\n"
    f"job = condor_nb.submit('payload.ipynb', parameters={{'x': 1, 'tag': {TAG!r}}}, "
    f"name={NAME!r}, cache=False)\n"
    "sweep = condor_nb.sweep('payload.ipynb', grid={'x': [2, 3]}, "
    f"parameters={{'tag': {TAG!r}}}, name={NAME!r}, cache=False)",
    "job.wait().state.value",  # 1: the live display (display_data, then updates)
    "job.fetch('out')\njob",  # 2: the repr, with links to the fetched files
    "counts = sweep.wait()\nsweep.fetch('sweep-out')\nsweep",  # 3
    "sweep.results(as_dataframe=False)",  # 4
    "job.wait(progress=False).state.value",  # 5: silent when asked
    "print(repr(job)); print(repr(sweep)); print(sweep.id)",  # 6
    "seen = []\ninfo = job.wait(progress=seen.append)\n(len(seen), seen[-1].state.value)",  # 7
]


class RecordingClient(NotebookClient):  # type: ignore[misc]
    """nbclient as papermill uses it, keeping each cell's iopub message types and updates."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[int, str, dict[str, Any]]] = []

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        self.seen.append((cell_index, msg["msg_type"], msg.get("content", {})))
        return super().process_message(msg, cell, cell_index)


def _html(outputs: list[Any]) -> list[str]:
    return [
        "".join(o["data"]["text/html"])
        for o in outputs
        if o.get("output_type") in ("display_data", "execute_result")
        and "text/html" in o.get("data", {})
    ]


def _wait_in(cmd: list[str], cnb: Cnb, *, pty: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, **cnb.env, "TERM": "xterm", "COLUMNS": "120"}
    if pty:  # util-linux script: the command's stdin/stdout/stderr are a new pty
        cmd = ["script", "-qec", subprocess.list2cmdline(cmd), "/dev/null"]
    return subprocess.Popen(
        cmd, cwd=cnb.workdir, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_notebook_reprs_live_progress_terminal_line_and_parquet(cnb: Cnb) -> None:
    cnb.notebook("payload.ipynb", PAYLOAD, PAYLOAD_PARAMS)
    # A terminal and a pipe wait for a job of their own while the notebook runs.
    other = condor_nb.submit(cnb.workdir / "payload.ipynb", parameters={"x": 7}, cache=False)
    wait = [sys.executable, "-c", f"import condor_nb; condor_nb.get({other.id!r}).wait()"]
    in_tty = _wait_in(wait, cnb, pty=True)
    piped = _wait_in(wait, cnb, pty=False)

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in DRIVER]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    client = RecordingClient(nb, timeout=600, kernel_name="python3",
                             resources={"metadata": {"path": str(cnb.workdir)}})  # fmt: skip
    client.execute()
    cells = nb.cells
    nbformat.write(nb, cnb.workdir / "driver.ipynb")  # kept for a failure's inspection

    # 1. wait(): one display, updated in place while the job went through its states.
    assert cells[1].outputs[-1]["data"]["text/plain"] == "'COMPLETED'"
    shown = [o for o in cells[1].outputs if o["output_type"] == "display_data"]
    assert len(shown) == 1, cells[1].outputs
    display_id = shown[0]["transient"]["display_id"] if "transient" in shown[0] else None
    updates = [c for i, t, c in client.seen if i == 1 and t == "update_display_data"]
    assert len(updates) >= 2, [t for i, t, _ in client.seen if i == 1]
    if display_id:
        assert all(u["transient"]["display_id"] == display_id for u in updates)
    texts = [u["data"]["text/html"] for u in updates]
    assert "COMPLETED" in texts[-1] and ESCAPED in texts[-1]
    assert any("QUEUED" in t or "RUNNING" in t for t in texts[:-1]), texts
    assert "COMPLETED" in _html(cells[1].outputs)[0]  # the saved notebook shows the end

    # 2. the job's HTML: state, escaped name and parameter, links to the fetched files.
    (job_html,) = _html(cells[2].outputs)
    assert "COMPLETED" in job_html and ESCAPED in job_html
    assert "&lt;img src=x onerror=alert(2)&gt;" in job_html
    assert "<script>" not in job_html and "<img" not in job_html
    assert 'href="out/payload.ipynb"' in job_html and 'href="out/payload.html"' in job_html
    assert (cnb.workdir / "out" / "payload.html").is_file()

    # 3. the sweep's: its progress (2/2 finished), each proc's state and links.
    sweep_html = _html(cells[3].outputs)[-1]
    assert ESCAPED in sweep_html and "<script>" not in sweep_html and "<img" not in sweep_html
    assert "2/2 finished" in sweep_html and sweep_html.count("COMPLETED") >= 3
    assert 'href="sweep-out/0000-' in sweep_html
    sweep_updates = [c for i, t, c in client.seen if i == 3 and t == "update_display_data"]
    assert sweep_updates and "2/2 finished" in sweep_updates[-1]["data"]["text/html"]

    # 4. results: an HTML table with the recorded values.
    (rows_html,) = _html(cells[4].outputs)
    assert "double" in rows_html and "&lt;img" in rows_html and "<img" not in rows_html

    # 5. progress=False: no display at all.
    assert [o["output_type"] for o in cells[5].outputs] == ["execute_result"]
    assert not [t for i, t, _ in client.seen if i == 5 and "display" in t]

    # 6. plain reprs say the state and progress too.
    assert (
        "COMPLETED" in cells[6].outputs[0]["text"] and "2 COMPLETED" in cells[6].outputs[0]["text"]
    )

    # 7. a callable (as the CLI passes) is called instead of the display.
    assert [o["output_type"] for o in cells[7].outputs] == ["execute_result"]
    assert cells[7].outputs[0]["data"]["text/plain"] == "(1, 'COMPLETED')"

    # The terminal drew a progress line (rich, on stderr = the pty); the pipe stayed silent.
    tty_out, _ = in_tty.communicate(timeout=600)
    pipe_out, pipe_err = piped.communicate(timeout=600)
    assert in_tty.returncode == 0 and piped.returncode == 0
    drawn = tty_out.decode(errors="replace")
    assert f"job {other.id}" in drawn and "COMPLETED" in drawn, drawn
    assert "\x1b[" in drawn  # drawn in place, with the terminal's control sequences
    assert pipe_out == b"" and pipe_err == b"", (pipe_out, pipe_err)

    # Results as Parquet through the CLI (pandas and pyarrow come with the `results` extra).
    sweep_id = cells[6].outputs[0]["text"].split()[-1]
    done = cnb.run("sweep", "results", sweep_id, "-o", "x.parquet")
    assert done.returncode == 0, done.stderr
    import pandas as pd

    table = pd.read_parquet(cnb.workdir / "x.parquet")
    assert list(table["x"]) == [2, 3] and list(table["double"]) == [4, 6]
    assert list(table["state"]) == ["COMPLETED", "COMPLETED"]
    assert list(table["tag"]) == [TAG, TAG]


def test_every_extra_installs_pandas_and_pyarrow(tmp_path: Path) -> None:
    """`pip install 'condor_nb[all]'` (every extra) resolves pandas and pyarrow with the
    rest; before, no extra brought them and Parquet failed "pandas is missing"."""
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--report", str(report), f"{REPO}[all]"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if done.returncode and "No matching distribution" in done.stderr:
        pytest.skip(f"no package index to resolve against: {done.stderr[-300:]}")
    assert done.returncode == 0, done.stderr[-2000:]
    names = {i["metadata"]["name"].lower().replace("_", "-") for i in
             json.loads(report.read_text())["install"]}  # fmt: skip
    assert {"pandas", "pyarrow", "jupyter-scheduler", "dask-jobqueue"} <= names
