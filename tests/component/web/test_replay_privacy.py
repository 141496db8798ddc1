"""Agents see a resident only during their own call and its wrap-up: a replay (reconnect,
or a crafted `last_seq=0`) sends the pops of calls that are over without their residents."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType
from sqlalchemy.ext.asyncio import async_sessionmaker

from cti.bus import InProcessBus
from cti.db import create_engine, upgrade
from cti.settings import Settings
from cti.state import CallLogEntry
from cti.web import WebServices, create_app
from cti.web.keys import ENGINE
from seats import MemoryAgentAccounts, SeatDirectory
from tests.component.web.conftest import PASSWORD, MakeStack, RecordedWrapups, pop

RESIDENT = {"id": "LS0001", "name": "张建国", "address": "莱山区滨海中路17号3单元402室"}


def _pop(call_id: str) -> dict[str, Any]:
    return {**pop(call_id), "residents": [RESIDENT]}


async def _messages(ws: ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while len(got) < count:
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type == WSMsgType.TEXT, msg
        data = json.loads(msg.data)
        if data.get("type") in ("pop", "retract", "completed"):
            got.append(data)
    return got


async def test_a_replayed_pop_of_a_ring_that_moved_on_has_no_residents(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack()
    token = (await stack.login("a07", "seat07"))["token"]
    await stack.bus.publish("a07", _pop("gone"))
    await stack.bus.publish("a07", {"type": "retract", "call_id": "gone", "reason": "no_answer"})
    await stack.bus.publish("a07", _pop("again"))  # rang, moved on, rings here again: open
    await stack.bus.publish("a07", {"type": "retract", "call_id": "again", "reason": "no_answer"})
    await stack.bus.publish("a07", _pop("again"))
    await stack.bus.publish("a07", _pop("ringing"))
    ws = await stack.client.ws_connect(f"/ws/agent?token={token}&last_seq=0")
    got = await _messages(ws, 6)
    pops = [(m["call_id"], m["residents"]) for m in got if m["type"] == "pop"]
    assert pops == [
        ("gone", []),
        ("again", [RESIDENT]),
        ("again", [RESIDENT]),
        ("ringing", [RESIDENT]),
    ]
    assert got[0]["residents_withheld"] is True
    await stack.bus.publish("a07", _pop("live"))
    (live,) = await _messages(ws, 1)
    assert live["residents"] == [RESIDENT]


async def test_a_replayed_pop_of_a_wrapped_up_call_has_no_residents(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}")
    await upgrade(engine)
    now = datetime.now(UTC)
    async with async_sessionmaker(engine).begin() as session:
        for call_id, wrapped in (("done", now), ("pending", None)):
            session.add(
                CallLogEntry(
                    call_id=call_id,
                    queue="q-zh",
                    agent="a07",
                    seat="seat07",
                    joined_at=now - timedelta(minutes=3),
                    ended_at=now - timedelta(minutes=1),
                    waited_s=3.0,
                    outcome="answered",
                    wrapup_outcome="resolved" if wrapped else None,
                    wrapup_at=wrapped,
                )
            )
    accounts = MemoryAgentAccounts()
    accounts.add("a07", "李娜", "zh", PASSWORD)
    bus = InProcessBus()
    app = create_app(Settings(), WebServices(accounts, bus, RecordedWrapups(), SeatDirectory()))
    app[ENGINE] = engine
    client = await aiohttp_client(app)
    try:
        resp = await client.post(
            "/api/login", json={"agent": "a07", "password": PASSWORD, "seat": "seat07"}
        )
        token = (await resp.json())["token"]
        for call_id in ("done", "pending"):
            await bus.publish("a07", _pop(call_id))
            await bus.publish("a07", {"type": "completed", "call_id": call_id, "talk_s": 60})
        ws = await client.ws_connect(f"/ws/agent?token={token}&last_seq=0")
        got = await _messages(ws, 4)
        residents = {m["call_id"]: m["residents"] for m in got if m["type"] == "pop"}
        # the wrap-up still owed keeps its resident (the form names who called)
        assert residents == {"done": [], "pending": [RESIDENT]}
    finally:
        await engine.dispose()
