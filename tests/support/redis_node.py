"""CTI web nodes on a Redis (bus, seats, sessions, supervisor tokens, the keeper) as `cti serve`
wires them, and a page-like socket client.

The shared Redis on 6379 is never stopped and never flushed: a test that needs FLUSHALL uses
its own DB number, a test that needs a restart its own `PrivateRedis`
(`tests.support.private_redis`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient

from cti.bus import RedisBus
from cti.settings import Settings
from cti.wallboard import WallboardService
from cti.wallboard.http import SUPERVISORS, WALLBOARD
from cti.wallboard.sessions import RedisSupervisorSessions
from cti.web import WebServices, create_app
from cti.web.keys import SocketLimits
from cti.web.redis_sessions import RedisSessionStore
from cti.web.redis_shared import open_seats_and_sessions
from seats import MemoryAgentAccounts, RedisSeatDirectory
from tests.component.web.conftest import PASSWORD, RecordedWrapups


def accounts() -> MemoryAgentAccounts:
    """a07, a21, a22, a33 (agents) and s01 (a supervisor), all with PASSWORD."""
    book = MemoryAgentAccounts()
    for agent in ("a07", "a21", "a22", "a33"):
        book.add(agent, f"agent {agent}", "zh", PASSWORD)
    book.add("s01", "王组长", "zh", PASSWORD, role="supervisor")
    return book


@dataclass
class Node:
    """One CTI web node: its HTTP client and what it shares through Redis."""

    client: TestClient[Any, Any]
    bus: RedisBus
    seats: RedisSeatDirectory
    sessions: RedisSessionStore

    async def login(self, agent: str, seat: str) -> dict[str, Any]:
        """POST /api/login; the body (asserts 200)."""
        body = {"agent": agent, "password": PASSWORD, "seat": seat}
        resp = await self.client.post("/api/login", json=body)
        assert resp.status == 200, await resp.text()
        answer: dict[str, Any] = await resp.json()
        return answer

    async def supervisor_login(self, supervisor: str) -> str:
        """POST /api/supervisor/login; the token (asserts 200)."""
        body = {"agent": supervisor, "password": PASSWORD}
        resp = await self.client.post("/api/supervisor/login", json=body)
        assert resp.status == 200, await resp.text()
        token: str = (await resp.json())["token"]
        return token

    async def wallboard_status(self, token: str) -> int:
        """The status of GET /api/wallboard with a supervisor's `token` (200, 401, 503)."""
        resp = await self.client.get("/api/wallboard", headers={"Authorization": f"Bearer {token}"})
        return resp.status

    async def ticket_status(self, token: str) -> int:
        """The status of POST /api/agent/ticket with `token` (200, 401, 503)."""
        resp = await self.client.post(
            "/api/agent/ticket", headers={"Authorization": f"Bearer {token}"}
        )
        return resp.status


@asynccontextmanager
async def redis_node(
    aiohttp_client: Any, url: str, prefix: str, *, session_recheck_s: float = 30.0
) -> AsyncIterator[Node]:
    """A node as `cti serve` wires it on `url` (keys under `prefix`), with quick socket checks."""
    settings = Settings(redis_url=url, redis_prefix=prefix)
    bus = RedisBus.from_url(url, prefix=prefix)
    seats, sessions = await open_seats_and_sessions(settings, session_recheck_s=session_recheck_s)
    assert isinstance(seats, RedisSeatDirectory) and isinstance(sessions, RedisSessionStore)
    supervisors = RedisSupervisorSessions.from_url(url, prefix, keeper=sessions.keeper)
    limits = SocketLimits(session_check_s=0.2, app_heartbeat_s=0.5)
    app = create_app(
        settings, WebServices(accounts(), bus, RecordedWrapups(), seats, sessions), limits=limits
    )
    app[WALLBOARD] = WallboardService()
    app[SUPERVISORS] = supervisors
    client: TestClient[Any, Any] = await aiohttp_client(app)
    try:
        yield Node(client, bus, seats, sessions)
    finally:
        await client.close()
        await supervisors.close()
        await sessions.close()
        await seats.close()
        await bus.close()


@dataclass
class Page:
    """What the agent page does with its socket (docs/protocol.md): a ticket, `last_seq`, the
    seq rule, `seq_ahead` resets, reconnect on any close but 4001; pops are recorded."""

    node: Node
    token: str
    last_seq: int = 0
    pops: list[str] = field(default_factory=list)  # call ids of sequenced pops, as applied
    degraded_pops: list[str] = field(default_factory=list)  # pops delivered without seq
    degraded: list[bool] = field(default_factory=list)  # every `degraded` message's `on`
    closes: list[str] = field(default_factory=list)  # why each socket ended
    ended: bool = False  # closed 4001 or refused 401: the page would ask for a login
    ws: ClientWebSocketResponse | None = None
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Connect and keep connected in the background."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Close the socket and stop reconnecting."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.ws is not None:
            await self.ws.close()

    async def _open(self) -> ClientWebSocketResponse | None:
        client = self.node.client
        headers = {"Authorization": f"Bearer {self.token}"}
        resp = await client.post("/api/agent/ticket", headers=headers)
        if resp.status == 401:
            self.ended = True
            return None
        if resp.status != 200:
            return None
        ticket = (await resp.json())["ticket"]
        try:
            ws: ClientWebSocketResponse = await client.ws_connect(
                f"/ws/agent?ticket={ticket}&last_seq={self.last_seq}"
            )
        except Exception:
            return None
        return ws

    async def _run(self) -> None:
        while not self.ended:
            ws = await self._open()
            if ws is None:
                await asyncio.sleep(0.1)
                continue
            self.ws = ws
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._receive(json.loads(msg.data))
            self.closes.append(f"{ws.close_code}")
            if ws.close_code == 4001:
                self.ended = True
            await asyncio.sleep(0.05)

    def _receive(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "heartbeat":
            return
        if kind == "degraded":
            self.degraded.append(bool(msg["on"]))
            return
        if "seq" not in msg:
            if msg.get("degraded") and kind == "pop":
                self.degraded_pops.append(str(msg["call_id"]))
            return
        seq = int(msg["seq"])
        if kind == "resynced" and msg.get("reason") == "seq_ahead":
            self.last_seq = seq
            return
        if seq <= self.last_seq:
            return
        self.last_seq = seq
        if kind == "pop":
            self.pops.append(str(msg["call_id"]))
