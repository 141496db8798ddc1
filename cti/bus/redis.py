"""The Redis bus: a stream per agent (history, resume across CTI nodes) plus one pub/sub
channel per bus that carries each message live to every node.

`publish` runs one Lua script: INCR the agent's seq, XADD the message to the agent's stream
with the seq as its id (trimmed to MAXLEN), PUBLISH it. Atomic, so seq order, stream order
and live order agree whichever node publishes.

Publishing is ordered and pipelined: `post` writes the script's command on the bus's own
connection (`RedisLink`) at once and returns a future of the seq; replies come back in
order. Redis runs one connection's commands in the order sent, so this node's messages keep
the order they were posted in, per agent and overall, and a caller never waits a round trip
per message. (Over TLS or a Unix socket, where the link does not go, one sender task sends
what was posted meanwhile as one redis-py pipeline, one batch in flight at a time.)

The publishing node hands the message to its own subscribers as soon as the script returns
its seq (one round trip for a pop, not a round trip and then a pub/sub hop back); the live
feed carries the publishing node's id, and the node's `LiveFeed` passes its own messages
over before reading them (over TLS or a Unix socket redis-py reads the feed and `_on_live`
skips them). Readers take messages by seq: one that arrives ahead of a lower seq (another
node's, still on the wire) makes the reader fill the gap from the stream, as after a pub/sub
reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import redis.asyncio as aioredis

from cti import stop_task
from cti.bus.base import (
    BROADCAST,
    DEFAULT_HISTORY,
    DEFAULT_SUBSCRIBER_QUEUE,
    DirectWrite,
    History,
    HistoryLost,
    Message,
    Subscriber,
    history_after,
)
from cti.bus.redis_feed import LiveFeed
from cti.bus.redis_link import RedisLink, encode, encode_bulk

log = logging.getLogger(__name__)

_LISTEN_RETRY_MIN_S = 0.1
_LISTEN_RETRY_MAX_S = 2.0
# Offered to every local subscription when the live feed comes back (never on the wire).
_CATCH_UP: Message = {"type": "_catch_up"}

# An agent's history holds callers' names and residents' ids: it expires a day after the
# agent's last message (a shift is 13 h), so nothing private stays in Redis for ever.
HISTORY_TTL_MS = 24 * 3600 * 1000

# A message published with `once` is published by the first node only: the key is taken in the
# same script (SET NX), so two nodes that saw the same AMI event cannot both send it.
ONCE_TTL_MS = 10 * 60 * 1000

_PUBLISH = """
if ARGV[5] ~= '' and not redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[6]) then
  return 0
end
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], seq .. '-0', 'm', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', KEYS[3], ARGV[7] .. '\\n' .. ARGV[3] .. '\\n' .. seq .. '\\n' .. ARGV[1])
return seq
"""

# The script's text, not its SHA: a NOSCRIPT (Redis restarted, or SCRIPT FLUSH) in the middle
# of a pipeline would leave messages to send again after later ones. Redis keeps the compiled
# script (looked up by the text's SHA1); the text is ~600 bytes on a local socket.
_EVAL_PUBLISH: tuple[str | int, ...] = ("EVAL", _PUBLISH, 4)
_EVAL_PUBLISH_WIRE = encode_bulk(_EVAL_PUBLISH)

# KEYS: seq:<agent>. ARGV: seq, ttl ms.
_RESTORE_HEAD = """
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
"""


# Posts still queued or in flight when the bus closes get this long to go out.
_CLOSE_DRAIN_S = 2.0


@dataclass(slots=True)
class _Local:
    subscribers: dict[str, list[Subscriber]] = field(default_factory=dict)


@dataclass(slots=True)
class _Retry:
    """The live listener's state between connections."""

    lost: bool = False
    backoff: float = _LISTEN_RETRY_MIN_S


@dataclass(slots=True)
class _Post:
    """A message waiting for its script's reply."""

    agent_id: str
    message: Message
    command: tuple[str | int, ...]
    future: asyncio.Future[int]


