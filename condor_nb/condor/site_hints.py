"""What to check when the collector cannot be asked, or does not list the schedd.

The same words serve the personal pool and a site's central manager: on a site the
user cannot start anything, but can tell whether the central manager answers and
knows when a freshly restarted collector will list the access point again.
"""

from __future__ import annotations


def collector_unreachable(where: str) -> str:
    host, _, port = where.rpartition(":")
    port = port if host and port.isdigit() else "9618"  # HTCondor's default
    return (
        f"check that the central manager {where} is up and reachable from this host "
        f"(`condor_status -pool {where} -schedd`; port {port}/tcp open), or ask the pool's "
        "admins; your jobs on the access point are not affected and can be followed once "
        "it answers. For the personal pool: `condor_nb pool status` / `condor_nb pool start`"
    )


def schedd_not_listed(where: str) -> str:
    return (
        f"the collector at {where} answered but lists no schedd: right after a collector "
        "restart, the access point's schedd advertises itself again within SCHEDD_INTERVAL "
        "(300 s by default): try again in a few minutes; otherwise ask the pool's admins "
        "whether the schedd runs. For the personal pool: `condor_nb pool status`"
    )
