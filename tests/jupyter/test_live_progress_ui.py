"""The Jupyter job lists show a running notebook's progress ("cell N of M: `first line` (time)").

Through the real server's REST API: jupyter-scheduler's job (status_message, what
the JobsList UI shows) and condor_nb's own job list (reason), while the job runs.
"""

from __future__ import annotations

import re
import time
from typing import Any

from conftest import Server


def test_running_job_shows_its_cell_in_both_job_lists(server: Server) -> None:
    server.notebook("slow.ipynb", ["import time\ntime.sleep(12)"] * 2)
    job_id = server.create_job("slow.ipynb", name="progress")
    messages: set[str] = set()
    reasons: set[str] = set()
    body: Any = None
    for _ in range(600):  # a bound on polling (1 s apart), not a timing
        status, body = server.request("GET", f"/scheduler/jobs/{job_id}")
        assert status == 200, body
        messages.add(str(body.get("status_message")))
        _, jobs = server.request("GET", "/condor_nb/jobs")
        reasons |= {str(j.get("reason")) for j in jobs["jobs"]}
        if body["status"] in ("COMPLETED", "FAILED", "STOPPED"):
            break
        time.sleep(1)
    assert body["status"] == "COMPLETED", body
    running = re.compile(r"cell [12] of 2: `import time` \(\d+ s\)")  # its first line, its time
    # jupyter-scheduler's message ends with the job's ids (its detail page has no field for them)
    ids = re.compile(r" \(condor_nb job [0-9a-f]+, HTCondor job \d+\.\d+\)")
    assert any(running.fullmatch(ids.sub("", m)) and ids.search(m) for m in messages), messages
    assert any(running.fullmatch(r) for r in reasons), reasons
