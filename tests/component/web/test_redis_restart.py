"""Redis restarted under a CTI node (bus, seats and sessions on it), without persistence:
the node writes back the session it holds so the token still works, the page either goes on
or is cut and resumes, logins work again as soon as Redis answers, and a page that comes back
with a seq the server never reached is reset instead of ignoring everything.

A private redis-server on a free port, so the shared one is never touched.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType

from cti.bus import RedisBus
from cti.settings import Settings
from cti.web import WebServices, create_app
from cti.web.redis_sessions import RedisSessionStore
from seats import MemoryAgentAccounts, RedisSeatDirectory
from tests.component.web.conftest import PASSWORD, RecordedWrapups, pop
from tests.support.private_redis import PrivateRedis
from tests.support.waiting import eventually

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")


@pytest.fixture
async def node(aiohttp_client: Any, private_redis: PrivateRedis) -> AsyncIterator[Any]:
    accounts = MemoryAgentAccounts()
    accounts.add("a07", "李娜", "zh", PASSWORD)
    async with AsyncExitStack() as stack:
        bus = RedisBus.from_url(private_redis.url, prefix="t:")
        stack.push_async_callback(bus.close)
        seats = RedisSeatDirectory.from_url(private_redis.url, prefix="t:")
        await seats.start()
        stack.push_async_callback(seats.close)
        sessions = RedisSessionStore.from_url(private_redis.url, prefix="t:", recheck_s=0.2)
        await sessions.start()
        stack.push_async_callback(sessions.close)
        services = WebServices(accounts, bus, RecordedWrapups(), seats, sessions)
        settings = Settings(redis_url=private_redis.url)
        client = await aiohttp_client(create_app(settings, services))
        yield client, bus


async def _login(client: Any) -> dict[str, Any]:
    resp = await client.post(
        "/api/login", json={"agent": "a07", "password": PASSWORD, "seat": "seat07"}
    )
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def _next(ws: ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        msg = await asyncio.wait_for(ws.receive(), 20)  # a loaded box: the bus retries at 2 s
        if msg.type != WSMsgType.TEXT:
            return {"closed": msg.type.name}
        data: dict[str, Any] = json.loads(msg.data)
        if data.get("type") != "heartbeat":
            return data


async def test_redis_restarted_empty_keeps_the_token_and_pops_resume(
    node: Any, private_redis: PrivateRedis
) -> None:
    client, bus = node
    token = (await _login(client))["token"]
    ws = await client.ws_connect(f"/ws/agent?token={token}&last_seq=0")
    for n in range(3):
        await bus.publish("a07", pop(f"before-{n}"))
    seqs = [(await _next(ws))["seq"] for _ in range(3)]
    assert seqs == [1, 2, 3]

    await asyncio.to_thread(private_redis.stop)

    async def health_names_redis() -> bool:
        resp = await client.get("/health")
        return resp.status == 503 and "redis" in str(await resp.text()).lower()

    await eventually(health_names_redis, within_s=15)

    await asyncio.to_thread(private_redis.start)
    restarted = time.monotonic()

    async def token_kept() -> bool:  # the node wrote its session back: no login needed
        resp = await client.post("/api/agent/ticket", headers={"Authorization": f"Bearer {token}"})
        return bool(resp.status == 200)

    await eventually(token_kept, within_s=20)
    kept_s = time.monotonic() - restarted
    await ws.close()

    async def logged_in() -> dict[str, Any] | None:
        resp = await client.post(
            "/api/login", json={"agent": "a07", "password": PASSWORD, "seat": "seat07"}
        )
        return await resp.json() if resp.status == 200 else None

    again = await eventually(logged_in, within_s=30)
    login_s = time.monotonic() - restarted
    head = again["last_seq"]  # 0, or 3 when the node put back the seq its page had seen
    assert head in (0, 3)
    # A page that kept a seq the server never reached would ignore what comes: reset it.
    ws = await client.ws_connect(f"/ws/agent?token={again['token']}&last_seq={head + 5}")
    assert await _next(ws) == {"seq": head, "type": "resynced", "reason": "seq_ahead"}
    await bus.publish("a07", pop("after"))
    after = await _next(ws)
    assert (after["seq"], after["call_id"]) == (head + 1, "after")
    print(f"\nRedis back: token good again after {kept_s:.2f} s, login after {login_s:.2f} s")
    await ws.close()
