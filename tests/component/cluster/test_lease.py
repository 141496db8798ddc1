"""The cluster lease on the real Redis: one holder, growing tokens, takeover, lapse."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from cti.cluster import LocalLease, RedisLease
from tests.support.redis import REDIS_URL, delete_keys

pytestmark = pytest.mark.redis

MakeLease = Callable[..., RedisLease]


@pytest.fixture
async def make_lease() -> AsyncIterator[MakeLease]:
    prefix = f"test:{uuid.uuid4().hex}:"
    made: list[RedisLease] = []

    def make(node: str, **kwargs: object) -> RedisLease:
        lease = RedisLease(aioredis.Redis.from_url(REDIS_URL), node, prefix=prefix, **kwargs)  # type: ignore[arg-type]
        made.append(lease)
        return lease

    yield make
    for lease in made:
        await lease.close()
    await delete_keys(prefix)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_one_node_holds_it_and_the_other_waits(make_lease: MakeLease) -> None:
    a, b = make_lease("node-a"), make_lease("node-b")
    seen: list[bool] = []
    a.watch(seen.append)
    await a.step()
    await b.step()
    assert (a.held, b.held) == (True, False)
    assert a.token == 1 and b.token is None
    assert b.holder == "node-a"
    assert seen == [True]
    await a.step()  # a renew keeps it
    await b.step()
    assert (a.held, b.held) == (True, False)


async def test_a_released_lease_is_taken_at_once_with_a_greater_token(
    make_lease: MakeLease,
) -> None:
    a, b = make_lease("node-a"), make_lease("node-b")
    await a.step()
    first = a.token
    seen: list[bool] = []
    a.watch(seen.append)
    await a.release()
    assert not a.held and seen == [True, False]
    await b.step()
    assert b.held and b.token is not None and first is not None and b.token > first


async def test_a_holder_that_stops_renewing_is_replaced_after_the_ttl(
    make_lease: MakeLease,
) -> None:
    a = make_lease("node-a", ttl_s=0.6, renew_s=0.1, margin_s=0.2)
    b = make_lease("node-b", ttl_s=0.6, renew_s=0.1, margin_s=0.2)
    await a.step()
    await b.step()
    assert not b.held
    # a is killed (no more renews): its key expires after the TTL and b's next try takes it.
    await asyncio.sleep(0.7)
    await b.step()
    assert b.held
    # a, cut off meanwhile, already stopped acting on its own clock; its renew fails.
    assert not a.held
    await a.step()
    assert not a.held and a.holder == "node-b"


async def test_the_holder_stops_acting_at_its_local_deadline_without_redis(
    make_lease: MakeLease,
) -> None:
    clock = FakeClock()
    a = make_lease("node-a", ttl_s=2.0, renew_s=0.5, margin_s=0.3, clock=clock)
    await a.step()
    assert a.held
    clock.now += 1.69
    assert a.held
    clock.now += 0.02  # 1.71 s after the renew was sent: past ttl - margin
    assert not a.held and a.token is None


async def test_a_renew_that_finds_another_holder_gives_up(make_lease: MakeLease) -> None:
    a, b = make_lease("node-a"), make_lease("node-b")
    await a.step()
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        # The key expired under a (a long GC pause) and b took it meanwhile.
        await client.delete(a._key)
    finally:
        await client.aclose()
    await b.step()
    seen: list[bool] = []
    a.watch(seen.append)
    await a.step()
    assert (a.held, b.held) == (False, True)
    assert seen == [True, False]


async def test_an_unreachable_redis_does_not_raise_and_nothing_is_held() -> None:
    lease = RedisLease(
        aioredis.Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2),
        "node-a",
        prefix="test:unreachable:",
    )
    await lease.step()
    assert not lease.held
    await lease.close()


async def test_the_local_lease_is_always_held() -> None:
    lease = LocalLease("solo")
    seen: list[bool] = []
    lease.watch(seen.append)
    assert lease.held and lease.token == 1 and lease.holder == "solo" and seen == [True]
