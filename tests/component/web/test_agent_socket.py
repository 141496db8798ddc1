"""The agent WebSocket: own messages only, replay on reconnect, slow readers dropped."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType

from cti.web import SocketLimits
from tests.component.web.conftest import MakeStack, Stack, pop
from tests.support.waiting import eventually


async def _next(ws: ClientWebSocketResponse, within: float = 5) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), within)
    assert msg.type == WSMsgType.TEXT, msg
    data: dict[str, Any] = json.loads(msg.data)
    return data


async def _connect(stack: Stack, token: str, last_seq: int | None) -> ClientWebSocketResponse:
    query = f"token={token}" + ("" if last_seq is None else f"&last_seq={last_seq}")
    return await stack.client.ws_connect(f"/ws/agent?{query}")


async def test_agent_receives_only_own_pops(make_stack: MakeStack) -> None:
    stack = await make_stack()
    s07 = await stack.login("a07", "seat07")
    s21 = await stack.login("a21", "seat21")
    ws07 = await _connect(stack, s07["token"], s07["last_seq"])
    ws21 = await _connect(stack, s21["token"], s21["last_seq"])
    await stack.bus.publish("a21", pop("call-for-21"))
    await stack.bus.publish("a07", pop("call-for-07"))
    got07 = await _next(ws07)
    got21 = await _next(ws21)
    assert (got07["call_id"], got21["call_id"]) == ("call-for-07", "call-for-21")
    await stack.bus.publish("a07", {"type": "retract", "call_id": "call-for-07"})
    assert (await _next(ws07))["type"] == "retract"
    # a21 got nothing more: the next thing on its socket is what we publish to it now
    await stack.bus.publish("a21", {"type": "state", "status": "idle"})
    assert (await _next(ws21))["type"] == "state"


async def test_every_message_carries_increasing_seq_and_type(make_stack: MakeStack) -> None:
    stack = await make_stack()
    s = await stack.login("a07", "seat07")
    ws = await _connect(stack, s["token"], s["last_seq"])
    for kind in ("pop", "answered", "completed"):
        await stack.bus.publish("a07", {"type": kind, "call_id": "c1"})
    got = [await _next(ws) for _ in range(3)]
    assert [m["type"] for m in got] == ["pop", "answered", "completed"]
    assert [m["seq"] for m in got] == sorted({m["seq"] for m in got})


async def test_reconnect_mid_burst_loses_nothing_and_duplicates_nothing(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack()
    s = await stack.login("a07", "seat07")
    total = 300
    received: list[int] = []

    async def publisher() -> None:
        for i in range(total):
            await stack.bus.publish("a07", pop(f"c{i}"))
            await asyncio.sleep(0.0005)

    burst = asyncio.create_task(publisher())
    last_seq = s["last_seq"]
    # Drop the connection three times mid-burst, each time after a few messages.
    for _ in range(3):
        ws = await _connect(stack, s["token"], last_seq)
        for _ in range(40):
            received.append((await _next(ws))["seq"])
        last_seq = received[-1]
        await ws.close()
    ws = await _connect(stack, s["token"], last_seq)
    while len(received) < total:
        received.append((await _next(ws))["seq"])
    await burst
    assert received == list(range(1, total + 1))


async def test_connect_without_last_seq_starts_from_now(make_stack: MakeStack) -> None:
    stack = await make_stack()
    s = await stack.login("a07", "seat07")
    await stack.bus.publish("a07", pop("old"))
    ws = await _connect(stack, s["token"], None)
    await asyncio.sleep(0.05)
    await stack.bus.publish("a07", pop("new"))
    assert (await _next(ws))["call_id"] == "new"


async def test_login_last_seq_catches_a_pop_published_before_connect(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack()
    await stack.bus.publish("a07", pop("before-login"))
    s = await stack.login("a07", "seat07")
    await stack.bus.publish("a07", pop("between-login-and-connect"))
    ws = await _connect(stack, s["token"], s["last_seq"])
    assert (await _next(ws))["call_id"] == "between-login-and-connect"


async def test_truncated_history_is_announced_before_the_replay(make_stack: MakeStack) -> None:
    stack = await make_stack(history=5)
    s = await stack.login("a07", "seat07")
    for i in range(12):
        await stack.bus.publish("a07", pop(f"c{i}"))
    ws = await _connect(stack, s["token"], 2)
    notice = await _next(ws)
    assert notice["type"] == "resynced"
    assert notice["reason"] == "history_truncated"
    replay = [await _next(ws) for _ in range(5)]
    assert [m["seq"] for m in replay] == [8, 9, 10, 11, 12]
    assert notice["seq"] < replay[0]["seq"]


async def test_non_reading_client_is_dropped_without_stalling_others(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack(limits=SocketLimits(send_timeout_s=2.0), subscriber_queue=64)
    slow = await stack.login("a21", "seat21")
    fast = await stack.login("a07", "seat07")
    slow_ws = await _connect(stack, slow["token"], slow["last_seq"])  # never reads
    fast_ws = await _connect(stack, fast["token"], fast["last_seq"])
    total = 1500
    got: list[int] = []

    async def read_fast() -> None:
        while len(got) < total:
            got.append((await _next(fast_ws, within=10))["seq"])

    reader = asyncio.create_task(read_fast())
    for i in range(total):
        # 16 KB pops: the slow socket's kernel buffers fill within a few hundred of them
        await stack.bus.publish("a21", pop(f"s{i}", pad=16_000))
        await stack.bus.publish("a07", pop(f"f{i}"))
        await asyncio.sleep(0)
    await asyncio.wait_for(reader, 20)
    assert got == list(range(1, total + 1))
    # The slow socket goes within the write deadline (2 s) of its first blocked write.
    await _sockets_open(stack, 1)
    metrics = await (await stack.client.get("/metrics")).text()
    dropped = [
        line
        for line in metrics.splitlines()
        if line.startswith("cti_agent_sockets_dropped_total{") and not line.endswith(" 0.0")
    ]
    assert dropped, metrics
    # the dropped client sees its connection end (after whatever the kernel had buffered)
    while True:
        msg = await asyncio.wait_for(slow_ws.receive(), 10)
        if msg.type != WSMsgType.TEXT:
            break
    assert msg.type in (WSMsgType.CLOSED, WSMsgType.CLOSE, WSMsgType.ERROR)


async def test_a_browser_offering_deflate_gets_plain_frames(make_stack: MakeStack) -> None:
    stack = await make_stack()
    s = await stack.login("a07", "seat07")
    ws = await stack.client.ws_connect(f"/ws/agent?token={s['token']}", compress=15)
    assert ws.compress == 0  # the server declined permessage-deflate
    await stack.bus.publish("a07", pop("plain"))
    assert (await _next(ws))["call_id"] == "plain"


def _writes_waiting_for_drain(agent: str) -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == f"ws-finish-{agent}" and not t.done()]


# Only the in-process bus writes a live message on the publisher's own call.
@pytest.mark.parametrize("bus_kind", ["memory"])
async def test_a_write_waiting_for_drain_ends_with_its_socket(make_stack: MakeStack) -> None:
    stack = await make_stack(limits=SocketLimits(send_timeout_s=30.0))
    s = await stack.login("a07", "seat07")
    ws = await _connect(stack, s["token"], s["last_seq"])  # reads nothing: the writes back up
    for i in range(3000):
        await stack.bus.publish("a07", pop(f"c{i}", pad=16_000))
        if _writes_waiting_for_drain("a07"):
            break
        await asyncio.sleep(0)
    assert _writes_waiting_for_drain("a07")  # a publisher's write left waiting for drain
    # The client says goodbye without reading what is still on its way: the handler ends.
    await ws._writer.close(1000, b"")
    await _sockets_open(stack, 0)
    # Nothing of the socket outlives its handler (the feed's own write was cancelled there too).
    assert _writes_waiting_for_drain("a07") == []


async def _sockets_open(stack: Stack, count: int) -> None:
    """Wait until /health counts `count` open agent sockets (10 s)."""

    async def counted() -> bool:
        health = await (await stack.client.get("/health")).json()
        return bool(health["agent_sockets"] == count)

    await eventually(counted, within_s=10, what=f"{count} agent socket(s) open")
