"""Issue 15, Redis faults: while Redis is down a node keeps serving the agents it holds
(degraded mode, shown on their pages); when Redis comes back, even empty, the nodes write
back what they hold so nobody logs in again, and pops published after recovery reach every
page exactly once.

A restart runs on a private redis-server; FLUSHALL on a private one too; FLUSHDB on DB 9 of
the shared Redis (FLUSHALL there would empty the DB 0 other tests use).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tests.component.web.conftest import PASSWORD, pop
from tests.support.private_redis import HAVE_REDIS_SERVER, PrivateRedis
from tests.support.redis import delete_keys
from tests.support.redis_node import Node, Page, redis_node
from tests.support.waiting import eventually

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not HAVE_REDIS_SERVER, reason="no redis-server"),
]

SHARED_DB9 = "redis://127.0.0.1:6379/9"


async def _seat_map(url: str, prefix: str) -> dict[str, str]:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        held: dict[str, str] = await client.hgetall(f"{prefix}seat:agent_at")  # type: ignore[assignment]
        return held
    finally:
        await client.aclose()


@pytest.mark.timeout(90)
async def test_redis_down_keeps_a_connected_agent_served_and_the_page_told(
    aiohttp_client: Any, private_redis: PrivateRedis
) -> None:
    async with redis_node(aiohttp_client, private_redis.url, "t:", session_recheck_s=0.1) as node:
        login = await node.login("a07", "seat07")
        token = login["token"]
        page = Page(node, token, login["last_seq"])
        page.start()
        wall = await node.supervisor_login("s01")  # a wall screen on the same node
        await node.bus.publish("a07", pop("before"))
        await eventually(lambda: page.pops == ["before"], what="the pop before")

        await asyncio.to_thread(private_redis.stop)
        await eventually(lambda: page.degraded == [True], within_s=15, what="degraded on")
        # The session is validated from the node's cache (it asks Redis every 0.1 s here).
        assert await node.ticket_status(token) == 200
        assert await node.wallboard_status(wall) == 200  # the supervisor's token too
        assert await node.wallboard_status("never-issued-" + "x" * 30) == 503
        with pytest.raises((RedisError, OSError)):
            await node.bus.publish("a07", pop("during"))
        await eventually(lambda: page.degraded_pops == ["during"], what="the degraded pop")
        resp = await node.client.post(
            "/api/login", json={"agent": "a21", "password": PASSWORD, "seat": "seat21"}
        )
        body = await resp.json()
        assert (resp.status, body["error"]) == (503, "store_unavailable")
        assert "Redis" in body["message"] and body["details"]["store"] == "redis"
        assert resp.headers["Retry-After"] == "2"
        assert page.closes == [] and not page.ended  # the socket stayed up all along

        await asyncio.to_thread(private_redis.start)  # back, and empty
        await eventually(lambda: page.degraded == [True, False], within_s=15, what="degraded off")
        await eventually(lambda: node.sessions.keeper.restores == 1, what="written back")
        assert await _seat_map(private_redis.url, "t:") == {"seat07": "a07"}
        assert await node.ticket_status(token) == 200  # no new login needed
        assert await node.ticket_status("never-issued-" + "x" * 30) == 401
        assert await node.wallboard_status(wall) == 200  # nor for the wall screen
        assert await node.wallboard_status("never-issued-" + "x" * 30) == 401
        for n in range(3):
            await node.bus.publish("a07", pop(f"after-{n}"))
        await eventually(
            lambda: page.pops == ["before", "after-0", "after-1", "after-2"],
            within_s=20,
            what="every pop after recovery, once",
        )
        assert not page.ended
        await page.stop()


class _Load:
    """Pops to every agent, from the node the agent is on and from the other one, until
    stopped; each publish is recorded in the phase it was made in."""

    def __init__(self, routes: list[tuple[Node, str]]) -> None:
        self.routes = routes
        self.phase = "before"
        self.sent: dict[str, list[str]] = {agent: [] for _, agent in routes}
        self.phase_of: dict[str, str] = {}
        self.seqs: dict[str, list[tuple[str, int]]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        for n in itertools.count():
            node, agent = self.routes[n % len(self.routes)]
            call_id = f"load-{n}"
            phase = self.phase  # taken before the publish: "after" means after recovery
            try:
                async with asyncio.timeout(2):
                    seq = await node.bus.publish(agent, pop(call_id))
            except (RedisError, OSError, TimeoutError):
                continue
            self.sent[agent].append(call_id)
            self.seqs.setdefault(agent, []).append((call_id, seq))
            self.phase_of[call_id] = phase
            await asyncio.sleep(0.01)


@pytest.fixture(params=["restart", "flushall", "flushdb-shared-db9"])
async def redis_loss(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, str, Any]]:
    """(url, prefix, lose()): lose() makes that Redis forget everything, then answer again."""
    prefix = f"t-loss-{uuid.uuid4().hex[:8]}:"
    if request.param == "flushdb-shared-db9":

        async def flushdb() -> None:
            client = aioredis.Redis.from_url(SHARED_DB9)
            try:
                await client.flushdb()
            finally:
                await client.aclose()

        yield SHARED_DB9, prefix, flushdb
        await delete_keys(prefix, SHARED_DB9)
        return
    server = PrivateRedis()
    server.start()

    async def restart() -> None:
        await asyncio.to_thread(server.stop)
        await asyncio.sleep(1.5)  # the nodes notice: degraded
        await asyncio.to_thread(server.start)

    async def flushall() -> None:
        client = aioredis.Redis.from_url(server.url)
        try:
            await client.flushall()
        finally:
            await client.aclose()

    try:
        yield server.url, prefix, restart if request.param == "restart" else flushall
    finally:
        server.stop()


@pytest.mark.timeout(120)
async def test_redis_lost_under_load_two_nodes_write_back_and_no_pop_after_recovery_is_lost(
    aiohttp_client: Any, redis_loss: tuple[str, str, Any]
) -> None:
    url, prefix, lose = redis_loss
    async with (
        redis_node(aiohttp_client, url, prefix, session_recheck_s=0.2) as node_a,
        redis_node(aiohttp_client, url, prefix, session_recheck_s=0.2) as node_b,
    ):
        a07 = await node_a.login("a07", "seat07")
        a21 = await node_b.login("a21", "seat21")
        async with redis_node(aiohttp_client, url, prefix) as gone:
            a33 = await gone.login("a33", "seat33")  # its node stops: nobody holds the token
        pages = {
            "a07": Page(node_a, a07["token"], a07["last_seq"]),
            "a21": Page(node_b, a21["token"], a21["last_seq"]),
        }
        for page in pages.values():
            page.start()
        load = _Load([(node_a, "a07"), (node_b, "a21"), (node_b, "a07"), (node_a, "a21")])
        load.start()
        try:
            await eventually(lambda: all(len(p.pops) >= 10 for p in pages.values()))
            load.phase = "gap"
            await lose()
            lost_at = time.monotonic()
            await eventually(
                lambda: node_a.sessions.keeper.restores and node_b.sessions.keeper.restores,
                within_s=20,
                what="both nodes wrote back",
            )
            await eventually(
                lambda: not (node_a.sessions.keeper.degraded or node_b.sessions.keeper.degraded)
            )
            load.phase = "after"
            recovered_s = time.monotonic() - lost_at
            await eventually(
                lambda: sum(1 for p in load.phase_of.values() if p == "after") >= 40,
                within_s=30,
                what="pops after recovery",
            )
        finally:
            await load.stop()

        def received_after() -> bool:
            return all(
                set(pages[agent].pops) >= {c for c in sent if load.phase_of[c] == "after"}
                for agent, sent in load.sent.items()
            )

        with contextlib.suppress(AssertionError):
            await eventually(received_after, within_s=30)
        missing = {
            agent: [c for c in sent if load.phase_of[c] == "after" and c not in pages[agent].pops]
            for agent, sent in load.sent.items()
        }
        assert missing == {agent: [] for agent in load.sent}, (
            {a: (p.pops[-5:], p.closes, p.last_seq) for a, p in pages.items()},
            {a: s[-3:] for a, s in load.seqs.items()},
        )
        for agent, page in pages.items():
            counts = Counter(page.pops)
            kept = [c for c in load.sent[agent] if load.phase_of[c] != "gap"]
            assert [c for c in kept if counts[c] != 1] == [], agent  # once: no loss, no dup
            assert not page.ended, agent  # nobody had to log in again
        # What the nodes held is back: seats (a33's too: every node mirrored it) and the
        # sessions they served; a token no node held is unknown.
        assert await _seat_map(url, prefix) == {"seat07": "a07", "seat21": "a21", "seat33": "a33"}
        for node in (node_a, node_b):
            assert await node.ticket_status(a07["token"]) == 200
            assert await node.ticket_status(a21["token"]) == 200
            assert await node.ticket_status(a33["token"]) == 401
        # Logins go on, and every node's mirror follows them (the map's version went on too).
        await node_a.login("a22", "seat22")
        await eventually(lambda: node_b.seats.agent_at("seat22") == "a22", what="B sees a22")
        for page in pages.values():
            await page.stop()
        gap = sum(1 for p in load.phase_of.values() if p == "gap")
        print(f"\nwritten back {recovered_s:.2f} s after Redis answered; {gap} pops in the gap")
