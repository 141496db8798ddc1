"""Stopping owned tasks for certain."""

from __future__ import annotations

import asyncio

from cti import stop_task


async def test_stop_task_ends_a_task_that_swallows_the_first_cancel() -> None:
    # What redis-py 8.1 sometimes does with a cancel that lands mid-command.
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    async with asyncio.timeout(2):
        await stop_task(task, retry_s=0.05)
    assert task.cancelled() and swallowed == 1


async def test_stop_task_on_a_finished_task_returns_at_once() -> None:
    async def quick() -> None:
        return None

    task = asyncio.create_task(quick())
    await task
    await stop_task(task)
    assert task.done()


async def test_changes_wakes_a_waiter_at_the_next_change_and_times_out_otherwise() -> None:
    import asyncio

    from cti import Changes

    changes = Changes()
    assert await changes.after(0, 0.01) == 0  # nothing changed: the timeout answers
    waiting = asyncio.create_task(changes.after(0, 5.0))
    await asyncio.sleep(0)
    changes.bump()
    assert await asyncio.wait_for(waiting, 1.0) == 1
    assert await changes.after(0, 5.0) == 1  # already past: no wait
