"""One Redis connection that sends each command as it comes and hands the replies back in
order: the bus's publisher (issue 15, faster).

redis-py costs about 0.3 ms of Python per command on this path (pool checkout with timers,
argument encoding, its reply parser, observability hooks): more than the round trip. The
publisher needs only one command (EVAL of the publish script) whose reply is an integer or
an error, on one connection so that Redis runs the scripts in the order they were posted.
So this link writes the RESP bytes as soon as a message is posted (commands pipeline on the
socket, nothing waits for an earlier reply) and reads `:n`, `+OK` and `-ERR` replies, each
for the oldest command still waiting.

A command is never sent twice: when the connection is lost or cannot be made, every command
waiting for a reply gets the error (the bus then delivers its message degraded); the next
command connects again.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

Reply = int | str | Exception
OnReply = Callable[[Reply], None]

CONNECT_TIMEOUT_S = 5.0
# A reply later than this (redis-py's default socket timeout) ends the connection.
REPLY_TIMEOUT_S = 5.0
_WATCH_EVERY_S = 1.0


def pool_address(kwargs: dict[str, Any], plain_tcp: bool) -> tuple[str, int] | None:
    """Where a redis-py pool (its `connection_kwargs`) connects over plain TCP; None for TLS or
    a Unix socket, where our own connections do not go."""
    if not plain_tcp or "host" not in kwargs:
        return None
    return str(kwargs["host"]), int(kwargs.get("port", 6379))


def hello(username: str | None, password: str | None, db: int = 0) -> list[bytes]:
    """What a new connection sends first: AUTH when there is a password, SELECT unless DB 0."""
    commands: list[bytes] = []
    if password is not None:
        commands.append(encode(["AUTH", username, password] if username else ["AUTH", password]))
    if db:
        commands.append(encode(["SELECT", db]))
    return commands


def encode(args: Sequence[str | int | bytes], head: bytes = b"", head_args: int = 0) -> bytes:
    """One command as a RESP array of bulk strings; `head` is the bulk strings of its first
    `head_args` arguments, encoded once beforehand (`encode_bulk`)."""
    out = [b"*%d\r\n%b" % (head_args + len(args), head)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(out)


def encode_bulk(args: Sequence[str | int | bytes]) -> bytes:
    """Arguments as RESP bulk strings, to be given to `encode` as its `head`."""
    return encode(args).split(b"\r\n", 1)[1]


class _Protocol(asyncio.Protocol):
    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self.buffer = bytearray()
        self.dropped = False  # the link gave this connection up: it speaks for nothing now

    def data_received(self, data: bytes) -> None:
        if self.dropped:
            return
        buffer = self.buffer
        buffer += data
        start = 0
        while (end := buffer.find(b"\r\n", start)) >= 0:
            line = bytes(buffer[start:end])
            start = end + 2
            kind = line[:1]
            reply: Reply
            if kind == b":":
                reply = int(line[1:])
            elif kind == b"+":
                reply = line[1:].decode()
            elif kind == b"-":
                reply = ResponseError(line[1:].decode(errors="replace"))
            else:  # not a reply to anything this link sends
                self.link._lost(RedisConnectionError(f"unexpected reply {line[:40]!r}"))
                return
            self.link._replied(reply)
        del buffer[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.dropped:
            self.link._lost(RedisConnectionError(f"connection to Redis lost ({exc})"))


class RedisLink:
    """Sends commands on one connection in the order given; `on_reply` is called, in that
    order, with each reply (an int, a status string or the error)."""

    def __init__(
        self,
        host: str,
        port: int,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self._address = (host, port)
        self._hello = hello(username, password, db)
        self._transport: asyncio.Transport | None = None
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Task[None] | None = None
        # Sent, waiting for a reply: (callback, when sent).
        self._sent: collections.deque[tuple[OnReply, float]] = collections.deque()
        # Waiting for the connection.
        self._unsent: list[tuple[bytes, OnReply]] = []
        self._watch: asyncio.TimerHandle | None = None
        self._drained = asyncio.Event()
        self._drained.set()

    @classmethod
    def for_pool(cls, kwargs: dict[str, Any], plain_tcp: bool) -> RedisLink | None:
        """A link to where a redis-py pool connects, or None when this link cannot go there
        (TLS, a Unix socket): the caller then publishes through redis-py."""
        address = pool_address(kwargs, plain_tcp)
        if address is None:
            return None
        host, port = address
        db = int(kwargs.get("db", 0))
        return cls(host, port, db, kwargs.get("username"), kwargs.get("password"))

    def send(self, command: bytes, on_reply: OnReply) -> None:
        """Send `command` now (or once connected), after every command sent before it."""
        self._drained.clear()
        transport = self._transport
        if transport is not None and not self._unsent:
            transport.write(command)
            self._sent.append((on_reply, time.monotonic()))
            self._watch_replies()
            return
        self._unsent.append((command, on_reply))
        if self._connecting is None:
            self._connecting = asyncio.get_running_loop().create_task(
                self._connect(), name="redis-link-connect"
            )

    async def _connect(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                transport, self._protocol = await loop.create_connection(
                    lambda: _Protocol(self), *self._address
                )
            self._transport = transport  # new commands still wait in _unsent (not empty)
            hello: list[asyncio.Future[Reply]] = [loop.create_future() for _ in self._hello]
            for command, answered in zip(self._hello, hello, strict=True):
                transport.write(command)
                self._sent.append((_resolve(answered), time.monotonic()))
            for answer in hello:
                async with asyncio.timeout(REPLY_TIMEOUT_S):
                    reply = await answer
                if isinstance(reply, Exception):
                    raise reply
            if self._transport is not transport:
                raise RedisConnectionError("connection to Redis lost while connecting")
        except (OSError, TimeoutError, ResponseError, RedisConnectionError) as exc:
            error = exc if isinstance(exc, RedisConnectionError) else RedisConnectionError(str(exc))
            self._connecting = None
            self._lost(error)
            return
        self._connecting = None
        unsent, self._unsent = self._unsent, []
        if unsent:
            transport.write(b"".join(command for command, _ in unsent))
            now = time.monotonic()
            self._sent.extend((on_reply, now) for _, on_reply in unsent)
            self._watch_replies()

    def _replied(self, reply: Reply) -> None:
        if not self._sent:
            self._lost(RedisConnectionError("a reply to nothing"))
            return
        on_reply, _ = self._sent.popleft()
        on_reply(reply)
        if not self._sent and not self._unsent:
            self._drained.set()

    def _lost(self, exc: Exception) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.dropped = True
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.abort()
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        failed = [on_reply for on_reply, _ in self._sent]
        self._sent.clear()
        if self._connecting is None:  # else the commands wait for that connection
            failed += [on_reply for _, on_reply in self._unsent]
            self._unsent = []
        for on_reply in failed:
            on_reply(exc)
        if not self._sent and not self._unsent:
            self._drained.set()

    def _watch_replies(self) -> None:
        if self._watch is None:
            self._watch = asyncio.get_running_loop().call_later(_WATCH_EVERY_S, self._check)

    def _check(self) -> None:
        self._watch = None
        if not self._sent:
            return
        _, since = self._sent[0]
        if time.monotonic() - since > REPLY_TIMEOUT_S:
            self._lost(RedisTimeoutError(f"no reply from Redis in {REPLY_TIMEOUT_S:.0f} s"))
            return
        self._watch_replies()

    async def close(self, drain_s: float) -> None:
        """Wait up to `drain_s` for the replies still due, then close; what is left then
        gets a ConnectionError."""
        try:
            async with asyncio.timeout(drain_s):
                await self._drained.wait()
        except TimeoutError:
            pass
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
            self._connecting = None
        self._lost(RedisConnectionError("redis bus closed"))


def _resolve(future: asyncio.Future[Reply]) -> OnReply:
    def resolve(reply: Reply) -> None:
        if not future.done():
            future.set_result(reply)

    return resolve
