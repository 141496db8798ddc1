"""One contract, two buses: the in-process bus and the Redis bus on the real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from cti.bus import BROADCAST, Bus, InProcessBus, Message, RedisBus, SlowSubscriber
from tests.support.redis import REDIS_URL, delete_keys

MakeBus = Callable[..., Awaitable[Bus]]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make_bus(request: pytest.FixtureRequest) -> AsyncIterator[MakeBus]:
    """Builds buses of one kind; Redis ones share a unique key prefix (as two nodes would)."""
    prefix = f"test:{uuid.uuid4().hex}:"
    made: list[Bus] = []

    async def make(**kwargs: int) -> Bus:
        bus: Bus
        if request.param == "memory":
            bus = made[0] if made else InProcessBus(**kwargs)
        else:
            bus = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix, **kwargs)
        made.append(bus)
        return bus

    yield make
    for bus in {id(b): b for b in made}.values():
        await bus.close()
    if request.param == "redis":
        await delete_keys(prefix)


async def take(it: AsyncIterator[Message], n: int) -> list[Message]:
    out = []
    for _ in range(n):
        out.append(await asyncio.wait_for(anext(it), 5))
    return out


async def test_seq_increases_per_agent_and_is_stored_in_the_message(make_bus: MakeBus) -> None:
    bus = await make_bus()
    first = {"type": "pop", "call_id": "1.1"}
    assert await bus.publish("a1", first) == 1
    assert first["seq"] == 1
    assert await bus.publish("a1", {"type": "retract"}) == 2
    assert await bus.publish("a2", {"type": "pop"}) == 1


async def test_head_is_the_newest_seq_of_each_agent(make_bus: MakeBus) -> None:
    bus = await make_bus()
    assert await bus.head("a1") == 0
    for _ in range(3):
        await bus.publish("a1", {"type": "pop"})
    await bus.publish("a2", {"type": "pop"})
    assert (await bus.head("a1"), await bus.head("a2")) == (3, 1)
    assert await bus.head("a1") == (await bus.since("a1", 0))[-1]["seq"]


async def test_since_returns_what_came_after_a_seq_in_order(make_bus: MakeBus) -> None:
    bus = await make_bus()
    for i in range(5):
        await bus.publish("a1", {"type": "state", "n": i})
    missed = await bus.since("a1", 2)
    assert [m["seq"] for m in missed] == [3, 4, 5]
    assert [m["n"] for m in missed] == [2, 3, 4]
    assert not missed.truncated
    assert list(await bus.since("a1", 5)) == []


async def test_since_says_when_history_was_truncated(make_bus: MakeBus) -> None:
    bus = await make_bus(history=3)
    for i in range(10):
        await bus.publish("a1", {"type": "state", "n": i})
    missed = await bus.since("a1", 2)
    assert missed.truncated
    assert [m["seq"] for m in missed] == [8, 9, 10]
    assert missed.oldest_seq == 8
    assert not (await bus.since("a1", 7)).truncated


async def test_subscriber_gets_live_messages_with_utf8_intact(make_bus: MakeBus) -> None:
    bus = await make_bus()
    it = aiter(bus.subscribe("a1"))
    reader = asyncio.ensure_future(take(it, 2))
    await asyncio.sleep(0.05)
    await bus.publish("a1", {"type": "pop", "caller": {"name": "张先生 O'Brien"}})
    await bus.publish("a1", {"type": "retract"})
    got = await reader
    assert [m["seq"] for m in got] == [1, 2]
    assert got[0]["caller"]["name"] == "张先生 O'Brien"


async def test_an_agent_receives_only_their_own_messages(make_bus: MakeBus) -> None:
    bus = await make_bus()
    it = aiter(bus.subscribe("a1"))
    reader = asyncio.ensure_future(take(it, 1))
    await asyncio.sleep(0.05)
    await bus.publish("a2", {"type": "pop", "for": "a2"})
    await bus.publish("a1", {"type": "pop", "for": "a1"})
    assert [m["for"] for m in await reader] == ["a1"]


async def test_subscribe_after_a_seq_resumes_without_gap_or_duplicate(make_bus: MakeBus) -> None:
    bus = await make_bus()
    for i in range(4):
        await bus.publish("a1", {"type": "pop", "n": i})
    it = aiter(bus.subscribe("a1", after=2))
    reader = asyncio.ensure_future(take(it, 4))
    await asyncio.sleep(0.05)
    for i in range(4, 6):
        await bus.publish("a1", {"type": "pop", "n": i})
    assert [m["seq"] for m in await reader] == [3, 4, 5, 6]


async def test_slow_subscriber_is_cut_off_and_publishers_never_wait(make_bus: MakeBus) -> None:
    bus = await make_bus(subscriber_queue=5)
    it = aiter(bus.subscribe("a1"))
    first = asyncio.ensure_future(anext(it))
    await asyncio.sleep(0.05)
    await bus.publish("a1", {"type": "pop", "n": 0})
    await asyncio.wait_for(first, 5)
    async with asyncio.timeout(5):
        for i in range(1, 50):
            await bus.publish("a1", {"type": "pop", "n": i})
    await asyncio.sleep(0.2)  # let the Redis listener deliver the burst
    with pytest.raises(SlowSubscriber):
        async with asyncio.timeout(5):
            while True:
                await anext(it)
    # Nothing was lost for the reconnecting client: history still has the burst.
    assert [m["n"] for m in await bus.since("a1", 45)] == [45, 46, 47, 48, 49]


async def test_broadcast_channel_reaches_supervisors(make_bus: MakeBus) -> None:
    bus = await make_bus()
    it = aiter(bus.subscribe(BROADCAST))
    reader = asyncio.ensure_future(take(it, 1))
    await asyncio.sleep(0.05)
    assert await bus.broadcast({"type": "member", "queue": "q-zh"}) == 1
    assert (await reader)[0]["queue"] == "q-zh"


@pytest.mark.redis
async def test_redis_seq_and_resume_are_shared_between_nodes() -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    node1 = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    node2 = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    try:
        # From seq 0: however late node 2's live feed starts, nothing published is missed.
        it = aiter(node2.subscribe("a1", after=0))
        reader = asyncio.ensure_future(take(it, 3))
        assert await node1.publish("a1", {"type": "pop"}) == 1
        assert await node2.publish("a1", {"type": "retract"}) == 2
        assert await node1.publish("a1", {"type": "pop"}) == 3
        assert [(m["seq"], m["type"]) for m in await reader] == [
            (1, "pop"),
            (2, "retract"),
            (3, "pop"),
        ]
        assert [m["seq"] for m in await node2.since("a1", 1)] == [2, 3]
    finally:
        await node1.close()
        await node2.close()
        await delete_keys(prefix)


@pytest.mark.redis
async def test_redis_bus_serves_a_thousand_concurrent_replays_without_running_out() -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    bus = RedisBus.from_url(REDIS_URL, prefix=prefix, max_connections=8)
    try:
        await bus.publish("a1", {"type": "pop"})
        histories = await asyncio.gather(*(bus.since("a1", 0) for _ in range(1000)))
        assert {len(h) for h in histories} == {1}
    finally:
        await bus.close()
        await delete_keys(prefix)


async def test_a_message_published_once_by_two_nodes_goes_out_once(make_bus: MakeBus) -> None:
    node_a, node_b = await make_bus(), await make_bus()
    reader = node_b.subscribe("a1", after=0)
    assert await node_a.publish("a1", {"type": "pop", "call_id": "1.1"}, once="pop:1.1:1") == 1
    repeat = {"type": "pop", "call_id": "1.1"}
    assert await node_b.publish("a1", repeat, once="pop:1.1:1") == 0
    assert "seq" not in repeat
    # Another key, another agent with the same key, and no key at all: each goes out.
    assert await node_b.publish("a1", {"type": "pop", "call_id": "1.1"}, once="pop:1.1:2") == 2
    assert await node_a.publish("a2", {"type": "pop", "call_id": "1.1"}, once="pop:1.1:1") == 1
    assert await node_a.publish("a1", {"type": "state"}) == 3
    assert await node_b.broadcast({"type": "queue"}, once="q:1") == 1
    assert await node_a.broadcast({"type": "queue"}, once="q:1") == 0
    got = await take(reader, 3)
    assert [m["seq"] for m in got] == [1, 2, 3]
    assert [m["type"] for m in got] == ["pop", "pop", "state"]
    assert list(await node_a.since("a1", 3)) == []
