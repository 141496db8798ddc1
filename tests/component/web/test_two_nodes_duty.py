"""Two CTI nodes on one Redis, through the web routes: an agent whose page talks to the node
that does not act logs in and pauses; the acting node drives Asterisk; with no acting node
the page gets 503 `no_acting_node`, never a 500."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis

from cti.bus import InProcessBus
from cti.settings import Settings
from cti.web import WebServices, create_app
from cti.web.keys import DUTY
from queues import MemoryDutyStore
from seats import MemoryAgentAccounts, SeatDirectory
from tests.component.web.conftest import PASSWORD, RecordedWrapups
from tests.support.duty_nodes import Cluster
from tests.support.redis import REDIS_URL, delete_keys
from tests.support.waiting import eventually

pytestmark = pytest.mark.redis


async def test_the_duty_through_the_node_that_does_not_act_and_503_when_none_acts(
    aiohttp_client: Any, accounts: MemoryAgentAccounts
) -> None:
    prefix = f"test-web-duty:{uuid.uuid4().hex}:"
    cluster = Cluster(prefix, MemoryDutyStore())
    try:
        a = await cluster.start("node-a")
        b = await cluster.start("node-b", wait_s=0.5)
        assert a.duty.acting and not b.duty.acting
        clients = []
        for node in (a, b):
            services = WebServices(accounts, InProcessBus(), RecordedWrapups(), SeatDirectory())
            app = create_app(Settings(node_id=node.name), services)
            app[DUTY] = node.duty
            clients.append(await aiohttp_client(app))
        page = clients[1]  # the agent's page talks to node B

        resp = await page.post(
            "/api/login", json={"agent": "a07", "password": PASSWORD, "seat": "seat07"}
        )
        assert resp.status == 200, await resp.text()
        auth = {"Authorization": f"Bearer {(await resp.json())['token']}"}
        resp = await page.post("/api/agent/pause", json={"reason": "meal"}, headers=auth)
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["duty"]["status"] == "paused"
        resp = await page.get("/api/agent/duty", headers=auth)
        assert (await resp.json())["duty"]["reason"] == "meal"
        both = {("q-zh", "seat07"), ("q-en", "seat07")}
        await eventually(
            lambda: all((cluster.pbx.member(*k) or {}).get("PausedReason") == "meal" for k in both),
            what="seat07 paused for meal in both queues",
        )
        assert sorted(a.ami.member_actions()) == sorted(
            [("QueueAdd", q, s) for q, s in both] + [("QueuePause", q, s) for q, s in both]
        )
        assert b.ami.sent == []

        # Node A dies and a frozen holder keeps the lease: nobody acts.
        await a.kill(cluster.pbx)
        client = aioredis.Redis.from_url(REDIS_URL)
        await client.set(f"{prefix}cluster:lease", "ghost 999", px=60_000)
        await client.aclose()
        resp = await page.post("/api/agent/ready", headers=auth)
        assert resp.status == 503
        assert (await resp.json())["error"] == "no_acting_node"
        assert int(resp.headers["Retry-After"]) >= 1
        assert b.ami.sent == []
    finally:
        await cluster.close()
        await delete_keys(prefix)
