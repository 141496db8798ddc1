"""The seat directory shared through the real Redis: every node's mirror agrees."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest
import redis.asyncio as aioredis

from seats import RedisSeatDirectory
from tests.support.waiting import eventually

pytestmark = pytest.mark.redis

REDIS_URL = "redis://127.0.0.1:6379/0"

OpenNode = Callable[[], Awaitable[RedisSeatDirectory]]


@pytest.fixture
async def open_node(prefix: str) -> AsyncIterator[OpenNode]:
    async with AsyncExitStack() as stack:

        async def open_() -> RedisSeatDirectory:
            seats = RedisSeatDirectory.from_url(REDIS_URL, prefix=prefix)
            await seats.start()
            stack.push_async_callback(seats.close)
            return seats

        yield open_


async def test_login_on_one_node_is_seen_by_the_other_nodes_ring_lookup(
    open_node: OpenNode,
) -> None:
    node_a, node_b = await open_node(), await open_node()
    change = await node_a.claim("a07", "seat07")
    assert (change.displaced_agent, change.previous_seat) == (None, None)
    assert node_a.agent_at("seat07") == "a07"  # at once on the node that logged in
    await eventually(lambda: node_b.agent_at("seat07") == "a07")
    assert node_b.seat_of("a07") == "seat07"


async def test_newest_login_at_a_seat_wins_across_nodes(open_node: OpenNode) -> None:
    node_a, node_b = await open_node(), await open_node()
    await node_a.claim("a07", "seat07")
    change = await node_b.claim("a22", "seat07")
    assert change.displaced_agent == "a07"
    await eventually(lambda: node_a.agent_at("seat07") == "a22")
    assert node_a.seat_of("a07") is None
    assert node_a.occupied() == node_b.occupied() == {"seat07": "a22"}


async def test_moving_seats_on_another_node_frees_the_old_seat_everywhere(
    open_node: OpenNode,
) -> None:
    node_a, node_b = await open_node(), await open_node()
    await node_a.claim("a07", "seat07")
    change = await node_b.claim("a07", "seat08")
    assert change.previous_seat == "seat07"
    await eventually(lambda: node_a.occupied() == {"seat08": "a07"})


async def test_logout_frees_the_seat_only_if_the_agent_still_holds_it(
    open_node: OpenNode,
) -> None:
    node_a, node_b = await open_node(), await open_node()
    await node_a.claim("a07", "seat07")
    await node_b.claim("a22", "seat07")
    assert not await node_a.release("a07", "seat07")  # a22 took it meanwhile
    assert await node_b.release("a22", "seat07")
    await eventually(lambda: node_a.agent_at("seat07") is None)
    assert node_b.occupied() == {}


async def test_a_node_started_later_loads_the_whole_map(open_node: OpenNode) -> None:
    node_a = await open_node()
    for n in range(1, 53):
        await node_a.claim(f"a{n:02d}", f"seat{n:02d}")
    late = await open_node()
    assert late.occupied() == node_a.occupied()
    assert len(late.occupied()) == 52
    assert late.version == node_a.version == 52


async def test_a_missed_change_makes_the_mirror_reload_from_redis(
    open_node: OpenNode, prefix: str
) -> None:
    node_a, node_b = await open_node(), await open_node()
    await node_a.claim("a07", "seat07")
    await eventually(lambda: node_b.version == 1)
    # A change whose announcement never reached node B, then the next one that did.
    client = aioredis.Redis.from_url(REDIS_URL)
    await client.hset(f"{prefix}seat:agent_at", "seat21", "a21")
    await client.hset(f"{prefix}seat:seat_of", "a21", "seat21")
    await client.incr(f"{prefix}seat:version")
    await client.aclose()
    await node_a.claim("a22", "seat22")  # version 3 reaches B, which only has 1
    await eventually(lambda: node_b.version == 3)
    assert node_b.occupied() == {"seat07": "a07", "seat21": "a21", "seat22": "a22"}


async def test_a_node_whose_redis_connection_drops_reloads_what_it_missed(prefix: str) -> None:
    name = f"seats-{uuid.uuid4().hex[:12]}"
    node_a = RedisSeatDirectory.from_url(REDIS_URL, prefix=prefix)
    node_b = RedisSeatDirectory(aioredis.Redis.from_url(REDIS_URL, client_name=name), prefix)
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        await node_a.start()
        await node_b.start()
        await node_a.claim("a07", "seat07")
        await eventually(lambda: node_b.agent_at("seat07") == "a07")
        # Cut only node B's own connections, then change the map while it is away.
        for client in await admin.client_list():
            if client.get("name") == name:
                await admin.client_kill_filter(_id=client["id"])
        await node_a.claim("a21", "seat21")
        await eventually(lambda: node_b.agent_at("seat21") == "a21")
        assert node_b.occupied() == node_a.occupied()
    finally:
        await node_a.close()
        await node_b.close()
        await admin.aclose()


async def test_a_thousand_logins_at_once_on_two_nodes_all_land(open_node: OpenNode) -> None:
    a, b = await open_node(), await open_node()
    # More at once than a pool holds connections: they wait their turn, none fails.
    await asyncio.gather(*((a, b)[n % 2].claim(f"a{n}", f"seat{n}") for n in range(1000)))
    await eventually(lambda: len(a.occupied()) == len(b.occupied()) == 1000, what="mirrors")
