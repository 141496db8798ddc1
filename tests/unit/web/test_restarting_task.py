"""A background task of the server that dies is logged and started again, never silently gone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import pytest

from cti.server import _restarting


async def _run_until(factory: Callable[[], Awaitable[None]], reached: asyncio.Event) -> None:
    """Run `factory` under `_restarting` until `reached` is set, then cancel it."""
    task = _restarting(factory, "registry-watch", pause_s=0.01)
    try:
        await asyncio.wait_for(reached.wait(), timeout=5)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_background_task_that_raises_is_logged_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = 0
    second_run = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("database went away")
        second_run.set()
        await asyncio.Event().wait()

    with caplog.at_level(logging.ERROR, logger="cti.server"):
        await _run_until(flaky, second_run)
    assert runs == 2
    failures = [r for r in caplog.records if "registry-watch failed" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None


async def test_background_task_that_returns_is_logged_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = 0
    third_run = asyncio.Event()

    async def returns_early() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            third_run.set()
            await asyncio.Event().wait()

    with caplog.at_level(logging.ERROR, logger="cti.server"):
        await _run_until(returns_early, third_run)
    ended = [r for r in caplog.records if "registry-watch ended" in r.getMessage()]
    assert len(ended) == 2
