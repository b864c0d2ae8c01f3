"""What reaches the access point's schedd, watched from outside: its job queue log.

The schedd writes every change of a job ad to its transaction log
(``$(SPOOL)/job_queue.log``) before it answers: one ``103 <cluster.proc> <name>
<value>`` line per attribute set, inside ``105``/``106`` transactions. Counting
those lines counts the updates the schedd really took, whatever their value (a
poll of the ad would miss an update that sets the same value again, or two updates
between polls) and without adding a single query to the schedd: the file is read
from the AP's root on this machine.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class QueueWrite:
    seen: float  # time.time() when the line was first read (polled every ``every`` s)
    key: str  # "cluster.proc" ("cluster.-1" for the cluster ad)
    name: str
    value: str


@dataclass
class QueueLogWatcher:
    """Tails the schedd's job_queue.log in a thread; ``writes`` grows as lines come."""

    path: Path
    every: float = 0.2
    writes: list[QueueWrite] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> QueueLogWatcher:
        self._offset = self.path.stat().st_size if self.path.exists() else 0
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._read()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self._read()

    def _read(self) -> None:
        try:
            with self.path.open("rb") as fh:
                if fh.seek(0, 2) < self._offset:  # compacted: start again from the top
                    self._offset = 0
                fh.seek(self._offset)
                data = fh.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1
        self._offset += end
        now = time.time()
        for raw in data[:end].decode("utf-8", "replace").splitlines():
            parts = raw.split(" ", 3)
            if len(parts) >= 3 and parts[0] == "103":
                value = parts[3] if len(parts) == 4 else ""
                self.writes.append(QueueWrite(now, parts[1], parts[2], value))

    def proc_key(self, name: str, value: str) -> str:
        """The key ("cluster.0") of the first job whose ad (or cluster ad) got
        ``name`` = ``value``; "" while none did. Cluster ads are keyed "0<cluster>.-1"."""
        for w in list(self.writes):
            if w.name == name and w.value == value:
                cluster, proc = w.key.split(".", 1)
                return f"{int(cluster)}.{0 if proc == '-1' else int(proc)}"
        return ""

    def of(self, key: str, name: str | None = None) -> list[QueueWrite]:
        return [w for w in list(self.writes) if w.key == key and (name is None or w.name == name)]


def ap_queue_log(site: Any) -> Path:
    """The job queue log of the AP's schedd, in the AP's root (its SPOOL)."""
    spool = site.run("ap", ["condor_config_val", "SPOOL"]).stdout.strip()
    return Path(site.hosts["ap"].root) / spool.lstrip("/") / "job_queue.log"
