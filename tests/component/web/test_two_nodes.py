"""Two CTI nodes on one Redis: a pop published on one reaches the agent connected to the other."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from cti.bus import RedisBus
from cti.settings import Settings
from cti.web import WebServices, create_app
from seats import MemoryAgentAccounts, SeatDirectory
from tests.component.web.conftest import PASSWORD, RecordedWrapups, pop
from tests.support.redis import REDIS_URL, delete_keys

pytestmark = pytest.mark.redis


async def test_pop_published_on_other_node_reaches_agent_and_replays_there(
    aiohttp_client: Any, accounts: MemoryAgentAccounts
) -> None:
    prefix = f"test-web2:{uuid.uuid4().hex}:"
    node_a_bus = RedisBus.from_url(REDIS_URL, prefix=prefix)
    node_b_bus = RedisBus.from_url(REDIS_URL, prefix=prefix)
    try:
        services = WebServices(accounts, node_a_bus, RecordedWrapups(), SeatDirectory())
        client = await aiohttp_client(create_app(Settings(node_id="a"), services))
        resp = await client.post(
            "/api/login", json={"agent": "a07", "password": PASSWORD, "seat": "seat07"}
        )
        login = await resp.json()
        ws = await client.ws_connect(f"/ws/agent?token={login['token']}&last_seq=0")
        await node_b_bus.publish("a07", pop("from-node-b"))
        first = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
        assert first["call_id"] == "from-node-b"
        await ws.close()
        # published on node B while the agent is away; replayed by node A on reconnect
        await node_b_bus.publish("a07", {"type": "retract", "call_id": "from-node-b"})
        ws = await client.ws_connect(f"/ws/agent?token={login['token']}&last_seq={first['seq']}")
        second = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
        assert (second["type"], second["seq"]) == ("retract", first["seq"] + 1)
        await ws.close()
    finally:
        await node_a_bus.close()
        await node_b_bus.close()
        await delete_keys(prefix)
