"""The bus (Redis) down while calls go on: pops cannot reach the pages, but the call state
and the call log must not lose what came after a failed publish."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.bus import InProcessBus
from cti.state import CallLog, CallTracker, StateService
from locator import Locator
from seats import SeatDirectory
from tests.support.recordings import recording_events

CALL = "1795361778.1"  # the answered call in 03-call-answered.ami


class DownBus(InProcessBus):
    """Every publish fails as RedisBus's does while Redis is unreachable (a post's future
    holds the error)."""

    async def publish(
        self, agent_id: str, message: dict[str, Any], *, once: str | None = None
    ) -> int:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379")

    def post(
        self, agent_id: str, message: dict[str, Any], *, once: str | None = None
    ) -> asyncio.Future[int]:
        failed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        failed.set_exception(RedisConnectionError("Error 111 connecting to 127.0.0.1:6379"))
        return failed


async def test_a_call_while_the_bus_is_down_is_still_logged(
    engine: AsyncEngine, locator: Locator, traces_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = SeatDirectory()
    directory.login("agent07", "seat07")
    state = StateService(CallTracker(directory), DownBus(), locator, CallLog(engine))
    writer = asyncio.create_task(state.run())
    try:
        with caplog.at_level(logging.WARNING):
            for event in recording_events(traces_dir / "03-call-answered.ami"):
                await state.on_event(event)  # never raises: the AMI reader goes on
        await state.flush()
        entry = await CallLog(engine).get(CALL)
        assert entry is not None and entry.agent == "agent07"
        assert "publish failed" in caplog.text
        assert not state.tracker.calls  # the call ended in the state machine too
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
