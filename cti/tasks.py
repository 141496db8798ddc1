"""Owned background tasks: stopping one for certain."""

from __future__ import annotations

import asyncio
import contextlib
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
