"""A real aiohttp server on the real bus (in-process, and Redis on 127.0.0.1:6379), with
in-memory agent accounts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cti.bus import Bus, InProcessBus, RedisBus
from cti.settings import Settings
from cti.web import SocketLimits, WebServices, create_app
from seats import MemoryAgentAccounts, SeatDirectory
from tests.support.redis import REDIS_URL, delete_keys

PASSWORD = "correct horse 7"


@dataclass
class RecordedWrapups:
    """Keeps what the web side saved; knows which calls each agent completed."""

    completed: dict[str, str] = field(default_factory=dict)  # call_id -> agent
    saved: list[tuple[str, str, str, str]] = field(default_factory=list)

    async def save_wrapup(self, call_id: str, agent: str, outcome: str, note: str) -> None:
        if self.completed.get(call_id) != agent:
            raise LookupError(call_id)
        self.saved.append((call_id, agent, outcome, note))


@dataclass
class Stack:
    client: TestClient[Any, Any]
    bus: Bus
    seats: SeatDirectory
    wrapups: RecordedWrapups

    async def login(self, agent: str, seat: str, password: str = PASSWORD) -> dict[str, Any]:
        resp = await self.client.post(
            "/api/login", json={"agent": agent, "password": password, "seat": seat}
        )
        assert resp.status == 200, await resp.text()
        body: dict[str, Any] = await resp.json()
        return body


MakeStack = Callable[..., Awaitable[Stack]]


@pytest.fixture(scope="session")
def accounts() -> MemoryAgentAccounts:
    store = MemoryAgentAccounts()
    store.add("a07", "李娜", "zh,en", PASSWORD)
    store.add("a21", "Kim Minji", "ko,zh", PASSWORD)
    store.add("a22", "John Smith", "en", PASSWORD)
    return store


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def bus_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
async def make_stack(
    aiohttp_client: Any, accounts: MemoryAgentAccounts, bus_kind: str
) -> AsyncIterator[MakeStack]:
    prefix = f"test-web:{uuid.uuid4().hex}:"
    buses: list[RedisBus] = []

    async def make(
        limits: SocketLimits | None = None, history: int = 500, subscriber_queue: int = 10_000
    ) -> Stack:
        bus: Bus
        if bus_kind == "redis":
            redis_bus = RedisBus.from_url(
                REDIS_URL, prefix=prefix, history=history, subscriber_queue=subscriber_queue
            )
            buses.append(redis_bus)
            bus = redis_bus
        else:
            bus = InProcessBus(history=history, subscriber_queue=subscriber_queue)
        seats = SeatDirectory()
        wrapups = RecordedWrapups()
        services = WebServices(accounts=accounts, bus=bus, wrapups=wrapups, seats=seats)
        app = create_app(Settings(), services, limits=limits)
        client = await aiohttp_client(app)
        return Stack(client, bus, seats, wrapups)

    yield make
    for redis_bus in buses:
        await redis_bus.close()
    if buses:
        await delete_keys(prefix)


def pop(call_id: str, name: str = "张先生", pad: int = 0) -> dict[str, Any]:
    """A pop message as cti.state publishes it (trimmed to the fields the tests read)."""
    return {
        "type": "pop",
        "call_id": call_id,
        "queue": "q-zh",
        "caller": {"number": "05356683318", "normalized": "+865356683318", "name": name},
        "residents": [],
        "waited_s": 1,
        "pad": "x" * pad,
    }
