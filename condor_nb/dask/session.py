"""``condor_nb.dask_session()``: dask workers as HTCondor jobs, the scheduler here.

    with condor_nb.dask_session(workers=4, cpus=2, memory="4GB") as (cluster, client):
        client.submit(...)

    cluster, client = condor_nb.dask_session(adaptive=(0, 20))   # also fine: close later

The workers are jobs of the same site profile, image and credentials as notebook
jobs; ``condor_nb q`` lists them, ``condor_nb dask ls``/``down`` manage sessions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple

from condor_nb.dask import network
from condor_nb.dask import options as opts
from condor_nb.dask.network import SchedulerHost
from condor_nb.errors import SpecError
from condor_nb.settings import Settings, load_settings

if TYPE_CHECKING:
    from condor_nb.dask.cluster import CondorNbCluster

log = logging.getLogger("condor_nb.dask")

#: The waiting time of ``wait=True``: about what a busy pool takes to start a job.
DEFAULT_WAIT_TIMEOUT = 300.0


class DaskSession(NamedTuple):
    """``(cluster, client)``; closing it removes every worker job of the session."""

    cluster: CondorNbCluster
    client: Any  # distributed.Client

    @property
    def id(self) -> str:
        return self.cluster.session_id

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            self.cluster.close()

    def __enter__(self) -> DaskSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _adaptive(adaptive: tuple[int, int] | None) -> tuple[int, int] | None:
    if adaptive is None:
        return None
    ok = (
        isinstance(adaptive, tuple | list)
        and len(adaptive) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in adaptive)
    )
    if not ok or not 0 <= adaptive[0] <= adaptive[1] or adaptive[1] < 1:
        raise SpecError(
            f"adaptive: expected (minimum, maximum) workers with 0 <= minimum <= maximum and "
            f"maximum >= 1; got {adaptive!r}",
            hint="e.g. adaptive=(0, 10)",
        )
    return int(adaptive[0]), int(adaptive[1])


def _workers(workers: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise SpecError(
            f"workers: expected a whole number >= 0; got {workers!r}", hint="e.g. workers=4"
        )
    return workers


def scheduler_options(
    *,
    local: bool,
    host: str | None,
    port: int,
    contact_address: str | None,
    dashboard_address: str | None,
    pool_host: Callable[[], SchedulerHost | None] = lambda: None,
) -> dict[str, Any]:
    """The scheduler's network settings.

    Personal pool: loopback unless told otherwise. Elsewhere, unless ``host`` or
    ``contact_address`` is given: the address of the interface that reaches the pool
    (``pool_host``, see :mod:`condor_nb.dask.network`), not dask's default (the
    interface of the Internet route), which the execute nodes may not reach.
    """
    chosen: dict[str, Any] = {"port": port}
    if host is None and local:
        host = "127.0.0.1"  # the personal pool's jobs share this machine's network
    elif host is None and contact_address is None:
        found = pool_host()
        if found is not None:
            log.info("dask scheduler listens on %s: %s", found.address, found.why)
            host = found.address
    if host is not None:
        chosen["host"] = host
    if contact_address is not None:
        chosen["contact_address"] = contact_address
    if dashboard_address is not None:
        chosen["dashboard_address"] = dashboard_address
    return chosen


def dask_session(
    workers: int = 0,
    *,
    cpus: int | str | None = None,
    memory: int | str | None = None,
    disk: int | str | None = None,
    gpus: int | str | None = None,
    image: str | None = None,
    profile: str | None = None,
    adaptive: tuple[int, int] | None = None,
    python: str | None = None,
    host: str | None = None,
    port: int = 0,
    contact_address: str | None = None,
    dashboard_address: str | None = None,
    death_timeout: float = opts.DEFAULT_DEATH_TIMEOUT,
    heartbeat_interval: float = opts.DEFAULT_HEARTBEAT_INTERVAL,
    heartbeat_timeout: float = opts.DEFAULT_HEARTBEAT_TIMEOUT,
    lifetime: float | None = None,
    wait: bool = False,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    settings: Settings | None = None,
    **cluster_kwargs: Any,
) -> DaskSession:
    """Start a dask scheduler here and ``workers`` dask workers as HTCondor jobs.

    Resources are per worker job (HTCondor units). ``adaptive=(min, max)`` lets dask
    scale between those bounds instead. ``python`` is the worker's Python (default:
    the ``worker_python`` setting); it must have the client's Python release and
    dask/distributed versions (checked as workers connect). ``host``/``port`` set
    where the scheduler listens, ``contact_address`` what the workers are told
    (NAT, port forwarding). ``wait=True`` blocks until all workers are connected
    (or ``timeout``) and raises if their environment differs. Other keywords go to
    dask-jobqueue's ``HTCondorCluster`` (e.g. ``worker_extra_args``,
    ``job_script_prologue``, ``processes``).
    """
    from distributed import Client

    from condor_nb.dask.backend import WorkerJobs
    from condor_nb.dask.cluster import CondorNbCluster

    count = _workers(workers)
    bounds = _adaptive(adaptive)
    cfg = settings or load_settings(profile=profile)
    options = opts.worker_options(
        cfg, cpus=cpus, memory=memory, disk=disk, gpus=gpus, image=image, profile=profile,
        python=python, death_timeout=death_timeout, heartbeat_interval=heartbeat_interval,
        heartbeat_timeout=heartbeat_timeout, lifetime=lifetime,
    )  # fmt: skip
    local = network.workers_share_this_host(cfg, options.profile)
    extra: Mapping[str, Any] = cluster_kwargs
    if lifetime is not None:
        extra = {**extra, "worker_extra_args": [
            *extra.get("worker_extra_args", []), "--lifetime", f"{int(lifetime)}s",
        ]}  # fmt: skip
    cluster = CondorNbCluster(
        jobs=WorkerJobs(cfg, options),
        workers_are_local=local,
        scheduler_options=scheduler_options(
            local=local, host=host, port=port, contact_address=contact_address,
            dashboard_address=dashboard_address,
            pool_host=(lambda: None)
            if "interface" in extra
            else (lambda: network.scheduler_host_for(cfg)),
        ),
        **extra,
    )  # fmt: skip
    try:
        if bounds is not None:
            cluster.adapt(minimum_jobs=bounds[0], maximum_jobs=bounds[1])
        elif count:
            cluster.scale(jobs=count)  # type: ignore[no-untyped-call,unused-ignore]
        client = Client(cluster)  # type: ignore[no-untyped-call,unused-ignore]
    except BaseException:
        cluster.close()
        raise
    session = DaskSession(cluster, client)
    wanted = bounds[0] if bounds is not None else count
    if wait and wanted:
        try:
            cluster.wait_for_workers(wanted, timeout=timeout)
        except BaseException:
            session.close()
            raise
    return session
