"""Login throttling and seats over the real app: 429 with Retry-After, seats that exist."""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any

import pytest

from cti.settings import LoginSettings, SeatsSettings, Settings
from cti.web import WebServices, create_app
from seats import MemoryAgentAccounts, SeatDirectory
from tests.component.web.conftest import PASSWORD, MakeStack, RecordedWrapups


async def _post(stack: Any, agent: str, password: str, seat: str = "seat07") -> Any:
    return await stack.client.post(
        "/api/login", json={"agent": agent, "password": password, "seat": seat}
    )


async def test_five_wrong_passwords_then_even_the_right_one_waits(make_stack: MakeStack) -> None:
    stack = await make_stack()
    for n in range(5):
        assert (await _post(stack, "a07", f"guess{n}")).status == 401
    resp = await _post(stack, "a07", PASSWORD)
    assert resp.status == 429
    body = await resp.json()
    assert body["error"] == "too_many_attempts"
    assert 290 <= int(resp.headers["Retry-After"]) <= 300
    assert body["details"]["retry_after_s"] == int(resp.headers["Retry-After"])
    assert stack.seats.agent_at("seat07") is None
    assert (await _post(stack, "a21", PASSWORD, "seat21")).status == 200  # others log in


async def test_supervisor_login_shares_the_throttle(make_stack: MakeStack) -> None:
    stack = await make_stack()
    for n in range(5):
        await _post(stack, "a22", f"guess{n}", "seat22")
    resp = await stack.client.post(
        "/api/supervisor/login", json={"agent": "a22", "password": PASSWORD}
    )
    assert resp.status == 429
    assert resp.headers["Retry-After"]


@pytest.mark.parametrize("seat", ["seat0", "seat00", "seat53", "seat99", "seat9999", "seat7"])
async def test_a_seat_that_does_not_exist_is_refused(make_stack: MakeStack, seat: str) -> None:
    stack = await make_stack()
    resp = await _post(stack, "a07", PASSWORD, seat)
    assert resp.status == 400
    body = await resp.json()
    assert body["details"]["field"] == "seat"
    assert stack.seats.agent_at(seat) is None


async def test_seat01_to_seat52_exist(make_stack: MakeStack) -> None:
    stack = await make_stack()
    assert (await _post(stack, "a07", PASSWORD, "seat01")).status == 200
    assert (await _post(stack, "a07", PASSWORD, "SEAT52")).status == 200
    assert stack.seats.agent_at("seat52") == "a07"


async def test_the_seat_count_is_a_setting(aiohttp_client: Any) -> None:
    accounts = MemoryAgentAccounts()
    accounts.add("a07", "李娜", "zh", PASSWORD)
    services = WebServices(accounts, _bus(), RecordedWrapups(), SeatDirectory())
    settings = Settings(seats=SeatsSettings(count=60), login=LoginSettings())
    client = await aiohttp_client(create_app(settings, services))
    ok = await client.post(
        "/api/login", json={"agent": "a07", "password": PASSWORD, "seat": "seat60"}
    )
    assert ok.status == 200
    no = await client.post(
        "/api/login", json={"agent": "a07", "password": PASSWORD, "seat": "seat61"}
    )
    assert no.status == 400


async def test_a_newline_in_the_agent_id_cannot_forge_a_log_line(
    make_stack: MakeStack, caplog: pytest.LogCaptureFixture
) -> None:
    stack = await make_stack()
    forged = "x\r\nINFO cti.web.login: login: agent=a07 seat=seat01"
    with caplog.at_level(logging.INFO, logger="cti.web.login"):
        assert (await _post(stack, forged, "nope")).status == 401
    rejected = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert rejected and all("\n" not in line for line in rejected)


def _bus() -> Any:
    from cti.bus import InProcessBus

    return InProcessBus()


async def test_fifty_concurrent_guesses_check_at_most_five_passwords(make_stack: MakeStack) -> None:
    stack = await make_stack()
    answers = await asyncio.gather(*(_post(stack, "a07", f"guess{n}") for n in range(50)))
    statuses = collections.Counter(a.status for a in answers)
    assert statuses[401] <= 5
    assert statuses[429] >= 45
    assert all(a.headers.get("Retry-After") for a in answers if a.status == 429)


async def test_admin_login_shares_the_throttle(make_stack: MakeStack) -> None:
    stack = await make_stack()
    for n in range(5):
        await _post(stack, "a22", f"guess{n}", "seat22")
    resp = await stack.client.post("/api/admin/login", json={"agent": "a22", "password": PASSWORD})
    assert resp.status == 429
    assert resp.headers["Retry-After"]
