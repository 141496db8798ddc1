"""The server tells the truth about Asterisk: /health and the agents' pages, `cti serve`'s wiring.

Down (refused, or a user without the classes the server needs) is a 503 naming the reason
and a `pbx` "down" on every agent's socket; live again within a second of Asterisk listening.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from cti.ami import ReplayPeer
from cti.bus.redis import RedisBus
from cti.db import create_engine, upgrade
from cti.settings import Settings, load_settings
from cti.web import WebServices, create_app
from seats import MemoryAgentAccounts, SeatDirectory, SqlAgentAccounts
from tests.support.redis import REDIS_URL
from tests.support.waiting import eventually

PASSWORD = "pw-truth"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def served(tmp_path: Path, aiohttp_server: Any) -> AsyncIterator[tuple[TestServer, int]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine, "head")
    await SqlAgentAccounts(engine).add("a07", "李娜", "zh,en", PASSWORD, "seat07")
    await engine.dispose()
    ami_port = _free_port()
    settings = load_settings(
        database_url=url,
        ami={"port": ami_port, "username": "ctiro", "secret": "ctirosecret"},
    )
    app: web.Application = create_app(settings)
    server: TestServer = await aiohttp_server(app)
    yield server, ami_port


async def _health(http: aiohttp.ClientSession, server: TestServer) -> tuple[int, dict[str, Any]]:
    async with http.get(server.make_url("/health")) as resp:
        return resp.status, await resp.json()


async def test_refused_is_503_and_down_on_the_page_then_live_within_1_s_of_asterisk(
    served: tuple[TestServer, int], traces_dir: Path
) -> None:
    server, ami_port = served
    async with aiohttp.ClientSession() as http:
        status, body = await eventually(
            lambda: _refused(http, server), what="503 naming the refused connection"
        )
        assert status == 503
        assert body["status"] == "unavailable"
        async with http.post(
            server.make_url("/api/login"), json={"agent": "a07", "password": PASSWORD}
        ) as resp:
            token = (await resp.json())["token"]
        ws = await http.ws_connect(server.make_url(f"/ws/agent?token={token}"))
        duty = await ws.receive_json(timeout=5)
        assert duty["type"] == "duty"
        assert duty["pbx"]["status"] == "down"
        assert "connection refused" in duty["pbx"]["reason"]
        assert [q["queue"] for q in duty["queues"]] == ["q-zh", "q-en"]

        async with ReplayPeer(
            traces_dir / "20-least-privilege.ami",
            port=ami_port,
            username="ctiro",
            secret="ctirosecret",
            wait_for_actions=False,
        ):
            listening = time.monotonic()
            await eventually(lambda: _ok(http, server), within_s=3, what="/health 200")
            back_s = time.monotonic() - listening
            assert back_s < 1.0, f"live {back_s:.2f} s after Asterisk listened"
            live = await _next_of(ws, "pbx")
            assert live["status"] == "live"
        await ws.close()


async def test_a_user_without_the_reporting_class_is_named_not_looped(
    served: tuple[TestServer, int], traces_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server, ami_port = served
    caplog.set_level(logging.ERROR, logger="cti.ami.client")
    async with (
        aiohttp.ClientSession() as http,
        ReplayPeer(
            traces_dir / "20-least-privilege.ami",
            port=ami_port,
            username="ctiro",
            secret="ctirosecret",
            wait_for_actions=False,
            denied=("CoreShowChannels",),  # ctiro's write = agent only, as in 20
        ) as peer,
    ):
        status, body = await eventually(lambda: _denied(http, server), what="503 named")
        assert status == 503
        assert "permission denied for CoreShowChannels (needs reporting)" in body["reasons"][0]
        assert "permission denied for CoreShowChannels (needs reporting)" in caplog.text
        assert "'ctiro'" in caplog.text
        # A person must grant the class: retried every 10 s, not in a loop.
        assert len(peer.actions("Login")) == 1


async def _refused(http: aiohttp.ClientSession, server: TestServer) -> Any:
    status, body = await _health(http, server)
    return (status, body) if "connection refused" in " ".join(body["reasons"]) else None


async def _denied(http: aiohttp.ClientSession, server: TestServer) -> Any:
    status, body = await _health(http, server)
    return (status, body) if "permission denied" in " ".join(body["reasons"]) else None


async def _ok(http: aiohttp.ClientSession, server: TestServer) -> bool:
    status, _ = await _health(http, server)
    return status == 200


async def _next_of(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = await ws.receive_json(timeout=5)
        if message["type"] == kind:
            return message


class _NoWrapups:
    async def save_wrapup(self, call_id: str, agent: str, outcome: str, note: str) -> None:
        raise LookupError(call_id)


async def test_health_names_redis_when_it_is_gone(aiohttp_client: Any) -> None:
    bus = RedisBus.from_url(f"redis://127.0.0.1:{_free_port()}/0")
    services = WebServices(
        accounts=MemoryAgentAccounts(), bus=bus, wrapups=_NoWrapups(), seats=SeatDirectory()
    )
    client = await aiohttp_client(create_app(Settings(), services))
    try:
        resp = await client.get("/health")
        body = await resp.json()
        assert resp.status == 503
        assert body["reasons"] == ["redis: unreachable (ConnectionError)"]
    finally:
        await bus.close()


@pytest.mark.redis
async def test_health_is_ok_with_a_live_redis(aiohttp_client: Any) -> None:
    bus = RedisBus.from_url(REDIS_URL, prefix="cti-test-health:")
    services = WebServices(
        accounts=MemoryAgentAccounts(), bus=bus, wrapups=_NoWrapups(), seats=SeatDirectory()
    )
    client = await aiohttp_client(create_app(Settings(), services))
    try:
        resp = await client.get("/health")
        assert resp.status == 200
        assert (await resp.json())["reasons"] == []
    finally:
        await bus.close()
