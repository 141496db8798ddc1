"""A lost Redis pub/sub connection never leaves an open subscription silent (issue 15).

The live listener is re-made, and every open subscription reads what it missed from the
stream: no gap, no duplicate, and later messages keep coming.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

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


async def _kill_pubsub_connections() -> None:
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        killed = int(await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub"))
    finally:
        await admin.aclose()
    assert killed >= 1, "no pub/sub connection to kill"


@dataclass
class _Nodes:
    """Two nodes on `prefix`; what `reader` read of agent a1 is in `got`."""

    prefix: str
    reader: RedisBus
    writer: RedisBus
    got: list[tuple[int, str]] = field(default_factory=list)  # (seq, type) as read


@contextlib.asynccontextmanager
async def _two_nodes(
    reader_url: str = REDIS_URL, *, live_feed: bool = True
) -> AsyncIterator[_Nodes]:
    """A reader node on `reader_url` and a writer node on the shared Redis, under a prefix
    of their own. The reader reads the live feed itself (plain TCP), or with
    `live_feed=False` through redis-py's pub/sub (as on TLS or a Unix socket). Afterwards
    both are closed and the prefix deleted."""
    prefix = f"test:{uuid.uuid4().hex}:"
    nodes = _Nodes(
        prefix,
        RedisBus(aioredis.Redis.from_url(reader_url), prefix=prefix),
        RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix),
    )
    try:
        assert nodes.reader._feed is not None, "plain TCP: the bus reads the feed itself"
        if not live_feed:
            nodes.reader._feed = None
        yield nodes
    finally:
        await nodes.reader.close()
        await nodes.writer.close()
        await delete_keys(prefix)


@contextlib.asynccontextmanager
async def _reading(nodes: _Nodes, after: int | None = None) -> AsyncIterator[None]:
    """The reader subscribed to agent a1 (from seq `after`, or only what comes live) for the
    block, each message's (seq, type) added to `nodes.got`."""

    async def read() -> None:
        async for message in nodes.reader.subscribe("a1", after=after):
            nodes.got.append((message["seq"], message["type"]))

    reading = asyncio.create_task(read())
    try:
        yield
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)


async def _assert_no_gap_around(
    nodes: _Nodes,
    cut: Callable[[], Awaitable[None]],
    *,
    while_cut: Callable[[], Awaitable[None]] | None = None,
    catch_up_within_s: float = 5,
    caught_up: str = "caught up",
) -> None:
    """A pop read live; `cut` (the reader's live feed lost); a retract published; `while_cut`;
    the retract read from the stream within `catch_up_within_s` (`caught_up` names the wait);
    a second pop read live again: those three exactly, in seq order."""
    await nodes.writer.publish("a1", {"type": "pop"})
    await eventually(lambda: nodes.got == [(1, "pop")], what="the first message, live")
    await cut()
    # Published while the live feed is down or coming back: must not be lost.
    await nodes.writer.publish("a1", {"type": "retract"})
    if while_cut is not None:
        await while_cut()
    await eventually(lambda: len(nodes.got) >= 2, within_s=catch_up_within_s, what=caught_up)
    await nodes.writer.publish("a1", {"type": "pop"})
    await eventually(lambda: len(nodes.got) >= 3, within_s=5, what="live again")
    assert nodes.got == [(1, "pop"), (2, "retract"), (3, "pop")]


@pytest.mark.parametrize("reader", ["live feed protocol", "redis-py pub/sub (TLS, unix socket)"])
async def test_a_killed_pubsub_connection_is_remade_and_the_subscription_catches_up(
    reader: str,
) -> None:
    live_feed = reader == "live feed protocol"
    async with _two_nodes(live_feed=live_feed) as nodes, _reading(nodes, after=0):
        await _assert_no_gap_around(
            nodes, _kill_pubsub_connections, caught_up="caught up after the kill"
        )


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
    async with _two_nodes() as nodes:
        node_a, node_b = nodes.reader, nodes.writer
        monkeypatch.setattr(node_a, "_on_live", lambda data: None)
        async with _reading(nodes, after=0):
            await eventually(lambda: "a1" in node_a._local.subscribers, what="the reader attached")
            assert await node_b.publish("a1", {"type": "pop"}) == 1
            assert await node_a.publish("a1", {"type": "retract"}) == 2
            await eventually(lambda: len(nodes.got) >= 2, within_s=5, what="both messages")
            assert nodes.got == [(1, "pop"), (2, "retract")]


async def test_an_unreadable_live_message_is_skipped_and_the_feed_goes_on() -> None:
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        async with _two_nodes() as nodes, _reading(nodes):
            await eventually(
                lambda: "a1" in nodes.reader._local.subscribers, what="reader attached"
            )
            for stray in (b"garbage", b"x\na1\nnot-a-seq\n{}", b"x\na1\n7\n{not json"):
                await admin.publish(f"{nodes.prefix}live", stray)
            await nodes.writer.publish("a1", {"type": "pop"})
            await eventually(lambda: nodes.got == [(1, "pop")], within_s=5, what="the real message")
    finally:
        await admin.aclose()


async def test_a_nodes_own_live_messages_are_passed_over_before_they_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Node A's reader gets A's own messages when A's scripts reply; the live feed brings them
    # back too, and they must cost no decoding: only B's message reaches `_on_live`.
    async with _two_nodes() as nodes:
        node_a, node_b = nodes.reader, nodes.writer
        read_live: list[bytes | str] = []
        on_live = node_a._on_live

        def counting_on_live(data: bytes | str) -> None:
            read_live.append(data)
            on_live(data)

        monkeypatch.setattr(node_a, "_on_live", counting_on_live)
        async with _reading(nodes):
            await eventually(lambda: "a1" in node_a._local.subscribers, what="the reader attached")
            for _ in range(20):
                node_a.post("a1", {"type": "state"})
            await node_a.publish("a1", {"type": "pop"})
            await node_b.publish("a1", {"type": "retract"})
            await eventually(lambda: len(nodes.got) >= 22, within_s=5, what="all 22 messages")
            feed = node_a._feed
            assert feed is not None
            await eventually(lambda: feed.skipped == 21, within_s=5, what="A's 21 passed over")
            states = [(seq, "state") for seq in range(1, 21)]
            assert nodes.got == [*states, (21, "pop"), (22, "retract")]
            assert len(read_live) == 1
            assert isinstance(read_live[0], bytes) and b'"retract"' in read_live[0]


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

    async def hold() -> None:
        proxy.hold()

    try:
        url = f"redis://127.0.0.1:{port}/0"
        async with _two_nodes(url) as nodes, _reading(nodes, after=0):

            async def given_up_then_released() -> None:
                await eventually(
                    lambda: "live feed lost (TimeoutError)" in caplog.text,
                    within_s=5,
                    what="the quiet feed given up",
                )
                assert nodes.got == [(1, "pop")]
                proxy.release()

            try:
                await _assert_no_gap_around(
                    nodes, hold, while_cut=given_up_then_released, catch_up_within_s=10
                )
            finally:
                proxy.release()  # before the nodes close: nothing of theirs left held
    finally:
        await proxy.stop()


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
