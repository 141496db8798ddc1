"""A lost Redis pub/sub connection never leaves an open subscription silent (issue 15).

The live listener is re-made, and every open subscription reads what it missed from the
stream: no gap, no duplicate, and later messages keep coming.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from cti.bus.redis import RedisBus
from tests.support.redis import REDIS_URL, delete_keys
from tests.support.waiting import eventually

pytestmark = pytest.mark.redis


async def _kill_pubsub_connections() -> int:
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        return int(await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub"))
    finally:
        await admin.aclose()


async def test_a_killed_pubsub_connection_is_remade_and_the_subscription_catches_up() -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    reader_node = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    writer_node = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    got: list[tuple[int, str]] = []

    async def read() -> None:
        async for message in reader_node.subscribe("a1", after=0):
            got.append((message["seq"], message["type"]))

    reading = asyncio.create_task(read())
    try:
        await writer_node.publish("a1", {"type": "pop"})
        await eventually(lambda: got == [(1, "pop")], what="the first message, live")
        assert await _kill_pubsub_connections() >= 1
        # Published while the live feed is down or coming back: must not be lost.
        await writer_node.publish("a1", {"type": "retract"})
        await eventually(lambda: len(got) >= 2, within_s=5, what="caught up after the kill")
        await writer_node.publish("a1", {"type": "pop"})
        await eventually(lambda: len(got) >= 3, within_s=5, what="live again")
        assert got == [(1, "pop"), (2, "retract"), (3, "pop")]
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        await reader_node.close()
        await writer_node.close()
        await delete_keys(prefix)


async def test_an_agents_history_expires_a_day_after_the_last_message() -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    bus = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        await bus.publish("a1", {"type": "pop", "caller": {"name": "张先生"}})
        keys = [k async for k in admin.scan_iter(match=f"{prefix}*")]
        ttls = {k: await admin.pttl(k) for k in keys if not k.endswith(b"live")}
        assert ttls, "the stream and the seq counter are in Redis"
        assert all(23 * 3600 * 1000 < ttl <= 24 * 3600 * 1000 for ttl in ttls.values()), ttls
    finally:
        await bus.close()
        await admin.aclose()
        await delete_keys(prefix)


async def test_the_publishing_node_hands_its_message_to_its_readers_without_the_live_feed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Node A's live feed delivers nothing (as if slow): its reader still gets A's own message
    # as soon as A publishes it, and B's earlier one, filled in from the stream in seq order.
    prefix = f"test:{uuid.uuid4().hex}:"
    node_a = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    node_b = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    monkeypatch.setattr(node_a, "_on_live", lambda data: None)
    got: list[tuple[int, str]] = []

    async def read() -> None:
        async for message in node_a.subscribe("a1", after=0):
            got.append((message["seq"], message["type"]))

    reading = asyncio.create_task(read())
    try:
        await eventually(lambda: "a1" in node_a._local.subscribers, what="the reader attached")
        assert await node_b.publish("a1", {"type": "pop"}) == 1
        assert await node_a.publish("a1", {"type": "retract"}) == 2
        await eventually(lambda: len(got) >= 2, within_s=5, what="both messages")
        assert got == [(1, "pop"), (2, "retract")]
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        await node_a.close()
        await node_b.close()
        await delete_keys(prefix)


async def test_an_unreadable_live_message_is_skipped_and_the_feed_goes_on() -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    reader_node = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    writer_node = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    admin = aioredis.Redis.from_url(REDIS_URL)
    got: list[tuple[int, str]] = []

    async def read() -> None:
        async for message in reader_node.subscribe("a1"):
            got.append((message["seq"], message["type"]))

    reading = asyncio.create_task(read())
    try:
        await eventually(lambda: "a1" in reader_node._local.subscribers, what="reader attached")
        for stray in (b"garbage", b"x\na1\nnot-a-seq\n{}", b"x\na1\n7\n{not json"):
            await admin.publish(f"{prefix}live", stray)
        await writer_node.publish("a1", {"type": "pop"})
        await eventually(lambda: got == [(1, "pop")], within_s=5, what="the real message")
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        await admin.aclose()
        await reader_node.close()
        await writer_node.close()
        await delete_keys(prefix)
