"""Two and three CTI nodes reading the same AMI stream, on one Redis and one database.

Every node keeps the call state; what happened to a call goes out once per key whichever
node is first, and snapshots only from the acting node. So the agents' streams are exactly
what one node alone would send, each call is logged once and each resident shown once is
audited once — also when the acting node dies in the middle of the 60-call burst.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.ami import Event
from cti.bus import Bus, InProcessBus, RedisBus
from cti.state import CallLog, CallTracker, StateService
from locator import Locator
from seats import SeatDirectory
from tests.support.clocks import SteppingClock
from tests.support.recordings import recording_events
from tests.support.redis import REDIS_URL

pytestmark = pytest.mark.redis

RECORDINGS = (
    "03-call-answered.ami",  # a registered household: its residents are audited
    "08-burst-60-calls.ami",
    "05-ring-no-answer.ami",
    "09-abandon-while-ringing.ami",
)
SEATS = [f"seat{n:02d}" for n in range(1, 53)]


def seated() -> SeatDirectory:
    seats = SeatDirectory()
    for seat in SEATS:
        seats.login(f"agent-{seat}", seat)
    return seats


def events(traces_dir: Path) -> list[Event]:
    return [e for name in RECORDINGS for e in recording_events(traces_dir / name)]


class Node:
    """One node's bus and state service; `acting` is its lease (a flag here)."""

    def __init__(self, bus: Bus, state: StateService) -> None:
        self.bus = bus
        self.state = state
        self.writer = asyncio.create_task(state.run())

    async def stop(self) -> None:
        await self.state.flush()
        self.writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.writer
        await self.bus.close()


async def start_nodes(
    n: int, prefix: str, engine: AsyncEngine, locator: Locator, acting: Callable[[int], bool]
) -> list[Node]:
    nodes = []
    for i in range(n):
        bus = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
        state = StateService(
            CallTracker(seated()),
            bus,
            locator,
            CallLog(engine),
            clock=SteppingClock(),
            acting=lambda i=i: acting(i),
        )
        nodes.append(Node(bus, state))
    return nodes


Expected = tuple[dict[str, list[dict[str, object]]], set[str]]


async def alone(traces_dir: Path, locator: Locator) -> Expected:
    """What one node alone sends each agent, and the calls it finishes (to be logged)."""
    bus = InProcessBus()
    state = StateService(CallTracker(seated()), bus, locator, None, clock=SteppingClock())
    finished: set[str] = set()
    state.on_call_finished(lambda record, ids, emergency: finished.add(record.call_id))
    for event in events(traces_dir):
        await state.on_event(event)
    return {f"agent-{s}": strip(await bus.since(f"agent-{s}", 0)) for s in SEATS}, finished


# Each node's own clock (its tick task reads it too): how long a caller waited may differ by
# a few ms between nodes, and the first node's figure is the one sent.
CLOCKED = ("seq", "waited_s", "talk_s", "ring_s")


def strip(messages: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in m.items() if k not in CLOCKED} for m in messages]


async def feed(
    nodes: list[Node], event_list: list[Event], alive: Callable[[int, int], bool]
) -> None:
    """Every living node gets every event; who handles it first turns round (as two nodes'
    AMI connections race), so each node publishes first some of the time.

    The nodes go in step: every living node's messages of an event are answered by Redis
    before any node reads the next one (`settled`; the event path itself does not wait for
    the bus). Without that step a snapshot the acting node sent for event k may land after
    a pop another node won for event k + 1, and the streams would differ from one node's
    in order — as they may in production, where nothing orders two nodes' reads."""
    for k, event in enumerate(event_list):
        order = [(k + j) % len(nodes) for j in range(len(nodes))]
        await asyncio.gather(
            *(nodes[i].state.on_event(event) for i in order if alive(i, k)),
        )
        await asyncio.gather(*(nodes[i].state.settled() for i in order if alive(i, k)))


async def check_once(nodes: list[Node], engine: AsyncEngine, expected: Expected) -> None:
    streams, finished = expected
    pops = 0
    for agent, wanted in streams.items():
        got = strip(await nodes[-1].bus.since(agent, 0))
        seqs = [m["seq"] for m in await nodes[0].bus.since(agent, 0)]
        assert seqs == list(range(1, len(seqs) + 1)), agent  # no gap, no repeat
        calls = [m for m in got if m["type"] != "state"]
        assert calls == [m for m in wanted if m["type"] != "state"], agent
        pops += sum(1 for m in got if m["type"] == "pop")
    assert pops == 64  # every AgentCalled of the recordings (1 + 60 + 2 + 1)
    async with engine.connect() as conn:
        logged = (await conn.execute(text("SELECT call_id FROM call_log"))).scalars().all()
        views = (
            await conn.execute(text("SELECT resident_id, viewer, call_id FROM resident_view"))
        ).all()
    assert sorted(logged) == sorted(finished) and len(finished) > 60
    repeated = [key for key, count in Counter(tuple(v) for v in views).items() if count > 1]
    assert views and not repeated


@pytest.mark.parametrize("count", [2, 3])
async def test_each_ring_pops_once_and_each_call_is_logged_once(
    count: int, prefix: str, engine: AsyncEngine, locator: Locator, traces_dir: Path
) -> None:
    expected = await alone(traces_dir, locator)
    nodes = await start_nodes(count, prefix, engine, locator, acting=lambda i: i == 0)
    try:
        await feed(nodes, events(traces_dir), alive=lambda i, k: True)
        for node in nodes:
            await node.state.flush()
        await check_once(nodes, engine, expected)
        # Snapshots come from the acting node only: the agents' queue/pause states too are
        # exactly one node's.
        for agent, wanted in expected[0].items():
            got = strip(await nodes[1].bus.since(agent, 0))
            assert got == wanted, agent
    finally:
        for node in nodes:
            await node.stop()


@pytest.mark.parametrize("count", [2, 3])
async def test_the_acting_node_dies_mid_burst_and_no_pop_is_lost_or_doubled(
    count: int, prefix: str, engine: AsyncEngine, locator: Locator, traces_dir: Path
) -> None:
    expected = await alone(traces_dir, locator)
    event_list = events(traces_dir)
    dies_at = len(event_list) // 3  # node 0 (acting) dies here, in the middle of the burst
    nodes = await start_nodes(count, prefix, engine, locator, acting=lambda i: i == 0)
    try:
        await feed(nodes, event_list, alive=lambda i, k: i != 0 or k < dies_at)
        for node in nodes:
            await node.state.flush()
        await check_once(nodes, engine, expected)
    finally:
        for node in nodes:
            await node.stop()
