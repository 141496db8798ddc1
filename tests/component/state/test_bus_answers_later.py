"""The event path hands messages to the bus and goes on (issue 15, faster): a Redis round
trip per message no longer holds up the events behind it. What hangs on a message going
out waits for the bus's answer: the privacy audit is written only for a pop that went out
(a `once` repeat — another node's pop went out — writes none), and the call's log row is
written whatever the answers."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.bus import InProcessBus
from cti.state import CallLog, CallTracker, StateService
from locator import Locator
from seats import SeatDirectory
from tests.support.recordings import recording_events
from tests.support.waiting import eventually

CALL = "1795361778.1"  # the answered call in 03-call-answered.ami: a registered household


class HeldBus(InProcessBus):
    """A bus whose answers the test gives: every post waits until `answer`."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[tuple[dict[str, Any], asyncio.Future[int]]] = []

    def post(
        self, agent_id: str, message: dict[str, Any], *, once: str | None = None
    ) -> asyncio.Future[int]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.held.append((message, future))
        return future

    def answer(self, pop_seq: int) -> None:
        for number, (message, future) in enumerate(self.held, start=1):
            future.set_result(pop_seq if message["type"] == "pop" else number)


async def _views(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            (await conn.execute(text("SELECT resident_id, call_id FROM resident_view"))).all()
        )


@pytest.mark.parametrize("pop_went_out", [True, False])
async def test_the_audit_waits_for_the_pop_to_go_out_and_the_event_path_does_not(
    pop_went_out: bool, engine: AsyncEngine, locator: Locator, traces_dir: Path
) -> None:
    seats = SeatDirectory()
    seats.login("agent07", "seat07")
    bus = HeldBus()
    state = StateService(CallTracker(seats), bus, locator, CallLog(engine))
    writer = asyncio.create_task(state.run())
    try:
        for event in recording_events(traces_dir / "03-call-answered.ami"):
            await state.on_event(event)  # returns with every message still unanswered
        pops = [future for message, future in bus.held if message["type"] == "pop"]
        assert len(pops) == 1 and not any(future.done() for _, future in bus.held)
        # The call's row does not wait for the bus; the audit does (nothing answered yet).
        await eventually(lambda: CallLog(engine).get(CALL), what="the call's log row")
        assert await _views(engine) == []

        bus.answer(pop_seq=1 if pop_went_out else 0)
        await state.flush()
        views = await _views(engine)
        if pop_went_out:
            assert sorted(views) == [("LS0001", CALL), ("LS0002", CALL)]
        else:
            assert views == []  # another node's pop went out, and its audit
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
