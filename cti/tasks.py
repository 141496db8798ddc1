"""Owned background tasks: stopping one for certain."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any


async def stop_task(task: asyncio.Task[Any], *, retry_s: float = 0.2) -> None:
    """Cancel `task` and return once it has ended.

    The cancel is repeated: redis-py 8.1 now and then swallows a CancelledError that lands
    mid-command (redis/redis-py#2028), and a single cancel would leave the task running and
    `await task` waiting for ever.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=retry_s)
    with contextlib.suppress(asyncio.CancelledError):
        await task


# The cyclic collector's thresholds once started (`gc.set_threshold`). A young pass comes
# every 700 net allocations, as by default. The middle generation is collected after 3 young
# passes instead of 11, so a middle pass walks at most ~4 × 700 objects (~0.2 ms) where it
# walked up to ~12 × 700. A burst of logins (each agent socket keeps ~135 objects) left ~7,000
# for the next one, 1.1–1.5 ms with the loop stopped under the next pops (`docs/benchmarks.md`).
# Each object is walked there as often as before, only in smaller passes. Full passes are
# weighed every 41 middle passes, ~120 young passes as by default (and Python still makes one
# only once the heap outside the young generations grew by a quarter).
COLLECTOR_THRESHOLDS = (700, 2, 40)


def settle_heap() -> None:
    """Once the server has started: collect, then leave what exists now (the residents'
    index, the modules, the settings: kept for the life of the process) out of the cyclic
    collector's later passes (`gc.freeze`), and set its thresholds for short passes
    (`COLLECTOR_THRESHOLDS`). Reference counting still frees any of the frozen heap that is
    let go; only a reference cycle among these objects would stay. A full pass walked all of
    it with the event loop stopped — ~70 ms with 10,000 residents (`scripts/bench-heap`), a
    pop's worth of delay each time — and now walks only what came after the start."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


class Changes:
    """A version that grows with every change, and a wait for the next one (long polls and
    live pages: wait for a version past the one you have, or a timeout)."""

    def __init__(self) -> None:
        self.version = 0
        self._wake = asyncio.Event()  # set (and replaced) at every change

    def bump(self) -> None:
        """Something changed: wake every waiter."""
        self.version += 1
        wake, self._wake = self._wake, asyncio.Event()
        wake.set()

    async def after(self, version: int, timeout_s: float) -> int:
        """Wait until the version passes `version` (or `timeout_s`); the version then."""
        if self.version <= version:
            wake = self._wake
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await wake.wait()
        return self.version
