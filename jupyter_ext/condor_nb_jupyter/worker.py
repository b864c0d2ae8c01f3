"""Run condor_nb calls in worker processes so the server's event loop never waits on HTCondor.

The v2 bindings hold the GIL during a call: a thread pool would freeze tornado for
the whole query. Worker processes are started with the ``spawn`` method (a fork of
a running server inherits its event loop and locks) and receive only plain data.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class CondorWorker:
    """A small pool of worker processes; ``await worker.call(tasks.fn, *args)``."""

    def __init__(self, processes: int = 2) -> None:
        self.processes = max(1, processes)
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.processes, mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool

    async def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        future = self._executor().submit(func, *args, **kwargs)
        try:
            return await asyncio.wrap_future(future, loop=loop)
        except concurrent.futures.process.BrokenProcessPool:
            self._pool = None  # a worker died (killed, out of memory): start afresh next time
            raise

    def run_sync(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """For callers that are not coroutines (still off the server's process)."""
        return self._executor().submit(func, *args, **kwargs).result()

    async def warm(self) -> None:
        """Start every process and import condor_nb in it (the first call is then fast)."""
        from condor_nb_jupyter import tasks

        await asyncio.gather(*(self.call(tasks.ping) for _ in range(self.processes)))

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


_SHARED: dict[str, CondorWorker] = {}


def shared_worker(processes: int = 2) -> CondorWorker:
    """The one worker pool of this server (the extension and the scheduler share it)."""
    if "worker" not in _SHARED:
        _SHARED["worker"] = CondorWorker(processes)
    return _SHARED["worker"]
