"""The Redis bus's ordered publisher (issue 15, faster): `post` queues a message and returns
at once; what is queued while a batch is in flight goes out as the next batch, one pipeline
on one connection, so a node's messages keep their order per agent and overall, and a
`once` post still learns whether its copy went out. A batch Redis cannot take is delivered
to this node's readers marked `degraded`, in order, and each post's future holds the error.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from cti.bus import Message
from cti.bus.redis import RedisBus
from tests.support.private_redis import HAVE_REDIS_SERVER, PrivateRedis
from tests.support.redis import REDIS_URL
from tests.support.waiting import eventually

pytestmark = pytest.mark.redis


async def test_posts_keep_their_order_per_agent_and_overall_without_waiting(
    prefix: str,
) -> None:
    bus = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    agents = ("a1", "a2", "a3")
    try:
        posted = [
            (agents[n % 3], n, bus.post(agents[n % 3], {"type": "pop", "n": n})) for n in range(300)
        ]
        # Nothing was waited for: every post is still out when the last one is made.
        assert not any(future.done() for _, _, future in posted)
        seqs = [await future for _, _, future in posted]
        for agent in agents:
            mine = [(n, seq) for (a, n, _), seq in zip(posted, seqs, strict=True) if a == agent]
            assert [seq for _, seq in mine] == list(range(1, 101)), agent
            stream = await bus.since(agent, 0)
            assert [m["n"] for m in stream] == [n for n, _ in mine], agent
        # Overall order: the posts went out in the order made, so the once key taken by the
        # first post is already taken for the second.
        first = bus.post("a1", {"type": "pop", "call_id": "9.1"}, once="pop:9.1")
        second = bus.post("a1", {"type": "pop", "call_id": "9.1"}, once="pop:9.1")
        assert (await first, await second) == (101, 0)
    finally:
        await bus.close()


async def test_without_the_link_posts_go_out_as_pipelined_batches_in_order(
    prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Over TLS or a Unix socket the bus publishes through redis-py pipelines instead.
    bus = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    monkeypatch.setattr(bus, "_link", None)
    batches: list[int] = []
    send = bus._send

    async def counted(batch: list[Any]) -> list[Any]:
        batches.append(len(batch))
        return await send(batch)

    monkeypatch.setattr(bus, "_send", counted)
    try:
        posted = [bus.post("a1", {"type": "pop", "n": n}) for n in range(100)]
        posted.append(bus.post("a1", {"type": "pop"}, once="k"))
        posted.append(bus.post("a1", {"type": "pop"}, once="k"))
        assert [await future for future in posted] == [*range(1, 102), 0]
        assert [m.get("n") for m in await bus.since("a1", 0)] == [*range(100), None]
        assert sum(batches) == 102 and len(batches) < 10  # many posts a round trip
    finally:
        await bus.close()


async def test_a_post_waits_for_no_earlier_reply_and_a_publish_is_ordered_with_posts(
    prefix: str,
) -> None:
    bus = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    try:
        early = bus.post("a1", {"type": "state"})
        assert await bus.publish("a1", {"type": "pop"}) == 2
        assert early.done() and early.result() == 1
        assert [m["type"] for m in await bus.since("a1", 0)] == ["state", "pop"]
    finally:
        await bus.close()


async def test_close_sends_what_was_posted_first(prefix: str) -> None:
    bus = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    posted = [bus.post("a1", {"type": "pop", "n": n}) for n in range(20)]
    await bus.close()
    assert [future.result() for future in posted] == list(range(1, 21))
    reader = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    try:
        assert [m["n"] for m in await reader.since("a1", 0)] == list(range(20))
    finally:
        await reader.close()


@pytest.mark.skipif(not HAVE_REDIS_SERVER, reason="no redis-server")
@pytest.mark.timeout(60)
async def test_posts_redis_cannot_take_reach_this_nodes_readers_degraded_in_order(
    private_redis: PrivateRedis,
) -> None:
    bus = RedisBus.from_url(private_redis.url, prefix="t:")
    got: list[Message] = []

    async def read() -> None:
        async for message in bus.subscribe("a1", after=0):
            got.append(message)

    reading = asyncio.create_task(read())
    try:
        await eventually(lambda: "a1" in bus._local.subscribers, what="the reader attached")
        assert await bus.post("a1", {"type": "pop", "n": 0}) == 1
        await asyncio.to_thread(private_redis.stop)
        posted = [bus.post("a1", {"type": "pop", "n": n}) for n in (1, 2, 3)]
        for future in posted:
            with pytest.raises((RedisError, OSError)):
                await future
        await eventually(lambda: len(got) == 4, within_s=10, what="the degraded messages")
        assert [(m["n"], m.get("seq"), m.get("degraded")) for m in got] == [
            (0, 1, None),
            (1, None, True),
            (2, None, True),
            (3, None, True),
        ]
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        await bus.close()
