"""The Redis bus's live feed read on a connection of its own (issue 15, faster).

Every node publishes on one pub/sub channel and reads it back, its own messages included
(Redis cannot leave the publisher out), and a node has already handed its own messages to
its readers when their script replied. redis-py's pub/sub reader cost 0.1–0.3 ms of the
event loop per message to parse each of them before the node skipped it. Here the frames are
parsed by `FeedParser` (sans-IO: bytes in, events out) as they arrive, and a message whose
payload starts with this node's mark is passed over by a byte comparison: no copy, no
decoding. Only other nodes' messages come out, as raw payloads.

`LiveFeed.run` is one connection's life: connect, AUTH, SUBSCRIBE, wait for the
confirmation, then hand out messages until the connection is lost. A connection that goes
quiet is pinged; no answer in time ends it (a network that drops packets without a reset
would otherwise leave the feed silent for ever). Making it again, and catching up from the
streams, is the bus's listener loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cti.bus.redis_link import CONNECT_TIMEOUT_S, encode, hello, pool_address

# What may wait in the buffer for the rest of its frame: pops are a few hundred bytes.
MAX_PENDING_BYTES = 8 * 1024 * 1024
# A feed quiet this long is pinged; no answer REPLY_TIMEOUT_S after that ends the connection.
PING_AFTER_S = 5.0
REPLY_TIMEOUT_S = 5.0

_PING = encode(["PING"])
_CRLF = b"\r\n"


class FeedProtocolError(RedisConnectionError):
    """What came from Redis is not RESP2 pub/sub (or a frame outgrew MAX_PENDING_BYTES)."""


@dataclass(frozen=True, slots=True)
class Published:
    """A message on the channel, from another node (raw payload, not decoded)."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class Subscribed:
    """SUBSCRIBE confirmed: messages on `channel` come from now on."""

    channel: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """A status (`+OK`), a PING's answer (`pong`) or an error (`-ERR …`, `error` set)."""

    text: str
    error: bool = False


FeedEvent = Published | Subscribed | Reply


class FeedParser:
    """RESP2 as a subscribed connection receives it. `receive(bytes)` returns the events of
    every frame completed so far; a message whose payload starts with `skip` is counted in
    `skipped` and gives no event. Fed whole, byte by byte or in any chunks: same events."""

    def __init__(self, skip: bytes, max_pending: int = MAX_PENDING_BYTES) -> None:
        self._skip = skip
        self._max_pending = max_pending
        self._buffer = bytearray()
        self.skipped = 0

    def receive(self, data: bytes) -> list[FeedEvent]:
        """The events of the frames `data` completes; FeedProtocolError on anything else."""
        buffer = self._buffer
        buffer += data
        events: list[FeedEvent] = []
        pos = 0
        try:
            while pos < len(buffer):
                end = self._frame(buffer, pos, events)
                if end < 0:
                    break
                pos = end
        except ValueError as exc:  # a length or integer that is not one
            raise FeedProtocolError(f"unreadable frame from Redis ({exc})") from None
        if pos:
            del buffer[:pos]
        if len(buffer) > self._max_pending:
            raise FeedProtocolError(f"a frame over {self._max_pending} bytes from Redis")
        return events

    def _frame(self, buffer: bytearray, pos: int, events: list[FeedEvent]) -> int:
        """Parse the frame at `pos`: its end, or -1 while incomplete."""
        line_end = buffer.find(_CRLF, pos)
        if line_end < 0:
            return -1
        kind = buffer[pos]
        if kind == 0x2B:  # +
            events.append(Reply(buffer[pos + 1 : line_end].decode(errors="replace")))
            return line_end + 2
        if kind == 0x2D:  # -
            events.append(Reply(buffer[pos + 1 : line_end].decode(errors="replace"), error=True))
            return line_end + 2
        if kind != 0x2A:  # *
            raise FeedProtocolError(
                f"unexpected frame from Redis {bytes(buffer[pos : pos + 40])!r}"
            )
        count = int(buffer[pos + 1 : line_end])
        at = line_end + 2
        # Each element: (start, stop) of a bulk string's bytes, in place; an integer's too.
        spans: list[tuple[int, int]] = []
        for _ in range(count):
            line_end = buffer.find(_CRLF, at)
            if line_end < 0:
                return -1
            head = buffer[at]
            if head == 0x3A:  # :n
                spans.append((at + 1, line_end))
                at = line_end + 2
                continue
            if head != 0x24:  # $
                raise FeedProtocolError(f"unexpected element {bytes(buffer[at : at + 40])!r}")
            size = int(buffer[at + 1 : line_end])
            start = line_end + 2
            if size < 0:  # $-1: a null, nothing follows its line
                spans.append((start, start))
                at = start
                continue
            at = start + size + 2
            if at > len(buffer):
                return -1
            if not buffer.startswith(_CRLF, at - 2):
                raise FeedProtocolError("a bulk string longer than its length from Redis")
            spans.append((start, start + size))
        self._event(buffer, spans, events)
        return at

    def _event(
        self, buffer: bytearray, spans: list[tuple[int, int]], events: list[FeedEvent]
    ) -> None:
        if not spans:
            raise FeedProtocolError("an empty array from Redis")
        kind_start, kind_stop = spans[0]
        kind = bytes(buffer[kind_start:kind_stop])
        if kind == b"message" and len(spans) == 3:
            start, stop = spans[2]
            if buffer.startswith(self._skip, start, stop):
                self.skipped += 1
            else:
                events.append(Published(bytes(buffer[start:stop])))
        elif kind == b"subscribe" and len(spans) == 3:
            start, stop = spans[1]
            events.append(Subscribed(bytes(buffer[start:stop])))
        elif kind == b"pong":
            events.append(Reply("pong"))
        else:
            raise FeedProtocolError(f"unexpected {kind[:40]!r} from Redis")


