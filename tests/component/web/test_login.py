"""Login: typed JSON errors, seat bookkeeping, sessions ended by a newer login."""

from __future__ import annotations

import asyncio

from aiohttp import WSMsgType

from tests.component.web.conftest import MakeStack


async def test_wrong_password_gives_typed_json_error(make_stack: MakeStack) -> None:
    stack = await make_stack()
    resp = await stack.client.post(
        "/api/login", json={"agent": "a07", "password": "nope", "seat": "seat07"}
    )
    assert resp.status == 401
    body = await resp.json()
    assert body["error"] == "invalid_credentials"
    assert stack.seats.agent_at("seat07") is None


async def test_unknown_agent_is_indistinguishable_from_wrong_password(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack()
    resp = await stack.client.post(
        "/api/login", json={"agent": "ghost", "password": "nope", "seat": "seat07"}
    )
    assert resp.status == 401
    assert (await resp.json())["error"] == "invalid_credentials"


async def test_malformed_login_names_the_bad_field(make_stack: MakeStack) -> None:
    stack = await make_stack()
    resp = await stack.client.post(
        "/api/login", json={"agent": "a07", "password": "x", "seat": "desk 7"}
    )
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == "bad_request"
    assert body["details"]["field"] == "seat"
    resp = await stack.client.post("/api/login", data=b"[1,2")
    assert (await resp.json())["error"] == "bad_request"


async def test_login_puts_agent_at_seat_and_returns_token(make_stack: MakeStack) -> None:
    stack = await make_stack()
    body = await stack.login("a07", "seat07")
    assert body["token"]
    assert body["agent"] == {"id": "a07", "name": "李娜", "languages": ["zh", "en"]}
    assert stack.seats.agent_at("seat07") == "a07"


async def test_websocket_with_bad_token_is_refused_with_json_401(make_stack: MakeStack) -> None:
    stack = await make_stack()
    resp = await stack.client.get("/ws/agent?token=forged")
    assert resp.status == 401
    assert (await resp.json())["error"] == "invalid_token"


async def test_newer_login_at_seat_ends_previous_agents_socket(make_stack: MakeStack) -> None:
    stack = await make_stack()
    first = await stack.login("a07", "seat07")
    ws = await stack.client.ws_connect(f"/ws/agent?token={first['token']}")
    await stack.login("a22", "seat07")
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type == WSMsgType.CLOSE
    assert msg.data == 4001, msg
    assert stack.seats.agent_at("seat07") == "a22"
    resp = await stack.client.get(f"/ws/agent?token={first['token']}")
    assert resp.status == 401


async def test_logout_frees_the_seat(make_stack: MakeStack) -> None:
    stack = await make_stack()
    body = await stack.login("a07", "seat07")
    resp = await stack.client.post(
        "/api/logout", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert resp.status == 200
    assert stack.seats.agent_at("seat07") is None
