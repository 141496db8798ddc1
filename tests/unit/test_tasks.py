"""Stopping owned tasks for certain."""

from __future__ import annotations

import asyncio
from typing import Any

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


def test_settle_heap_collects_then_keeps_the_started_heap_out_of_later_passes() -> None:
    import gc
    import weakref

    from cti.tasks import settle_heap

    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    garbage_a, garbage_b = Node(), Node()
    garbage_a.other, garbage_b.other = garbage_b, garbage_a  # a cycle nobody holds
    gone = weakref.ref(garbage_a)
    del garbage_a, garbage_b
    kept = [Node() for _ in range(100)]
    gc.unfreeze()
    try:
        settle_heap()
        assert gone() is None  # collected first, not frozen for ever
        frozen = gc.get_freeze_count()
        assert frozen >= 100  # what lives now is out of the collector's later passes
        assert all(gc.is_tracked(n) for n in kept)  # still alive, only frozen
    finally:
        gc.unfreeze()


def test_cti_serve_settles_the_heap_once_every_service_has_started(monkeypatch: Any) -> None:
    from aiohttp import web

    from cti.cli import build_parser
    from cti.web import cli as serve_cli

    started: list[web.Application] = []
    monkeypatch.setattr(web, "run_app", lambda app, **kw: started.append(app))
    args = build_parser().parse_args(["serve", "--port", "0"])
    assert serve_cli._cmd_serve(args) == 0
    (app,) = started
    # after the services' cleanup contexts, which aiohttp runs first among the startup hooks
    assert list(app.on_startup)[-1] is serve_cli._settled


def test_after_settle_heap_a_burst_of_survivors_leaves_no_long_middle_pass() -> None:
    # A shift's logins: objects that stay (agent sockets), made in a burst. Each middle
    # (generation 1) pass stops the loop for as long as it walks: after settle_heap none
    # walks more than four young generations' worth, where Python's default thresholds let
    # twelve pile up (~8,400 objects, over a millisecond under a pop).
    import gc

    from cti.tasks import COLLECTOR_THRESHOLDS, settle_heap

    walked: list[int] = []

    def probe(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 1:
            walked.append(len(gc.get_objects(0)) + len(gc.get_objects(1)))

    before = gc.get_threshold()
    gc.unfreeze()
    try:
        settle_heap()
        gc.callbacks.append(probe)
        try:
            survivors = [[n] for n in range(40_000)]  # lists: always tracked
        finally:
            gc.callbacks.remove(probe)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert len(survivors) == 40_000
    young = COLLECTOR_THRESHOLDS[0]
    assert len(walked) >= 5  # the burst did run middle passes
    assert max(walked) <= 4 * young + 200