class _FeedProtocol(asyncio.Protocol):
    def __init__(self, parser: FeedParser, on_message: Callable[[bytes], None]) -> None:
        self.parser = parser
        self.on_message = on_message
        # Replies in order; the connection's error last, once it is lost.
        self.replies: asyncio.Queue[Subscribed | Reply | Exception] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.heard = time.monotonic()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.heard = time.monotonic()
        try:
            events = self.parser.receive(data)
        except FeedProtocolError as exc:
            self.end(exc)
            return
        on_message = self.on_message
        for event in events:
            if type(event) is Published:
                on_message(event.payload)
            else:
                self.replies.put_nowait(event)  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        self.end(RedisConnectionError(f"live feed connection lost ({exc})"))

    def end(self, exc: Exception) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        self.replies.put_nowait(exc)
        if self.transport is not None:
            self.transport.abort()


class LiveFeed:
    """One pub/sub channel read on a plain TCP connection of its own."""

    def __init__(
        self,
        host: str,
        port: int,
        channel: str,
        skip: bytes,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self._address = (host, port)
        self._channel = channel.encode()
        self._skip = skip
        self._hello = hello(username, password)  # pub/sub ignores the DB: no SELECT
        self._skipped_before = 0
        self._parser: FeedParser | None = None

    @classmethod
    def for_pool(
        cls, kwargs: dict[str, Any], plain_tcp: bool, channel: str, skip: bytes
    ) -> LiveFeed | None:
        """A feed from where a redis-py pool connects, or None when it cannot go there (TLS,
        a Unix socket): the caller then reads the channel through redis-py."""
        address = pool_address(kwargs, plain_tcp)
        if address is None:
            return None
        host, port = address
        return cls(host, port, channel, skip, kwargs.get("username"), kwargs.get("password"))

    @property
    def skipped(self) -> int:
        """Messages passed over unread because they start with `skip` (all connections)."""
        return self._skipped_before + (self._parser.skipped if self._parser else 0)

    async def run(
        self, on_message: Callable[[bytes], None], on_subscribed: Callable[[], None]
    ) -> NoReturn:
        """Connect and subscribe, call `on_subscribed`, then `on_message(payload)` for every
        message not skipped, until the connection is lost or stops answering: that raises
        (a RedisError, or OSError when it cannot connect). Cancelling closes it."""
        if self._parser is not None:
            self._skipped_before += self._parser.skipped
        parser = self._parser = FeedParser(self._skip)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            transport, protocol = await loop.create_connection(
                lambda: _FeedProtocol(parser, on_message), *self._address
            )
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                for command in self._hello:
                    transport.write(command)
                    reply = await _next_reply(protocol)
                    if isinstance(reply, Reply) and reply.error:
                        raise ResponseError(reply.text)
                transport.write(encode(["SUBSCRIBE", self._channel]))
                while not isinstance(await _next_reply(protocol), Subscribed):
                    pass
            on_subscribed()
            await _keep_alive(transport, protocol)
        except TimeoutError:
            raise RedisTimeoutError("no answer from Redis on the live feed") from None
        finally:
            transport.abort()


async def _next_reply(protocol: _FeedProtocol) -> Subscribed | Reply:
    """The connection's next reply; raises the connection's error once it is lost."""
    reply = await protocol.replies.get()
    if isinstance(reply, Exception):
        raise reply
    return reply


async def _keep_alive(transport: asyncio.Transport, protocol: _FeedProtocol) -> NoReturn:
    """Until the connection is lost (then its error): PING it after PING_AFTER_S of silence,
    end it when nothing has come back REPLY_TIMEOUT_S later."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(protocol.closed.wait(), PING_AFTER_S)
        while not protocol.replies.empty():  # PING's answers: hearing them was the point
            await _next_reply(protocol)
        if protocol.closed.is_set():
            raise RedisConnectionError("live feed connection lost")
        quiet = time.monotonic() - protocol.heard
        if quiet >= PING_AFTER_S + REPLY_TIMEOUT_S:
            protocol.end(RedisTimeoutError(f"live feed quiet for {quiet:.0f} s"))
            raise RedisTimeoutError(f"live feed quiet for {quiet:.0f} s, PING unanswered")
        if quiet >= PING_AFTER_S:
            transport.write(_PING)