class RedisBus:
    """Bus shared by CTI nodes through Redis (`redis.asyncio`)."""

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str = "cti:",
        history: int = DEFAULT_HISTORY,
        subscriber_queue: int = DEFAULT_SUBSCRIBER_QUEUE,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._history = history
        self._subscriber_queue = subscriber_queue
        self._live_channel = f"{prefix}live"
        self._local = _Local()
        # The ordered publisher: a link of its own, each post written at once (plain TCP);
        # else (TLS, a Unix socket) redis-py pipelines, each batch of what was posted while
        # the previous one was in flight.
        pool = client.connection_pool
        self._link = RedisLink.for_pool(
            pool.connection_kwargs, plain_tcp=pool.connection_class is aioredis.Connection
        )
        self._outbox: list[_Post] = []
        self._posted = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        # This bus's mark on the live feed: what it published, its subscribers already have.
        self._node = uuid.uuid4().hex[:16]
        self._node_mark = self._node.encode()
        # The live feed on a connection of its own, this node's messages passed over unread
        # (plain TCP); else (TLS, a Unix socket) redis-py's pub/sub.
        self._feed = LiveFeed.for_pool(
            pool.connection_kwargs,
            plain_tcp=pool.connection_class is aioredis.Connection,
            channel=self._live_channel,
            skip=self._node_mark + b"\n",
        )

    @classmethod
    def from_url(
        cls, url: str, prefix: str = "cti:", max_connections: int = 64, **kwargs: Any
    ) -> RedisBus:
        """A bus on a new connection pool for `url` (`redis://127.0.0.1:6379/0`).

        The pool blocks (up to 20 s) for a free connection instead of failing: a shift
        change logs in hundreds of agents at once, each replaying its history.
        """
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=20
        )
        return cls(aioredis.Redis(connection_pool=pool), prefix=prefix, **kwargs)

    async def problem(self, within_s: float = 0.5) -> str | None:
        """None when Redis answers a PING within `within_s`; else what went wrong."""
        try:
            async with asyncio.timeout(within_s):
                await self._redis.ping()
        except TimeoutError:
            return f"redis: no answer in {within_s} s"
        except (aioredis.RedisError, OSError) as exc:
            return f"redis: unreachable ({type(exc).__name__})"
        return None

    def _stream(self, agent_id: str) -> str:
        return f"{self._prefix}stream:{agent_id}"

    def _seq_key(self, agent_id: str) -> str:
        return f"{self._prefix}seq:{agent_id}"

    async def publish(self, agent_id: str, message: Message, *, once: str | None = None) -> int:
        """Give the message the agent's next seq (cluster-wide), store it, send it live.

        With `once`, only the first publish of that key (cluster-wide, for ONCE_TTL_MS) goes
        out; a repeat returns 0 and sends nothing. Redis unreachable: the message goes to this
        node's readers marked `degraded` and the error is raised. Ordered with `post`.
        """
        return await self.post(agent_id, message, once=once)

    def post(
        self, agent_id: str, message: Message, *, once: str | None = None
    ) -> asyncio.Future[int]:
        """`publish` without waiting: queued now, in order after every earlier post or
        publish of this bus; the future gives the seq (0 for a `once` repeat) or the error
        (the message then went to this node's readers marked `degraded`)."""
        payload = json.dumps({k: v for k, v in message.items() if k != "seq"}, ensure_ascii=False)
        prefix = self._prefix
        once_key = f"{prefix}once:{agent_id}:{once}" if once else f"{prefix}once:-"
        command: tuple[str | int, ...] = (
            *_EVAL_PUBLISH,
            f"{prefix}stream:{agent_id}",
            f"{prefix}seq:{agent_id}",
            self._live_channel,
            once_key,
            payload,
            self._history,
            agent_id,
            HISTORY_TTL_MS,
            once or "",
            ONCE_TTL_MS,
            self._node,
        )
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        post = _Post(agent_id, message, command, future)
        if self._link is not None:
            wire = encode(command[len(_EVAL_PUBLISH) :], _EVAL_PUBLISH_WIRE, len(_EVAL_PUBLISH))
            self._link.send(wire, partial(self._settle, post))
            return future
        self._outbox.append(post)
        self._idle.clear()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_loop(), name="redis-bus-sender")
        self._posted.set()
        return future

    async def _send_loop(self) -> None:
        """Send what is queued as one pipeline, hand out the replies in order, repeat."""
        while True:
            if not self._outbox:
                self._idle.set()
                self._posted.clear()
                await self._posted.wait()
                continue
            batch, self._outbox = self._outbox, []
            try:
                replies = await self._send(batch)
            except asyncio.CancelledError:
                self._fail(batch, ConnectionError("redis bus closed"))
                raise
            except Exception as exc:  # not only RedisError: a post must never hang
                if not isinstance(exc, aioredis.RedisError | OSError):
                    log.exception("redis bus: publishing failed unexpectedly")
                replies = [exc] * len(batch)
            for post, reply in zip(batch, replies, strict=True):
                self._settle(post, reply)

    async def _send(self, batch: list[_Post]) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for post in batch:
                pipe.execute_command(*post.command)
            return list(await pipe.execute(raise_on_error=False))

    def _settle(self, post: _Post, reply: Any) -> None:
        if isinstance(reply, BaseException):
            self._deliver_degraded(post.agent_id, post.message)
            if not post.future.done():
                post.future.set_exception(reply)
            return
        seq = int(reply)
        if seq:
            message = post.message
            message["seq"] = seq
            subs = self._local.subscribers.get(post.agent_id)
            if subs:
                for sub in subs:
                    sub.offer(message)
        if not post.future.done():
            post.future.set_result(seq)

    def _fail(self, posts: list[_Post], exc: BaseException) -> None:
        for post in posts:
            self._settle(post, exc)

    def _deliver_degraded(self, agent_id: str, message: Message) -> None:
        # Redis is down: this node's own sockets of the agent still get the message, marked
        # `degraded` and without a seq (it is in no stream: never replayed, not resumable).
        subs = self._local.subscribers.get(agent_id)
        if not subs:
            return
        degraded: Message = {k: v for k, v in message.items() if k != "seq"}
        degraded["degraded"] = True
        for sub in subs:
            sub.offer(degraded)

    async def restore_head(self, agent_id: str, seq: int) -> None:
        """Raise the agent's seq counter to at least `seq` (Redis came back empty under a
        node whose sockets had delivered up to `seq`: the next publish must be above it)."""
        await self._redis.eval(_RESTORE_HEAD, 1, self._seq_key(agent_id), seq, HISTORY_TTL_MS)

    async def broadcast(self, message: Message, *, once: str | None = None) -> int:
        """Publish on the supervisors' channel."""
        return await self.publish(BROADCAST, message, once=once)

    async def head(self, agent_id: str) -> int:
        """The agent's newest seq (0 before the first message, or once it expired)."""
        return int(await self._redis.get(self._seq_key(agent_id)) or 0)

    async def since(self, agent_id: str, seq: int) -> History:
        """What the agent was sent after `seq`, from its stream (bounded by MAXLEN)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(self._seq_key(agent_id))
            pipe.xrange(self._stream(agent_id), "-", "+", count=1)
            pipe.xrange(self._stream(agent_id), f"({max(seq, 0)}-0", "+")
            last_raw, first, entries = await pipe.execute()
        last_seq = int(last_raw or 0)
        held = [_decode(entry_id, fields) for entry_id, fields in first]
        after = [_decode(entry_id, fields) for entry_id, fields in entries]
        history = history_after(held, seq, last_seq)
        return History(after, truncated=history.truncated, oldest_seq=history.oldest_seq)

    async def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listening.clear()
            self._listener = asyncio.create_task(self._listen(), name="redis-bus-listener")
        await self._listening.wait()

    async def _listen(self) -> None:
        """The live feed, for as long as the bus is open: a lost pub/sub connection (Redis
        restarted, `CLIENT KILL TYPE pubsub`, a PING unanswered) is re-made, and every open
        subscription then catches up from the stream, so no socket stays open and silent."""
        retry = _Retry()

        def subscribed() -> None:
            self._listening.set()
            if retry.lost:
                log.info("redis bus: live feed back; subscriptions catch up")
                self._catch_up_all()
            retry.backoff = _LISTEN_RETRY_MIN_S

        while True:
            try:
                if self._feed is not None:
                    await self._feed.run(self._on_live, subscribed)
                else:
                    await self._listen_redis_py(subscribed)
            except (aioredis.RedisError, OSError) as exc:
                log.warning(
                    "redis bus: live feed lost (%s); again in %.1f s",
                    type(exc).__name__,
                    retry.backoff,
                )
                # Redis may have restarted: the pool's idle connections would then fail the
                # next head/since/restore_head once each. Connect those afresh.
                with contextlib.suppress(Exception):
                    await self._redis.connection_pool.disconnect(inuse_connections=False)
            finally:
                self._listening.clear()
            retry.lost = True
            await asyncio.sleep(retry.backoff)
            retry.backoff = min(retry.backoff * 2, _LISTEN_RETRY_MAX_S)

    async def _listen_redis_py(self, subscribed: Callable[[], None]) -> None:
        # TLS or a Unix socket: redis-py parses every message, this node's own included.
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._live_channel)
            subscribed()
            while True:
                item = await pubsub.get_message(timeout=None)
                if item is not None:
                    self._on_live(item["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _catch_up_all(self) -> None:
        for subs in self._local.subscribers.values():
            for sub in subs:
                sub.offer(_CATCH_UP)

    def _on_live(self, data: bytes | str) -> None:
        # Only what a local reader waits for is decoded; this node's own messages were
        # delivered when published (the LiveFeed passes them over before they get here).
        raw = data if isinstance(data, bytes) else data.encode()
        try:
            node, agent, seq_text, payload = raw.split(b"\n", 3)
            if node == self._node_mark:
                return
            subs = self._local.subscribers.get(agent.decode())
            if not subs:
                return
            message: Message = json.loads(payload)
            message["seq"] = int(seq_text)
        except ValueError:  # not ours (another version, a stray PUBLISH): nobody to give it
            log.warning("redis bus: unreadable live message skipped (%d bytes)", len(raw))
            return
        for sub in subs:
            sub.offer(message)

    async def subscribe(
        self, agent_id: str, after: int | None = None, *, direct: DirectWrite | None = None
    ) -> AsyncIterator[Message]:
        """Yield the agent's messages as published by any node; SlowSubscriber when cut off.

        A gap in the live feed (a pub/sub reconnect) is filled from the stream. `direct` is
        not used: every message is yielded, so that each seq is checked for a gap.
        """
        await self._ensure_listener()
        sub = Subscriber.bounded(self._subscriber_queue)
        self._local.subscribers.setdefault(agent_id, []).append(sub)
        try:
            last = after
            if after is not None:
                for message in await self.since(agent_id, after):
                    last = message["seq"]
                    yield message
            while True:
                message = await sub.next(agent_id)
                if "seq" not in message and message.get("degraded"):
                    yield message  # delivered by this node while Redis was down (no seq)
                    continue
                if message is _CATCH_UP:  # the live feed was down: read what it missed
                    if last is not None:
                        # Redis may have restarted empty: its seqs would start again below
                        # `last` and every new message would be skipped as already sent.
                        head = int(await self._redis.get(self._seq_key(agent_id)) or 0)
                        if head < last:
                            raise HistoryLost(agent_id, last, head)
                        for missed in await self.since(agent_id, last):
                            last = missed["seq"]
                            yield missed
                    continue
                seq = message["seq"]
                if last is not None and seq > last + 1:
                    for missed in await self.since(agent_id, last):
                        if missed["seq"] >= seq:
                            break
                        last = missed["seq"]
                        yield missed
                if last is None or seq > last:
                    last = seq
                    yield message
        finally:
            subs = self._local.subscribers.get(agent_id, [])
            subs.remove(sub)
            if not subs:
                self._local.subscribers.pop(agent_id, None)

    async def close(self) -> None:
        """Let what was posted go out (up to _CLOSE_DRAIN_S), stop the listener and the
        sender, release the connection pool. Posts left then fail (ConnectionError)."""
        if self._link is not None:
            await self._link.close(_CLOSE_DRAIN_S)
        if self._sender is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), _CLOSE_DRAIN_S)
            await stop_task(self._sender)
            self._sender = None
        left, self._outbox = self._outbox, []
        self._fail(left, ConnectionError("redis bus closed"))
        if self._listener is not None:
            await stop_task(self._listener)
            self._listener = None
        await self._redis.aclose()


def _decode(entry_id: bytes | str, fields: dict[Any, Any]) -> Message:
    ident = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    raw = fields.get(b"m", fields.get("m"))
    text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    message: Message = json.loads(text)
    message["seq"] = int(ident.split("-", 1)[0])
    return message
