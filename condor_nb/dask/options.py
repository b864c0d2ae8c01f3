"""What a dask session asks of HTCondor, validated once (pure: no I/O, no dask).

Resources use HTCondor's units like notebook jobs (``"4GB"``, a bare number is
MiB); defaults come from the settings (keyword > ``CONDOR_NB_*`` > config file).
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass

from condor_nb.errors import SpecError
from condor_nb.settings import Settings
from condor_nb.spec import quoting
from condor_nb.spec.units import parse_count, parse_size_mib

#: Seconds a worker waits for a lost (or not yet reachable) scheduler before exiting.
DEFAULT_DEATH_TIMEOUT = 60.0
#: Seconds between two heartbeats written by the session into its worker jobs.
DEFAULT_HEARTBEAT_INTERVAL = 30.0
#: Seconds without a heartbeat after which the schedd removes a worker job.
DEFAULT_HEARTBEAT_TIMEOUT = 300
_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SESSION_ID = re.compile(r"[0-9a-f]{8}")


def new_session_id() -> str:
    return secrets.token_hex(4)


def check_session_id(value: str) -> str:
    if not _SESSION_ID.fullmatch(value):
        raise SpecError(
            f"dask session id: expected 8 hexadecimal digits such as '1a2b3c4d'; got {value!r}",
            hint="`condor_nb dask ls` lists your sessions and their ids",
        )
    return value


@dataclass(frozen=True)
class WorkerOptions:
    """One worker job's resources, environment and lifetime policy."""

    session_id: str
    profile: str
    cpus: int
    memory_mib: int
    disk_mib: int
    gpus: int
    image: str | None
    python: str
    death_timeout: float
    heartbeat_interval: float
    heartbeat_timeout: int
    lifetime: float | None = None


def _positive(value: float, *, field: str, hint: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{field}: expected a number of seconds; got {value!r}", hint=hint)
    if value <= 0:
        raise SpecError(f"{field}: expected a positive number of seconds; got {value!r}", hint=hint)
    return float(value)


def _profile(profile: str | None, settings: Settings) -> str:
    value = profile or settings.profile
    if not _PROFILE.fullmatch(value):
        raise SpecError(
            f"site profile: expected a name like 'personal' or 'ospool'; got {value!r}",
            hint="profiles are the *.sub files of ~/.config/condor_nb/profiles "
            "and the packaged ones",
        )
    return value


def _plain(value: str, what: str, hint: str) -> str:
    try:
        return quoting.plain_value(value, what=what)
    except ValueError as exc:
        raise SpecError(f"{what}: {exc}", hint=hint) from None


def worker_options(
    settings: Settings,
    *,
    session_id: str | None = None,
    cpus: int | str | None = None,
    memory: int | str | None = None,
    disk: int | str | None = None,
    gpus: int | str | None = None,
    image: str | None = None,
    profile: str | None = None,
    python: str | None = None,
    death_timeout: float = DEFAULT_DEATH_TIMEOUT,
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
    lifetime: float | None = None,
) -> WorkerOptions:
    """Validate a session's worker options; every message says what, got what, and how."""
    interval = _positive(heartbeat_interval, field="heartbeat_interval", hint="e.g. 30")
    timeout = _positive(heartbeat_timeout, field="heartbeat_timeout", hint="e.g. 300")
    if timeout < 3 * interval:
        raise SpecError(
            f"heartbeat_timeout: expected at least 3 x heartbeat_interval ({3 * interval:g} s); "
            f"got {timeout:g} s",
            hint="a shorter timeout would remove live workers after one missed heartbeat",
        )
    image_value = image if image is not None else settings.image
    image_hint = "give a path such as /cvmfs/singularity.opensciencegrid.org/ORG/IMAGE:TAG"
    return WorkerOptions(
        session_id=check_session_id(session_id) if session_id else new_session_id(),
        profile=_profile(profile, settings),
        cpus=parse_count(settings.cpus if cpus is None else cpus, field="cpus", minimum=1),
        memory_mib=parse_size_mib(settings.memory if memory is None else memory, field="memory"),
        disk_mib=parse_size_mib(settings.disk if disk is None else disk, field="disk"),
        gpus=parse_count(settings.gpus if gpus is None else gpus, field="gpus", minimum=0),
        image=_plain(image_value, "image", image_hint) if image_value else None,
        python=_plain(
            python or settings.worker_python,
            "python",
            "give the worker's Python as a command or absolute path, e.g. python3 or "
            "/cvmfs/.../bin/python",
        ),
        death_timeout=_positive(death_timeout, field="death_timeout", hint="e.g. 60"),
        heartbeat_interval=interval,
        heartbeat_timeout=math.ceil(timeout),
        lifetime=None
        if lifetime is None
        else _positive(lifetime, field="lifetime", hint="e.g. 3600 (one hour)"),
    )
