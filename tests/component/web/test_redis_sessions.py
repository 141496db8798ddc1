"""RedisSessionStore on the real Redis: one shift per token, older sessions ended with a reason."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from cti.settings import Settings
from cti.web.redis_sessions import RedisSessionStore
from cti.web.redis_shared import open_seats_and_sessions
from cti.web.sessions import AgentSession, SessionStore
from seats import RedisSeatDirectory, SeatDirectory
from tests.component.web.conftest import REDIS_URL


class Clock:
    def __init__(self) -> None:
        self.now = 1_795_361_778.0

    def __call__(self) -> float:
        return self.now


Open = Callable[..., RedisSessionStore]


@pytest.fixture
async def open_store() -> AsyncIterator[Open]:
    prefix = f"test-sessions:{uuid.uuid4().hex}:"
    stores: list[RedisSessionStore] = []

    def open_(**kwargs: object) -> RedisSessionStore:
        store = RedisSessionStore.from_url(REDIS_URL, prefix, **kwargs)
        stores.append(store)
        return store

    yield open_
    for store in stores:
        await store.close()
    client = aioredis.Redis.from_url(REDIS_URL)
    keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.mark.redis
async def test_cached_token_still_expires_after_its_shift(open_store: Open) -> None:
    clock = Clock()
    store = open_store(ttl_s=60, clock=clock)
    session = await store.login("a07", "seat07")
    assert await store.validate(session.token) == session
    clock.now += 61
    assert await store.validate(session.token) is None


@pytest.mark.redis
async def test_new_login_ends_the_agents_and_the_seats_older_sessions_with_reasons(
    open_store: Open,
) -> None:
    node_a, node_b = open_store(), open_store()
    await node_a.start()
    await node_b.start()
    ended: list[tuple[str, str]] = []

    async def record(session: AgentSession, reason: str) -> None:
        ended.append((session.agent, reason))

    node_b.on_ended(record)
    first = await node_a.login("a07", "seat07")
    other = await node_a.login("a21", "seat21")
    moved = await node_b.login("a07", "seat08")  # a07 moves: their seat07 session ends
    assert ended == [("a07", "logged in elsewhere")]
    await node_b.login("a22", "seat21")  # a21 loses the seat
    assert ended[-1] == ("a21", "seat taken by a22")  # the page says who sits there now
    assert await node_b.validate(first.token) is None
    assert await node_b.validate(other.token) is None
    assert await node_a.validate(moved.token) == moved


@pytest.mark.redis
async def test_forged_or_missing_token_is_refused(open_store: Open) -> None:
    store = open_store()
    assert await store.validate(None) is None
    assert await store.validate("") is None
    assert await store.validate("forged") is None
    assert await store.logout("forged") is None


async def test_without_redis_url_seats_and_sessions_stay_in_process() -> None:
    seats, sessions = await open_seats_and_sessions(Settings(redis_url=None))
    assert type(seats) is SeatDirectory
    assert isinstance(sessions, SessionStore)
    change = await seats.claim("a07", "seat07")
    assert change.displaced_agent is None
    session = await sessions.login("a07", "seat07")
    assert await sessions.validate(session.token) == session
    assert not isinstance(seats, RedisSeatDirectory)
    await sessions.close()
    await seats.close()
