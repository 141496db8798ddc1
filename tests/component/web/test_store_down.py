"""A store the request needs is down (Redis, the database): 503 `store_unavailable` with
Retry-After, never a 500 (issue 15: logins while Redis is down)."""

from __future__ import annotations

from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import OperationalError

from cti.bus import InProcessBus
from cti.settings import Settings
from cti.web import WebServices, create_app
from seats import MemoryAgentAccounts, SeatChange, SeatDirectory

PASSWORD = "pw-store-down"


class _NoWrapups:
    async def save_wrapup(self, call_id: str, agent: str, outcome: str, note: str) -> None:
        raise LookupError(call_id)


class _DownSeats(SeatDirectory):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def claim(self, agent: str, seat: str) -> SeatChange:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        RedisConnectionError("Connection refused"),
        OperationalError("INSERT", {}, Exception("the database system is shutting down")),
    ],
    ids=["redis", "database"],
)
async def test_a_login_while_a_store_is_down_is_503_with_retry_after(
    aiohttp_client: Any, error: Exception
) -> None:
    accounts = MemoryAgentAccounts()
    accounts.add("a07", "李娜", "zh", PASSWORD, home_seat="seat07")
    services = WebServices(
        accounts=accounts, bus=InProcessBus(), wrapups=_NoWrapups(), seats=_DownSeats(error)
    )
    client = await aiohttp_client(create_app(Settings(), services))
    resp = await client.post("/api/login", json={"agent": "a07", "password": PASSWORD})
    body = await resp.json()
    assert resp.status == 503
    assert body["error"] == "store_unavailable"
    assert resp.headers["Retry-After"] == "2"
    assert "shutting down" not in str(body)  # the store's own words stay in the log
