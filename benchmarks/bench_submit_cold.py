"""A first submit as a fresh process: ``condor_nb submit NB`` against ``condor_submit``.

Every ``condor_nb submit`` on the command line is a new process (so is a notebook's
first ``condor_nb.submit()``): it pays for its imports, the configuration search, the
credential check, finding the schedd, before the schedd commits the job. The raw
side is HTCondor's own tool as a fresh process, ``condor_submit -terse -spool FILE``
(remote submission with spooling, what ``-remote SCHEDD`` means), given the very
description condor_nb renders for the notebook and the same staged files. Its schedd is
the client configuration's (SCHEDD_ADDRESS_FILE, no collector query; on the personal
pool ``-remote localhost`` fails with "unknown host localhost"), while condor_nb asks the
collector: one round trip more on condor_nb's side. Both end with the job queued and
its inputs spooled. Both run with the pool's client environment (``condor_nb pool
env``: CONDOR_CONFIG, the token directory, the pool's tools on PATH). Pairs are
interleaved, after one warm-up pair (the page cache), and each pair's jobs are removed
right after.

``CONDOR_NB_BENCH_BASELINE=DIR`` (a checkout of an older condor_nb, e.g.
``git archive COMMIT | tar -x -C DIR``) adds a third series in the same interleaving,
``condor_nb submit`` run from DIR: before/after on the same machine at the same load.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Row, row, write_notebook

_OURS = re.compile(r"as HTCondor job (\d+)\.")
_THEIRS = re.compile(r"^(\d+)\.\d+ - ")


def _pool_env(home: Path) -> dict[str, str]:
    from condor_nb import pool
    from condor_nb.pool.paths import pool_paths
    from condor_nb.pool.tools import tools_dir

    env = dict(os.environ)
    if not env.get("CONDOR_NB_CONDOR_CONFIG"):
        env.update(pool.client_env())
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}:"
    env["PATH"] += str(tools_dir(pool_paths()))
    env["CONDOR_NB_HOME"] = str(home)
    env.pop("PYTHONPATH", None)
    return env


def _timed(cmd: list[str], env: dict[str, str], pattern: re.Pattern[str]) -> tuple[float, int]:
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    found = pattern.search(out.stdout)
    if out.returncode != 0 or found is None:
        raise RuntimeError(f"{cmd[:4]} failed ({out.returncode}): {out.stdout} {out.stderr}")
    return took, int(found.group(1))


def _raw_submit_file(work: Path, nb: Path) -> Path:
    """The description condor_nb renders for ``nb``, staged, as a submit file."""
    from condor_nb.api import prepare
    from condor_nb.settings import load_settings
    from condor_nb.spec.job import notebook_job
    from condor_nb.submission.staging import stage_job

    settings = load_settings()
    spec = notebook_job(nb, {}, settings=settings)
    files, description = prepare(spec, settings, "00000000")
    stage_job(spec, files, "00000000")
    path = work / "raw.sub"
    lines = [f"{key} = {value}" for key, value in description.items()]
    path.write_text("\n".join([*lines, "queue", ""]), encoding="utf-8")
    return path


def submit_cold(repeats: int = 9) -> list[Row]:
    from common import raw_schedd

    work = Path(tempfile.mkdtemp(prefix="cnb-cold-"))
    home = work / "home"
    os.environ["CONDOR_NB_HOME"] = str(home)  # for rendering the raw side's description
    env = _pool_env(home)
    nb = write_notebook(work / "cold.ipynb", ["x = alpha * 2"], params="alpha = 1")
    htcondor2, schedd = raw_schedd()
    sub_file = _raw_submit_file(work, nb)
    ours_cmd = [sys.executable, "-m", "condor_nb", "submit", "--no-cache", str(nb)]
    theirs_cmd = ["condor_submit", "-terse", "-spool", str(sub_file)]
    series: dict[str, tuple[list[str], dict[str, str], re.Pattern[str]]] = {
        "ours": (ours_cmd, env, _OURS),
        "theirs": (theirs_cmd, env, _THEIRS),
    }
    baseline = os.environ.get("CONDOR_NB_BENCH_BASELINE")
    if baseline:
        series["before"] = (ours_cmd, {**env, "PYTHONPATH": baseline}, _OURS)
    times: dict[str, list[float]] = {key: [] for key in series}
    try:
        for i in range(repeats + 1):  # the first round warms the page cache
            clusters = []
            for key, (cmd, cmd_env, pattern) in series.items():
                took, cluster = _timed(cmd, cmd_env, pattern)
                clusters.append(cluster)
                if i:
                    times[key].append(took)
            for cluster in clusters:
                schedd.act(htcondor2.JobAction.Remove, f"ClusterId == {cluster}", ("bench", 0))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ours, theirs = statistics.median(times["ours"]), statistics.median(times["theirs"])
    load = os.getloadavg()[0]
    note = f"median of {repeats}, interleaved; load average {load:.1f}"
    if baseline:
        note += f"; before this change {statistics.median(times['before']):.3f} s"
    return [row("first submit, fresh process: `condor_nb submit` vs `condor_submit -spool`",
                ours, theirs, "-", note)]  # fmt: skip
