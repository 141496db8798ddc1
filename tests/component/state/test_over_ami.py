"""The real AMI client reading the real recordings from the replay peer over TCP, feeding
the state service (real Locator, call log, in-process bus)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.ami import AMIClient, ClientAction, ReplayPeer, load_trace
from cti.bus import InProcessBus
from cti.settings import AMISettings
from cti.state import CallLog, CallTracker, StateService
from locator import Locator
from seats import SeatDirectory
from tests.support.waiting import eventually

SEATS = {"seat05": "a05", "seat07": "a07", "seat21": "a21", "seat22": "a22", "seat31": "a31"}


async def feed_of(bus: InProcessBus, agent: str) -> list[tuple[str, str]]:
    return [(m["type"], m["call_id"]) for m in await bus.since(agent, 0) if "call_id" in m]


@pytest.fixture
async def stack(
    engine: AsyncEngine, locator: Locator
) -> AsyncIterator[tuple[StateService, InProcessBus]]:
    seats = SeatDirectory()
    for seat, agent in SEATS.items():
        seats.login(agent, seat)
    bus = InProcessBus()
    state = StateService(CallTracker(seats), bus, locator, CallLog(engine))
    writer = asyncio.create_task(state.run())
    yield state, bus
    await state.flush()
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer


async def play(path: Path, state: StateService) -> None:
    """Connect the client to the peer, then send the recording's actions as it did."""
    resyncs: list[object] = []
    async with ReplayPeer(path, chunk="random") as peer:
        client = AMIClient(AMISettings(port=peer.port, backoff_min_s=0.05, backoff_max_s=0.2))
        client.subscribe(state.on_event)
        client.on_resynced(state.on_resynced)
        client.on_resynced(resyncs.append)
        await client.start()
        try:
            await eventually(lambda: bool(resyncs))
            for step in load_trace(path):
                if not isinstance(step, ClientAction) or step.name in ("Login", "Logoff"):
                    continue
                fields = [
                    (k, v) for k, v in step.headers if k.lower() not in ("action", "actionid")
                ]
                await client.send(step.name, fields, idempotent=step.name != "Originate")
            await asyncio.sleep(0.05)  # the events after the last answer
        finally:
            await client.stop()


@pytest.mark.parametrize(
    ("recording", "agent", "feed", "outcome"),
    [
        (
            "03-call-answered.ami",
            "a07",
            ["pop", "answered", "completed"],
            ("1795361778.1", "answered"),
        ),
        ("05-ring-no-answer.ami", "a21", ["pop", "retract", "pop"], None),
        ("09-abandon-while-ringing.ami", "a05", ["pop", "retract"], ("1795420184.1", "abandoned")),
        ("04-call-abandoned.ami", "a31", [], ("1795361785.5", "abandoned")),
    ],
)
async def test_recording_through_the_ami_client_reaches_the_right_agent(
    stack: tuple[StateService, InProcessBus],
    engine: AsyncEngine,
    traces_dir: Path,
    recording: str,
    agent: str,
    feed: list[str],
    outcome: tuple[str, str] | None,
) -> None:
    state, bus = stack
    await play(traces_dir / recording, state)
    async with asyncio.timeout(10):
        while len(await feed_of(bus, agent)) < len(feed):  # noqa: ASYNC110 - polling the bus
            await asyncio.sleep(0.01)
    assert [kind for kind, _ in await feed_of(bus, agent)] == feed
    for other in SEATS.values():
        if other != agent:
            assert await feed_of(bus, other) == [], other
    if outcome is not None:
        call_id, expected = outcome
        await state.flush()
        entry = await CallLog(engine).get(call_id)
        assert entry is not None and entry.outcome == expected


async def test_pop_through_the_ami_client_names_the_household(
    stack: tuple[StateService, InProcessBus], traces_dir: Path
) -> None:
    state, bus = stack
    await play(traces_dir / "03-call-answered.ami", state)
    pop = next(m for m in await bus.since("a07", 0) if m["type"] == "pop")
    assert [r["id"] for r in pop["residents"]] == ["LS0001", "LS0002"]
    assert pop["caller"]["name"] == "张先生"
