"""AgentSocket.send_now: a live message written on the publisher's own call, in order with
the feed's writes, and a write that has to wait for the transport still bounded by the
deadline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

from aiohttp import WSMsgType, web

from cti.bus import InProcessBus, Message
from cti.web.metrics import WebMetrics
from cti.web.sockets import AgentSocket


class Transport:
    def __init__(self) -> None:
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True


class Request:
    def __init__(self) -> None:
        self.transport = Transport()


class Ws:
    """A WebSocket whose writes go through at once, or wait for `drained` when `paused`
    (as aiohttp's wait for the transport to drain)."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.paused = False
        self.drained: asyncio.Future[None] | None = None
        self.closed = False

    async def send_frame(self, frame: bytes, opcode: WSMsgType) -> None:
        assert opcode is WSMsgType.TEXT
        self.frames.append(json.loads(frame.decode()))
        if self.paused:
            self.drained = asyncio.get_running_loop().create_future()
            await self.drained


def _socket(ws: Ws, request: Request, timeout_s: float = 5.0) -> AgentSocket:
    return AgentSocket(
        cast(web.WebSocketResponse, ws),
        cast(web.Request, request),
        "a07",
        WebMetrics(),
        send_timeout_s=timeout_s,
    )


async def _first(feed: AsyncIterator[Message]) -> Message:
    return await anext(feed)


def _seqs(ws: Ws) -> list[int]:
    return [int(f["seq"]) for f in ws.frames]


async def test_an_idle_socket_is_written_on_the_publishers_call() -> None:
    bus, ws = InProcessBus(), Ws()
    socket = _socket(ws, Request())
    feed = bus.subscribe("a07", direct=socket.send_now)
    reader = asyncio.create_task(_first(feed))
    await asyncio.sleep(0)  # the reader waits on its empty queue
    seq = bus.publish_nowait("a07", {"type": "pop", "call_id": "c1"})
    # written before this coroutine gave the loop a turn: no task woke to write it
    assert _seqs(ws) == [seq]
    assert socket.last_seq == seq
    assert not reader.done()
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)


async def test_messages_behind_a_write_that_waits_keep_their_order() -> None:
    bus, ws = InProcessBus(), Ws()
    socket = _socket(ws, Request())
    written: list[int] = []

    async def pump() -> None:
        async for message in bus.subscribe("a07", direct=socket.send_now):
            assert await socket.send(message)
            written.append(message["seq"])

    task = asyncio.create_task(pump())
    await asyncio.sleep(0)
    ws.paused = True
    bus.publish_nowait("a07", {"type": "pop", "call_id": "c1"})  # written, waits for drain
    ws.paused = False
    for n in range(2, 6):
        bus.publish_nowait("a07", {"type": "pop", "call_id": f"c{n}"})
    await asyncio.sleep(0.01)
    assert _seqs(ws) == [1]  # the rest wait behind the first write
    assert ws.drained is not None
    ws.drained.set_result(None)
    for _ in range(50):
        if len(ws.frames) == 5:
            break
        await asyncio.sleep(0.001)
    assert _seqs(ws) == [1, 2, 3, 4, 5]
    assert written == [2, 3, 4, 5]  # 1 went out on the publisher's call
    assert socket.last_seq == 5
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_write_that_never_drains_drops_the_socket_at_the_deadline() -> None:
    bus, ws, request = InProcessBus(), Ws(), Request()
    socket = _socket(ws, request, timeout_s=0.05)
    feed = bus.subscribe("a07", direct=socket.send_now)
    reader = asyncio.create_task(_first(feed))
    await asyncio.sleep(0)
    ws.paused = True
    bus.publish_nowait("a07", {"type": "pop", "call_id": "c1"})
    await asyncio.sleep(0.2)
    assert socket.dropped == "send_timeout"
    assert request.transport.aborted
    assert socket.last_seq == 0  # never known to be written
    # a dropped socket takes nothing more on the publisher's call
    assert not socket.send_now({"type": "pop", "seq": 2})
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)


async def test_a_busy_reader_gets_the_message_through_its_queue() -> None:
    bus, ws = InProcessBus(), Ws()
    socket = _socket(ws, Request())
    feed = bus.subscribe("a07", after=0, direct=socket.send_now)
    bus.publish_nowait("a07", {"type": "pop", "call_id": "c1"})  # before the reader waits
    first = await anext(feed)
    assert first["seq"] == 1
    assert ws.frames == []  # nobody waited yet: the feed yields it, the reader writes it
    await cast(AsyncGenerator[Message, None], feed).aclose()


async def test_a_message_that_cannot_be_written_never_fails_the_publisher() -> None:
    bus, ws = InProcessBus(), Ws()
    socket = _socket(ws, Request())
    other = _socket(Ws(), Request())
    feeds = [bus.subscribe("a07", direct=s.send_now) for s in (socket, other)]
    readers = [asyncio.create_task(_first(feed)) for feed in feeds]
    await asyncio.sleep(0)
    # not JSON: the publisher goes on; the message is left to the readers' tasks
    seq = bus.publish_nowait("a07", {"type": "pop", "call_id": "c1", "at": object()})
    assert seq == 1
    queued = await asyncio.gather(*readers)
    assert [m["seq"] for m in queued] == [1, 1]
    assert ws.frames == []


async def test_seqs_the_reader_already_has_are_not_written_on_the_publishers_call() -> None:
    # A reader ahead of the channel (`after` above its head) skips seqs up to `after`, as the
    # feed does without `direct`: no seq reaches it twice.
    bus, ws = InProcessBus(), Ws()
    socket = _socket(ws, Request())
    feed = bus.subscribe("a07", after=2, direct=socket.send_now)
    reader = asyncio.create_task(_first(feed))
    await asyncio.sleep(0)
    for n in range(4):
        bus.publish_nowait("a07", {"type": "pop", "call_id": f"c{n}"})
    assert _seqs(ws) == [3, 4]
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)


class ClosingWs(Ws):
    """A close whose wait for the transport is cancelled by another writer's deadline (aiohttp
    shares one drain future per connection)."""

    async def close(self, *, code: int, message: bytes) -> bool:
        raise asyncio.CancelledError


async def test_a_close_cut_short_by_another_writers_deadline_drops_the_socket() -> None:
    request = Request()
    socket = _socket(ClosingWs(), request)
    await socket.close(4001, "logged out")  # does not raise into close_agent / close_all
    assert socket.dropped == "close_timeout"
    assert request.transport.aborted


async def test_a_close_whose_own_task_is_cancelled_is_cancelled() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    class SlowClose(Ws):
        async def close(self, *, code: int, message: bytes) -> bool:
            await gate
            return True

    socket = _socket(SlowClose(), Request())
    closing = asyncio.create_task(socket.close(1001, "stopping"))
    await asyncio.sleep(0)
    closing.cancel()
    results = await asyncio.gather(closing, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
