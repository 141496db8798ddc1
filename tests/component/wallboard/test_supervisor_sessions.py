"""Supervisor tokens: a wallboard socket closes when its token's shift is over, and with Redis
a token issued by one node opens the wallboard on another."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from cti.bus import InProcessBus
from cti.db import create_engine, upgrade
from cti.settings import Settings, load_settings
from cti.sim import SimConfig, SimThread
from cti.wallboard import WallboardService
from cti.wallboard.http import SUPERVISORS, WALLBOARD
from cti.wallboard.sessions import RedisSupervisorSessions, SupervisorSessions, SupervisorStore
from cti.web import WebServices, create_app
from cti.web.keys import SocketLimits
from seats import MemoryAgentAccounts, SeatDirectory, SqlAgentAccounts
from tests.support.redis import REDIS_URL, delete_keys

PASSWORD = "correct horse 7"


class Clock:
    def __init__(self) -> None:
        self.now = 1_795_361_778.0

    def __call__(self) -> float:
        return self.now


class _NoWrapups:
    async def save_wrapup(self, call_id: str, agent: str, outcome: str, note: str) -> None:
        raise LookupError(call_id)


async def _node(aiohttp_client: Any, store: SupervisorStore) -> TestClient[Any, Any]:
    accounts = MemoryAgentAccounts()
    accounts.add("s01", "王组长", "zh", PASSWORD, role="supervisor")
    app = create_app(
        Settings(),
        WebServices(accounts, InProcessBus(), _NoWrapups(), SeatDirectory()),
        limits=SocketLimits(session_check_s=0.05),
    )
    app[WALLBOARD] = WallboardService()
    app[SUPERVISORS] = store
    client: TestClient[Any, Any] = await aiohttp_client(app)
    return client


async def _login(client: TestClient[Any, Any]) -> str:
    resp = await client.post("/api/supervisor/login", json={"agent": "s01", "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    token: str = (await resp.json())["token"]
    return token


async def test_wallboard_socket_closes_4001_when_the_token_expires(aiohttp_client: Any) -> None:
    clock = Clock()
    client = await _node(aiohttp_client, SupervisorSessions(ttl_s=60, clock=clock))
    token = await _login(client)
    async with client.ws_connect(f"/ws/wallboard?token={token}") as ws:
        assert "queues" in await ws.receive_json(timeout=5)
        clock.now += 61  # the shift is over
        msg = await ws.receive(timeout=5)
        while msg.type == aiohttp.WSMsgType.TEXT:  # a board pushed meanwhile
            msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert (msg.data, msg.extra) == (4001, "session expired")
    resp = await client.get("/api/wallboard", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 401


@pytest.mark.redis
async def test_a_supervisor_token_from_one_node_opens_the_wallboard_on_another(
    aiohttp_client: Any,
) -> None:
    prefix = f"test-supervisors:{uuid.uuid4().hex}:"
    clock = Clock()
    stores = [RedisSupervisorSessions.from_url(REDIS_URL, prefix, clock=clock) for _ in "ab"]
    try:
        node_a = await _node(aiohttp_client, stores[0])
        node_b = await _node(aiohttp_client, stores[1])
        token = await _login(node_a)
        headers = {"Authorization": f"Bearer {token}"}
        assert (await node_b.get("/api/wallboard", headers=headers)).status == 200
        async with node_b.ws_connect(f"/ws/wallboard?token={token}") as ws:
            assert "queues" in await ws.receive_json(timeout=5)
            clock.now += 13 * 3600 + 1  # both nodes see the shift end
            msg = await ws.receive(timeout=5)
            while msg.type == aiohttp.WSMsgType.TEXT:
                msg = await ws.receive(timeout=5)
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 4001)
        assert (await node_a.get("/api/wallboard", headers=headers)).status == 401
        assert (await node_b.get("/api/wallboard", headers=headers)).status == 401
    finally:
        for store in stores:
            await store.close()
        await delete_keys(prefix)


@pytest.mark.redis
@pytest.mark.timeout(60)
async def test_cti_serve_with_redis_keeps_supervisor_tokens_in_redis(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine, "head")
    await SqlAgentAccounts(engine).add("s01", "王组长", "zh", PASSWORD, role="supervisor")
    await engine.dispose()
    async with SimThread(SimConfig()) as sim:
        settings = load_settings(database_url=url, ami={"port": sim.port}, redis_url=REDIS_URL)
        server = await aiohttp_server(create_app(settings))
        login = {"agent": "s01", "password": PASSWORD}
        login_url = server.make_url("/api/supervisor/login")
        client = aioredis.Redis.from_url(REDIS_URL)
        async with aiohttp.ClientSession() as http:
            async with http.post(login_url, json=login) as resp:
                assert resp.status == 200, await resp.text()
                token = (await resp.json())["token"]
            key = f"cti:supervisor:{hashlib.sha256(token.encode()).hexdigest()}"  # not the token
            try:
                assert await client.ttl(key) > 12 * 3600
                # Redis loses its data (as a restart without persistence would, for these keys):
                # the node that issued the token writes it back, the wall screen stays open.
                await client.delete(key, "cti:epoch")
                headers = {"Authorization": f"Bearer {token}"}
                async with http.get(server.make_url("/api/wallboard"), headers=headers) as resp:
                    assert resp.status == 200, await resp.text()
                assert await client.ttl(key) > 12 * 3600
            finally:
                await client.delete(key)
                await client.aclose()


async def test_an_administrator_may_open_the_wallboard(aiohttp_client: Any) -> None:
    accounts = MemoryAgentAccounts()
    accounts.add("ad01", "管理员", "zh", PASSWORD, role="administrator")
    accounts.add("g01", "组长", "zh", PASSWORD, role="group_leader")
    app = create_app(
        Settings(), WebServices(accounts, InProcessBus(), _NoWrapups(), SeatDirectory())
    )
    app[WALLBOARD] = WallboardService()
    client = await aiohttp_client(app)
    for agent, status in (("ad01", 200), ("g01", 403)):
        login = {"agent": agent, "password": PASSWORD}
        resp = await client.post("/api/supervisor/login", json=login)
        assert resp.status == status, await resp.text()


async def test_redis_unreachable_is_503_not_a_bad_token(aiohttp_client: Any) -> None:
    store = RedisSupervisorSessions.from_url("redis://127.0.0.1:1/0", "test-supervisors:")
    try:
        client = await _node(aiohttp_client, store)
        login = {"agent": "s01", "password": PASSWORD}
        resp = await client.post("/api/supervisor/login", json=login)
        assert resp.status == 503 and (await resp.json())["error"] == "store_unavailable"
        resp = await client.get("/api/wallboard", headers={"Authorization": "Bearer t"})
        assert resp.status == 503
    finally:
        await store.close()
