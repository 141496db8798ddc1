"""Issue 15: Redis keeps no token (agents' and supervisors' keys are the tokens' SHA-256, the
ended-session events name the hash), and nothing it keeps lives for ever."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.component.web.conftest import PASSWORD, pop
from tests.support.redis import REDIS_URL
from tests.support.redis_node import Node, Page, redis_node
from tests.support.waiting import eventually

pytestmark = pytest.mark.redis


async def _everything_under(client: aioredis.Redis, prefix: str) -> dict[str, tuple[str, int]]:
    """Key → (every name and value it holds, as one text; its PTTL)."""
    found: dict[str, tuple[str, int]] = {}
    async for raw in client.scan_iter(match=f"{prefix}*"):
        key = raw.decode()
        kind_raw: Any = await client.type(key)
        kind = kind_raw.decode()
        if kind == "string":
            held: Any = await client.get(key)
        elif kind == "hash":
            held = await client.hgetall(key)
        elif kind == "set":
            held = await client.smembers(key)
        elif kind == "stream":
            held = await client.xrange(key)
        else:
            held = await client.dump(key)
        found[key] = (repr(held), await client.pttl(key))
    return found


async def _a_shift(node: Node, other: Node, events: list[str]) -> list[str]:
    """Logins on both nodes, pops to a socket, a seat taken, a logout, a supervisor: the
    tokens handed out."""
    a07 = await node.login("a07", "seat07")
    a21 = await other.login("a21", "seat21")
    page = Page(node, a07["token"], a07["last_seq"])
    page.start()
    await eventually(lambda: node.client.app is not None and page.ws is not None)
    for n in range(3):
        await node.bus.publish("a07", pop(f"call-{n}"))
    await eventually(lambda: page.pops == ["call-0", "call-1", "call-2"], what="pops")
    a22 = await node.login("a22", "seat21")  # a21's session ends on the other node
    await other.client.post("/api/logout", headers={"Authorization": f"Bearer {a07['token']}"})
    await eventually(lambda: page.ended, what="a07's page closed by the logout")
    await page.stop()
    resp = await node.client.post(
        "/api/supervisor/login", json={"agent": "s01", "password": PASSWORD}
    )
    assert resp.status == 200, await resp.text()
    supervisor = (await resp.json())["token"]
    wall = await other.client.get(
        "/api/wallboard", headers={"Authorization": f"Bearer {supervisor}"}
    )
    assert wall.status == 200  # the other node found it by its hash
    await eventually(lambda: len(events) >= 2, what="two ended-session events")
    return [a07["token"], a21["token"], a22["token"], supervisor]


async def test_redis_holds_no_token_and_every_key_expires(aiohttp_client: Any, prefix: str) -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(f"{prefix}session:events")
    events: list[str] = []

    async def collect() -> None:
        async for item in pubsub.listen():
            events.append(item["data"].decode())

    collector = asyncio.create_task(collect())
    try:
        async with (
            redis_node(aiohttp_client, REDIS_URL, prefix) as node,
            redis_node(aiohttp_client, REDIS_URL, prefix) as other,
        ):
            tokens = await _a_shift(node, other, events)
            held = await _everything_under(client, prefix)
    finally:
        collector.cancel()
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()

    assert any(":session:" in key for key in held)  # the run did store sessions
    assert any(":supervisor:" in key for key in held)
    assert any(":seat:agent_at" in key for key in held)
    for token in tokens:
        for key, (values, _) in held.items():
            assert token not in key and token not in values, key
        for event in events:
            assert token not in event
    assert {json.loads(e)["reason"] for e in events} >= {"seat taken by a22", "logged out"}
    without_ttl = sorted(key for key, (_, pttl) in held.items() if pttl < 0)
    assert without_ttl == []
