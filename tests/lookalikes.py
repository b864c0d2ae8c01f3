"""Jobs that look like a condor_nb home's jobs, submitted raw: load for tests and benchmarks.

No spooling and ``/bin/true``: 10,000 of them take seconds. Held ones sit in the
queue; ``universe="local"`` ones run on the schedd at once and end up in its
history. Used by the tests (``submit_held_lookalikes``) and ``benchmarks/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def raw_schedd(home: Path | None = None) -> tuple[Any, Any]:
    """The htcondor2 module and a Schedd of the pool condor_nb uses."""
    from condor_nb.condor import schedd
    from condor_nb.settings import load_settings

    htcondor2 = schedd.configure_bindings(
        load_settings(home=str(home)) if home else load_settings()
    )
    # locate() without a name looks for a schedd on this machine: ask the collector.
    return htcondor2, htcondor2.Schedd(
        htcondor2.Collector().locateAll(htcondor2.DaemonType.Schedd)[0]
    )


def submit_lookalikes(
    home: Path, n: int, prefix: str, *, held: bool = True, universe: str | None = None
) -> int:
    """n jobs of the condor_nb home ``home`` (ids ``prefix`` + 7 hex digits); the cluster."""
    from condor_nb.spec.quoting import encode_text

    htcondor2, schedd = raw_schedd(home)
    description = {
        "executable": "/bin/true",
        "transfer_executable": "false",
        "initialdir": "/tmp",
        "MY.CondorNbId": '"$(nbid)"',
        "MY.CondorNbName": '"lookalike"',
        "MY.CondorNbNotebook": '"/load/load.ipynb"',
        "MY.CondorNbProfile": '"personal"',
        "MY.CondorNbJobDir": f'"{encode_text(str(home))}/jobs/$(nbid)"',
    }
    if held:
        description["hold"] = "true"
    if universe:
        description["universe"] = universe
    items = [{"nbid": f"{prefix}{i:07x}"} for i in range(n)]
    result = schedd.submit(htcondor2.Submit(description), itemdata=iter(items))
    return int(result.cluster())


def remove_cluster(cluster: int) -> None:
    htcondor2, schedd = raw_schedd()
    schedd.act(htcondor2.JobAction.Remove, f"ClusterId == {cluster}", ("load done", 0))
