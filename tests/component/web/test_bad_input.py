"""Bad input is a 400 `bad_request` naming the field, never a 500: a lone surrogate, JSON
nested 5,000 deep, NUL in a note or a call id. On the memory stack, and on PostgreSQL with the
real accounts, state service and call log behind the routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cti.bus import InProcessBus
from cti.db import create_engine, upgrade
from cti.settings import Settings
from cti.state import CallLog, CallTracker, StateService
from cti.web import WebServices, create_app
from seats import SeatDirectory, SqlAgentAccounts
from tests.component.web.conftest import PASSWORD, MakeStack
from tests.support.postgres import create_pg_database, drop_pg_database, pg_url
from tests.support.recordings import recording_events

JSON = {"Content-Type": "application/json"}


async def bad_request(resp: Any) -> str:
    """The named field of a 400 bad_request (fails on anything else)."""
    body = await resp.json()
    assert (resp.status, body["error"]) == (400, "bad_request"), body
    field: str = body["details"]["field"]
    return field


async def test_a_lone_surrogate_in_the_agent_id_is_a_400(make_stack: MakeStack) -> None:
    stack = await make_stack()
    body = '{"agent": "a07\\ud800", "password": "x", "seat": "seat07"}'
    resp = await stack.client.post("/api/login", data=body, headers=JSON)
    assert await bad_request(resp) == "agent"


async def test_json_nested_5000_deep_is_a_400(make_stack: MakeStack) -> None:
    stack = await make_stack()
    for body in ("[" * 5000 + "]" * 5000, '{"agent": ' + "[" * 5000 + "]" * 5000 + "}"):
        resp = await stack.client.post("/api/login", data=body, headers=JSON)
        assert await bad_request(resp) == "body"
    resp = await stack.client.post("/api/login", data='{"agent": ' + "9" * 5000 + "}")
    assert await bad_request(resp) == "body"


async def test_nul_in_a_wrapup_note_or_call_id_is_a_400(make_stack: MakeStack) -> None:
    stack = await make_stack()
    s = await stack.login("a07", "seat07")
    auth = {"Authorization": f"Bearer {s['token']}"}
    stack.wrapups.completed["c1"] = "a07"
    resp = await stack.client.post(
        "/api/calls/c1/wrapup", json={"outcome": "resolved", "note": "a\x00b"}, headers=auth
    )
    assert await bad_request(resp) == "note"
    resp = await stack.client.post(
        "/api/calls/c1%00/wrapup", json={"outcome": "resolved", "note": ""}, headers=auth
    )
    assert await bad_request(resp) == "call_id"
    resp = await stack.client.post(
        "/api/calls/c1/wrapup", json={"outcome": "resolved", "note": "\ud800"}, headers=auth
    )
    assert await bad_request(resp) == "note"
    assert stack.wrapups.saved == []


@pytest.fixture
async def pg_stack(aiohttp_client: Any) -> AsyncIterator[tuple[TestClient[Any, Any], StateService]]:
    """The routes over PostgreSQL: SQL accounts, the state service and its call log."""
    name = await create_pg_database("web_bad_input")
    engine = create_engine(pg_url(name))
    await upgrade(engine)
    await SqlAgentAccounts(engine).add("a07", "李娜", "zh,en", PASSWORD, "seat07")
    seats = SeatDirectory()
    bus = InProcessBus()
    state = StateService(CallTracker(seats), bus, None, CallLog(engine))
    writer = asyncio.create_task(state.run())
    services = WebServices(accounts=SqlAgentAccounts(engine), bus=bus, wrapups=state, seats=seats)
    client = await aiohttp_client(create_app(Settings(), services))
    try:
        yield client, state
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await engine.dispose()
        await drop_pg_database(name)


@pytest.mark.postgres
async def test_bad_input_on_postgresql_is_a_400_and_the_good_wrapup_is_saved(
    pg_stack: tuple[TestClient[Any, Any], StateService], traces_dir: Path
) -> None:
    client, state = pg_stack
    body = '{"agent": "\\ud800", "password": "x", "seat": "seat07"}'
    assert await bad_request(await client.post("/api/login", data=body, headers=JSON)) == "agent"
    resp = await client.post(
        "/api/login", json={"agent": "a07", "password": PASSWORD, "seat": "seat07"}
    )
    assert resp.status == 200, await resp.text()
    auth = {"Authorization": f"Bearer {(await resp.json())['token']}"}
    for event in recording_events(traces_dir / "03-call-answered.ami"):
        await state.on_event(event)
    url = "/api/calls/1795361778.1/wrapup"
    resp = await client.post(url, json={"outcome": "resolved", "note": "a\x00b"}, headers=auth)
    assert await bad_request(resp) == "note"
    resp = await client.post(
        "/api/calls/1795361778.1%00/wrapup", json={"outcome": "resolved"}, headers=auth
    )
    assert await bad_request(resp) == "call_id"
    resp = await client.post(url, json={"outcome": "resolved", "note": "已处理"}, headers=auth)
    assert resp.status == 200, await resp.text()
