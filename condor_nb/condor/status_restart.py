"""Why a job that already ran is back in the queue, in the words a user needs.

A job whose execute node was cut off, powered off or evicted it goes back to the
queue (idle, ``NumJobStarts`` > 0) and runs again from the start. HTCondor's ad
says which node ran it last (``LastRemoteHost``) and, when the access point lost
the connection to that node for longer than the job lease, when it noticed
(``JobDisconnectedDate``) and the lease (``JobLeaseDuration``). Pure: ad in, text out.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any


def _number(value: Any) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def restart_reason(ad: Mapping[str, Any]) -> str:
    """``waiting to restart``, and why when the ad says it.

    >>> restart_reason({"NumJobStarts": 1})
    'waiting to restart'
    >>> restart_reason({"LastRemoteHost": "slot1@ep1.example.edu", "JobDisconnectedDate": 0,
    ...                 "JobLeaseDuration": 60}).startswith(
    ...     "waiting to restart: the access point lost contact with ep1.example.edu")
    True
    """
    host = str(ad.get("LastRemoteHost") or "").rsplit("@", 1)[-1]
    lost = _number(ad.get("JobDisconnectedDate"))
    lease = _number(ad.get("JobLeaseDuration"))
    if host and lost is not None:
        when = time.strftime("%H:%M:%S", time.localtime(lost))
        longer = f" for longer than the job lease ({lease} s)" if lease else ""
        return (
            f"waiting to restart: the access point lost contact with {host}, the execute "
            f"node that ran it (noticed at {when}){longer}; the notebook runs again from "
            "the start"
        )
    if host:
        return (
            f"waiting to restart: its run on {host} ended unfinished; it runs again from the start"
        )
    return "waiting to restart"
