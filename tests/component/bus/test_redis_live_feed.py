"""A lost Redis pub/sub connection never leaves an open subscription silent (issue 15).

The live listener is re-made, and every open subscription reads what it missed from the
stream: no gap, no duplicate, and later messages keep coming.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from cti.bus import redis_feed
from cti.bus.redis import RedisBus
from cti.bus.redis_feed import LiveFeed
from tests.support.private_redis import PrivateRedis
from tests.support.redis import REDIS_URL, delete_keys
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually

pytestmark = pytest.mark.redis


async def _kill_pubsub_connections() -> int:
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        return int(await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub"))
    finally:
        await admin.aclose()


@pytest.mark.parametrize("reader", ["live feed protocol", "redis-py pub/sub (TLS, unix socket)"])
async def test_a_killed_pubsub_connection_is_remade_and_the_subscription_catches_up(
    reader: str,
) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    reader_node = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    writer_node = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    assert reader_node._feed is not None, "plain TCP: the bus reads the feed itself"
    if reader.startswith("redis-py"):
        reader_node._feed = None
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


async def test_a_nodes_own_live_messages_are_passed_over_before_they_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Node A's reader gets A's own messages when A's scripts reply; the live feed brings them
    # back too, and they must cost no decoding: only B's message reaches `_on_live`.
    prefix = f"test:{uuid.uuid4().hex}:"
    node_a = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    node_b = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    read_live: list[bytes | str] = []
    on_live = node_a._on_live

    def counting_on_live(data: bytes | str) -> None:
        read_live.append(data)
        on_live(data)

    monkeypatch.setattr(node_a, "_on_live", counting_on_live)
    got: list[tuple[int, str]] = []

    async def read() -> None:
        async for message in node_a.subscribe("a1"):
            got.append((message["seq"], message["type"]))

    reading = asyncio.create_task(read())
    try:
        await eventually(lambda: "a1" in node_a._local.subscribers, what="the reader attached")
        for _ in range(20):
            node_a.post("a1", {"type": "state"})
        await node_a.publish("a1", {"type": "pop"})
        await node_b.publish("a1", {"type": "retract"})
        await eventually(lambda: len(got) >= 22, within_s=5, what="all 22 messages")
        feed = node_a._feed
        assert feed is not None
        await eventually(lambda: feed.skipped == 21, within_s=5, what="A's 21 passed over")
        assert got == [(seq, "state") for seq in range(1, 21)] + [(21, "pop"), (22, "retract")]
        assert len(read_live) == 1
        assert isinstance(read_live[0], bytes) and b'"retract"' in read_live[0]
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        await node_a.close()
        await node_b.close()
        await delete_keys(prefix)


async def test_a_live_feed_gone_quiet_is_pinged_remade_and_the_subscription_catches_up(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A network that holds packets (no FIN, no RST): the connection looks open and nothing
    # comes. The unanswered PING ends it; the feed is made again once the network is back
    # and the reader reads from the stream what it missed meanwhile.
    monkeypatch.setattr(redis_feed, "PING_AFTER_S", 0.2)
    monkeypatch.setattr(redis_feed, "REPLY_TIMEOUT_S", 0.3)
    monkeypatch.setattr(redis_feed, "CONNECT_TIMEOUT_S", 0.5)
    proxy = TcpProxy("127.0.0.1", 6379)
    port = await proxy.start()
    prefix = f"test:{uuid.uuid4().hex}:"
    reader_node = RedisBus(aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0"), prefix=prefix)
    writer_node = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    got: list[tuple[int, str]] = []

    async def read() -> None:
        async for message in reader_node.subscribe("a1", after=0):
            got.append((message["seq"], message["type"]))

    reading = asyncio.create_task(read())
    try:
        await writer_node.publish("a1", {"type": "pop"})
        await eventually(lambda: got == [(1, "pop")], what="the first message, live")
        proxy.hold()
        await writer_node.publish("a1", {"type": "retract"})
        await eventually(
            lambda: "live feed lost (TimeoutError)" in caplog.text,
            within_s=5,
            what="the quiet feed given up",
        )
        assert got == [(1, "pop")]
        proxy.release()
        await eventually(lambda: len(got) >= 2, within_s=10, what="caught up")
        await writer_node.publish("a1", {"type": "pop"})
        await eventually(lambda: len(got) >= 3, within_s=5, what="live again")
        assert got == [(1, "pop"), (2, "retract"), (3, "pop")]
    finally:
        proxy.release()
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        await reader_node.close()
        await writer_node.close()
        await proxy.stop()
        await delete_keys(prefix)


async def test_an_auth_redis_refuses_ends_the_feed_with_its_error() -> None:
    # The shared Redis has no password: AUTH is refused, and `run` says so instead of
    # reading a feed it was never let into.
    feed = LiveFeed("127.0.0.1", 6379, "test:live", b"x\n", password="not-set-here")
    subscribed: list[bool] = []
    with pytest.raises(aioredis.ResponseError):
        await feed.run(lambda payload: None, lambda: subscribed.append(True))
    assert subscribed == []


async def test_after_redis_restarts_the_buses_first_reads_do_not_fail_on_dead_connections(
    private_redis: PrivateRedis,
) -> None:
    # The live feed sees Redis go first; the pool's idle connections died with it. The node's
    # write-back after a restart (`restore_head`) must not fail once on one of them (the
    # page's socket would then be cut for a history that looked lost).
    bus = RedisBus.from_url(private_redis.url, prefix="t:")
    got: list[int] = []

    async def read() -> None:
        async for message in bus.subscribe("a1", after=0):
            got.append(message["seq"])

    reading = asyncio.create_task(read())
    try:
        await bus.publish("a1", {"type": "pop"})
        await eventually(lambda: got == [1], what="the first message")
        assert await bus.head("a1") == 1  # a pooled connection, idle from now on
        await asyncio.to_thread(private_redis.stop)
        await eventually(lambda: not bus._listening.is_set(), what="the feed lost")
        await asyncio.to_thread(private_redis.start)
        await bus.restore_head("a1", 1)
        assert await bus.head("a1") == 1
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        await bus.close()
