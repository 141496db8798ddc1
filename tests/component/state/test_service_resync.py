"""After a reconnect the state service rebuilds from the resync and closes what ended."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.ami import Event
from cti.bus import BROADCAST, InProcessBus
from cti.state import CallLog, CallTracker, StateService, WrapupRejected
from locator import Locator
from seats import SeatDirectory
from tests.support.recordings import list_events, recording_events


@dataclass(frozen=True)
class Resync:
    """The shape cti.ami.client hands to `on_resynced`."""

    at: datetime
    queue_status: Sequence[Event]
    channels: Sequence[Event]


@pytest.fixture
async def stack(
    engine: AsyncEngine, locator: Locator
) -> AsyncIterator[tuple[StateService, InProcessBus, SeatDirectory]]:
    seats = SeatDirectory()
    seats.login("a01", "seat01")
    seats.login("a21", "seat21")
    seats.login("a07", "seat07")
    bus = InProcessBus()
    state = StateService(CallTracker(seats), bus, locator, CallLog(engine))
    writer = asyncio.create_task(state.run())
    yield state, bus, seats
    await state.flush()  # no database write may be cut off half way
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer


async def test_restart_wipes_members_tells_agents_and_logs_the_lost_caller(
    stack: tuple[StateService, InProcessBus, SeatDirectory], engine: AsyncEngine, traces_dir: Path
) -> None:
    state, bus, _ = stack
    for event in recording_events(traces_dir / "10a-restart-before.ami"):
        await state.on_event(event)
    assert [m["queues"][0]["paused_reason"] for m in await bus.since("a01", 0)][-1] == "meal"

    after = traces_dir / "10b-restart-after.ami"
    at = datetime.now(UTC)  # the snapshot is newer than every event handled
    await state.on_resynced(
        Resync(at, list_events(after, "QueueStatus"), list_events(after, "CoreShowChannels"))
    )
    await state.flush()

    tail = list(await bus.since("a01", 0))[-2:]
    assert [m["type"] for m in tail] == ["state", "resynced"]
    assert tail[0]["queues"] == [] and tail[1]["at"] == at.isoformat(timespec="seconds")
    supervisors = [m for m in await bus.since(BROADCAST, 0) if m["type"] == "resynced"]
    assert supervisors[-1]["members"] == []

    entry = await CallLog(engine).get("1795420197.5")
    assert entry is not None
    assert (entry.outcome, entry.closed_on_resync, entry.queue, entry.resident_ids) == (
        "abandoned",
        True,
        "q-ko",
        "LS0004",
    )


async def test_wrapup_is_refused_while_the_call_is_still_going(
    stack: tuple[StateService, InProcessBus, SeatDirectory], traces_dir: Path
) -> None:
    state, _, _ = stack
    for event in recording_events(traces_dir / "03-call-answered.ami"):
        await state.on_event(event)
        if event.name == "AgentConnect":
            break
    with pytest.raises(WrapupRejected):
        await state.save_wrapup("1795361778.1", "a07", "resolved", "")
