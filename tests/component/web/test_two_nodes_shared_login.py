"""Two CTI nodes (two apps on two ports) on one Redis share logins and seats.

Each node has its own RedisBus, RedisSeatDirectory and RedisSessionStore, as `cti serve`
builds them with CTI_REDIS_URL set.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient

from cti.bus import RedisBus
from cti.settings import Settings
from cti.state import CallTracker, StateService
from cti.web import WebServices, create_app
from cti.web.redis_sessions import RedisSessionStore
from seats import MemoryAgentAccounts, RedisSeatDirectory
from tests.component.web.conftest import PASSWORD, REDIS_URL, RecordedWrapups, pop
from tests.support.recordings import recording_events
from tests.support.waiting import eventually

pytestmark = pytest.mark.redis


@dataclass
class Node:
    client: TestClient[Any, Any]
    bus: RedisBus
    seats: RedisSeatDirectory
    sessions: RedisSessionStore

    async def login(self, agent: str, seat: str) -> str:
        resp = await self.client.post(
            "/api/login", json={"agent": agent, "password": PASSWORD, "seat": seat}
        )
        assert resp.status == 200, await resp.text()
        token: str = (await resp.json())["token"]
        return token

    async def connect(self, token: str) -> ClientWebSocketResponse:
        return await self.client.ws_connect(f"/ws/agent?token={token}&last_seq=0")


async def next_message(ws: ClientWebSocketResponse) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type == WSMsgType.TEXT, msg
    data: dict[str, Any] = json.loads(msg.data)
    return data


async def live(ws: ClientWebSocketResponse, node: Node, agent: str) -> None:
    """The socket is past its replay and receiving live messages.

    Closing a socket in its first milliseconds can hit redis-py 8.1's swallowed cancel in
    the RedisBus replay, which leaves the server handler waiting until shutdown.
    """
    await node.bus.publish(agent, {"type": "state", "status": "idle"})
    assert (await next_message(ws))["type"] == "state"


async def closed_with(ws: ClientWebSocketResponse) -> int:
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type == WSMsgType.CLOSE, msg
    code: int = msg.data
    return code


@pytest.fixture
async def nodes(
    aiohttp_client: Any, accounts: MemoryAgentAccounts
) -> AsyncIterator[tuple[Node, Node]]:
    prefix = f"test-web-shared:{uuid.uuid4().hex}:"
    async with AsyncExitStack() as stack:
        made = []
        for name in ("a", "b"):
            bus = RedisBus.from_url(REDIS_URL, prefix=prefix)
            stack.push_async_callback(bus.close)
            seats = RedisSeatDirectory.from_url(REDIS_URL, prefix=prefix)
            await seats.start()
            stack.push_async_callback(seats.close)
            sessions = RedisSessionStore.from_url(REDIS_URL, prefix=prefix)
            await sessions.start()
            stack.push_async_callback(sessions.close)
            services = WebServices(accounts, bus, RecordedWrapups(), seats, sessions)
            client = await aiohttp_client(create_app(Settings(node_id=name), services))
            made.append(Node(client, bus, seats, sessions))
        yield made[0], made[1]
    r = aioredis.Redis.from_url(REDIS_URL)
    keys = [k async for k in r.scan_iter(match=f"{prefix}*")]
    if keys:
        await r.delete(*keys)
    await r.aclose()


async def test_token_issued_on_node_a_opens_the_websocket_on_node_b(
    nodes: tuple[Node, Node],
) -> None:
    node_a, node_b = nodes
    assert node_a.client.port != node_b.client.port
    token = await node_a.login("a07", "seat07")
    ws = await node_b.connect(token)
    await node_a.bus.publish("a07", pop("via-b"))
    assert (await next_message(ws))["call_id"] == "via-b"
    await ws.close()


async def test_pop_made_by_node_b_state_machine_reaches_agent_on_node_a(
    nodes: tuple[Node, Node], traces_dir: Path
) -> None:
    node_a, node_b = nodes
    token = await node_a.login("a07", "seat07")
    ws = await node_a.connect(token)
    await eventually(lambda: node_b.seats.agent_at("seat07") == "a07")
    state_b = StateService(CallTracker(node_b.seats), node_b.bus)
    for event in recording_events(traces_dir / "03-call-answered.ami"):
        await state_b.on_event(event)
    kinds = []
    while "completed" not in kinds:
        kinds.append((await next_message(ws))["type"])
    assert [k for k in kinds if k != "state"] == ["pop", "answered", "completed"]
    await ws.close()


async def test_logout_on_node_a_refuses_the_token_on_node_b_and_closes_its_socket(
    nodes: tuple[Node, Node],
) -> None:
    node_a, node_b = nodes
    token = await node_a.login("a07", "seat07")
    ws = await node_b.connect(token)  # node B has now checked (and cached) the token
    await live(ws, node_a, "a07")
    resp = await node_a.client.post("/api/logout", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    assert await closed_with(ws) == 4001
    resp = await node_b.client.get(f"/ws/agent?token={token}")
    assert resp.status == 401
    await eventually(lambda: node_b.seats.agent_at("seat07") is None)


async def test_login_at_the_same_seat_on_node_b_displaces_the_agent_on_node_a(
    nodes: tuple[Node, Node],
) -> None:
    node_a, node_b = nodes
    first = await node_a.login("a07", "seat07")
    ws = await node_a.connect(first)
    await live(ws, node_b, "a07")
    second = await node_b.login("a22", "seat07")
    assert await closed_with(ws) == 4001
    await eventually(lambda: node_a.seats.agent_at("seat07") == "a22")
    resp = await node_a.client.get(f"/ws/agent?token={first}")
    assert resp.status == 401
    ws = await node_a.connect(second)  # the newcomer's token works on either node
    await node_b.bus.publish("a22", pop("for-the-newcomer"))
    assert (await next_message(ws))["call_id"] == "for-the-newcomer"
    await ws.close()


async def test_same_agent_logging_in_on_node_b_closes_their_old_page_on_node_a(
    nodes: tuple[Node, Node],
) -> None:
    node_a, node_b = nodes
    old = await node_a.login("a07", "seat07")
    ws_old = await node_a.connect(old)
    await live(ws_old, node_b, "a07")
    new = await node_b.login("a07", "seat08")
    ws_new = await node_a.connect(new)  # a new page on node A must survive the old one's end
    assert await closed_with(ws_old) == 4001
    await eventually(lambda: node_a.seats.occupied() == {"seat08": "a07"})
    await node_b.bus.publish("a07", pop("still-here"))
    got = await next_message(ws_new)
    while got["type"] == "state":  # replayed from before (last_seq=0)
        got = await next_message(ws_new)
    assert got["call_id"] == "still-here"
    await ws_new.close()
