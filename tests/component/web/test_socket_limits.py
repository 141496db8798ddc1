"""Issue 10's low items on the agent socket and the routes: tokens only where needed, a cap
on sockets per agent, a `last_seq` from the future, sessions that expire under a socket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType

from cti.bus import InProcessBus
from cti.settings import Settings
from cti.web import SocketLimits, WebServices, create_app
from cti.web.sessions import SessionStore
from seats import MemoryAgentAccounts, SeatDirectory
from tests.component.web.conftest import PASSWORD, MakeStack, RecordedWrapups, Stack


async def _next(ws: ClientWebSocketResponse, within: float = 5) -> dict[str, Any]:
    while True:
        msg = await asyncio.wait_for(ws.receive(), within)
        assert msg.type == WSMsgType.TEXT, msg
        data: dict[str, Any] = json.loads(msg.data)
        if data.get("type") != "heartbeat":
            return data


async def _connect(stack: Stack, token: str, last_seq: int | None = None) -> Any:
    query = f"token={token}" + ("" if last_seq is None else f"&last_seq={last_seq}")
    return await stack.client.ws_connect(f"/ws/agent?{query}")


async def test_a_token_in_the_url_of_a_post_is_refused(make_stack: MakeStack) -> None:
    stack = await make_stack()
    token = (await stack.login("a07", "seat07"))["token"]
    resp = await stack.client.post(f"/api/logout?token={token}")
    assert resp.status == 400
    assert (await resp.json())["details"]["field"] == "token"
    assert stack.seats.agent_at("seat07") == "a07"  # nothing happened
    resp = await stack.client.post("/api/logout", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200


async def test_sockets_per_agent_are_capped(make_stack: MakeStack) -> None:
    stack = await make_stack(limits=SocketLimits(per_agent=3))
    token = (await stack.login("a07", "seat07"))["token"]
    open_ = [await _connect(stack, token) for _ in range(3)]
    resp = await stack.client.get(f"/ws/agent?token={token}")  # the page's plain-HTTP probe
    assert resp.status == 429
    assert (await resp.json())["error"] == "too_many_sockets"
    assert resp.headers["Retry-After"] == "5"
    # concurrent upgrades cannot slip past the cap either
    await open_.pop().close()
    tries = await asyncio.gather(
        *(_connect(stack, token) for _ in range(10)), return_exceptions=True
    )
    assert sum(not isinstance(t, BaseException) for t in tries) == 1
    other = await stack.login("a21", "seat21")
    await (await _connect(stack, other["token"])).close()  # another agent is not affected


async def test_last_seq_ahead_of_the_server_gets_a_reset(make_stack: MakeStack) -> None:
    stack = await make_stack()
    token = (await stack.login("a07", "seat07"))["token"]
    for n in range(3):
        await stack.bus.publish("a07", {"type": "state", "n": n})
    ws = await _connect(stack, token, last_seq=1000)
    reset = await _next(ws)
    assert reset == {"seq": 3, "type": "resynced", "reason": "seq_ahead"}
    await stack.bus.publish("a07", {"type": "pop", "call_id": "c1"})
    got = await _next(ws)
    assert (got["seq"], got["type"]) == (4, "pop")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_an_open_socket_closes_when_its_session_expires(aiohttp_client: Any) -> None:
    accounts = MemoryAgentAccounts()
    accounts.add("a07", "李娜", "zh", PASSWORD)
    clock = Clock()
    sessions = SessionStore(ttl_s=13 * 3600, clock=clock)
    services = WebServices(accounts, InProcessBus(), RecordedWrapups(), SeatDirectory(), sessions)
    limits = SocketLimits(session_check_s=0.05)
    client = await aiohttp_client(create_app(Settings(), services, limits=limits))
    resp = await client.post(
        "/api/login", json={"agent": "a07", "password": PASSWORD, "seat": "seat07"}
    )
    token = (await resp.json())["token"]
    ws = await client.ws_connect(f"/ws/agent?token={token}")
    await asyncio.sleep(0.2)
    assert not ws.closed  # a live session keeps its socket
    clock.now = 13 * 3600 + 1  # the shift is over
    msg = await asyncio.wait_for(ws.receive(), 5)
    while msg.type == WSMsgType.TEXT:  # a heartbeat or the duty may come first
        msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type == WSMsgType.CLOSE
    assert (msg.data, msg.extra) == (4001, "session expired")
