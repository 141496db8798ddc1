"""The state service end to end in-process: real recordings in, bus messages and call log out.

Real Locator over the archive sample (SQLite), real call log, InProcessBus and RedisBus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.bus import BROADCAST, Bus, InProcessBus, RedisBus
from cti.state import CallLog, CallNotFound, CallTracker, StateService, WrapupRejected
from locator import Locator
from seats import SeatDirectory
from tests.support.clocks import SteppingClock
from tests.support.recordings import recording_events
from tests.support.redis import REDIS_URL, delete_keys


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    if request.param == "memory":
        yield InProcessBus()
        return
    prefix = f"test:{uuid.uuid4().hex}:"
    redis_bus = RedisBus(aioredis.Redis.from_url(REDIS_URL), prefix=prefix)
    yield redis_bus
    await redis_bus.close()
    await delete_keys(prefix)


@pytest.fixture
async def service(
    bus: Bus, engine: AsyncEngine, locator: Locator
) -> AsyncIterator[tuple[StateService, SeatDirectory]]:
    seats = SeatDirectory()
    for n, seat in enumerate(["seat05", "seat07", "seat21", "seat22", "seat31"]):
        seats.login(f"agent{n:02d}", seat)
    state = StateService(CallTracker(seats), bus, locator, CallLog(engine), clock=SteppingClock())
    writer = asyncio.create_task(state.run())
    yield state, seats
    await state.flush()  # no database write may be cut off half way
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer


async def replay(state: StateService, path: Path) -> None:
    for event in recording_events(path):
        await state.on_event(event)
    await state.flush()


async def test_answered_call_pops_the_household_with_next_of_kin_then_answered_completed(
    service: tuple[StateService, SeatDirectory], bus: Bus, engine: AsyncEngine, traces_dir: Path
) -> None:
    state, seats = service
    agent = seats.agent_at("seat07")
    assert agent is not None
    await replay(state, traces_dir / "03-call-answered.ami")
    feed = [m for m in await bus.since(agent, 0) if m["type"] != "state"]
    assert [m["type"] for m in feed] == ["pop", "answered", "completed"]
    pop = feed[0]
    assert pop["call_id"] == "1795361778.1" and pop["queue"] == "q-zh"
    assert pop["caller"] == {
        "number": "05356683318",
        "normalized": "+865356683318",
        "name": "张先生",
        "kind": "domestic",
        "region": "CN",
    }
    assert [(r["id"], r["name"]) for r in pop["residents"]] == [
        ("LS0001", "张建国"),
        ("LS0002", "王桂兰"),
    ]
    first = pop["residents"][0]
    assert first["address"] == "莱山区滨海中路17号3单元402室"
    assert "empty_nest" in first["flags"]
    assert first["next_of_kin"] == [
        {"name": "张明", "relation": "儿子", "phones": ["+8613953512345"]},
        {"name": "李秀英", "relation": "女儿", "phones": ["+8613561234567"]},
    ]
    assert "health" not in repr(pop) and "高血压" not in repr(pop)
    assert feed[2]["talk_s"] == 3.0

    entry = await CallLog(engine).get("1795361778.1")
    assert entry is not None
    assert (entry.outcome, entry.agent, entry.queue, entry.language) == (
        "answered",
        agent,
        "q-zh",
        "zh",
    )
    assert entry.resident_ids == "LS0001 LS0002"
    assert entry.caller_number == "05356683318"
    assert json.loads(entry.rings) == [{"agent": agent, "seat": "seat07", "outcome": "answered"}]
    assert (entry.talked_s, entry.hung_up_by) == (3.0, "agent")
    async with engine.connect() as conn:
        viewed = (await conn.execute(text("SELECT * FROM resident_view"))).all()
    assert len(viewed) >= 1


async def test_wrapup_is_saved_for_the_answering_agent_only(
    service: tuple[StateService, SeatDirectory], engine: AsyncEngine, traces_dir: Path
) -> None:
    state, seats = service
    agent = seats.agent_at("seat07")
    assert agent is not None
    await replay(state, traces_dir / "03-call-answered.ami")
    with pytest.raises(CallNotFound):
        await state.save_wrapup("1795361778.1", "agent00", "resolved", "")
    with pytest.raises(WrapupRejected):
        await state.save_wrapup("1795361778.1", agent, "made-up", "")
    await state.save_wrapup("1795361778.1", agent, "handed_over", "供暖报修，已转热力公司")
    entry = await CallLog(engine).get("1795361778.1")
    assert entry is not None
    assert (entry.wrapup_outcome, entry.wrapup_note) == ("handed_over", "供暖报修，已转热力公司")


async def test_abandoned_call_is_logged_with_no_pop(
    service: tuple[StateService, SeatDirectory], bus: Bus, engine: AsyncEngine, traces_dir: Path
) -> None:
    state, seats = service
    await replay(state, traces_dir / "04-call-abandoned.ami")
    agent = seats.agent_at("seat31")
    assert agent is not None
    assert "pop" not in [m["type"] for m in await bus.since(agent, 0)]
    entry = await CallLog(engine).get("1795361785.5")
    assert entry is not None
    assert (entry.outcome, entry.agent, entry.language, entry.resident_ids) == (
        "abandoned",
        None,
        "ko",
        "LS0004",
    )


async def test_abandon_while_ringing_retracts_and_logs(
    service: tuple[StateService, SeatDirectory], bus: Bus, engine: AsyncEngine, traces_dir: Path
) -> None:
    state, seats = service
    await replay(state, traces_dir / "09-abandon-while-ringing.ami")
    agent = seats.agent_at("seat05")
    assert agent is not None
    feed = [m for m in await bus.since(agent, 0) if m["type"] != "state"]
    assert [(m["type"], m["call_id"]) for m in feed] == [
        ("pop", "1795420184.1"),
        ("retract", "1795420184.1"),
    ]
    assert feed[1]["reason"] == "abandoned"
    entry = await CallLog(engine).get("1795420184.1")
    assert entry is not None and entry.outcome == "abandoned"
    assert json.loads(entry.rings) == [{"agent": agent, "seat": "seat05", "outcome": "abandoned"}]
    assert entry.hung_up_by is None


async def test_ring_no_answer_pops_retracts_and_pops_again(
    service: tuple[StateService, SeatDirectory], bus: Bus, traces_dir: Path
) -> None:
    state, seats = service
    await replay(state, traces_dir / "05-ring-no-answer.ami")
    seat21, seat22 = seats.agent_at("seat21"), seats.agent_at("seat22")
    assert seat21 is not None and seat22 is not None
    feed = [m["type"] for m in await bus.since(seat21, 0) if m["type"] != "state"]
    assert feed == ["pop", "retract", "pop"]
    # seat22 (penalty 1) is never rung in this recording.
    assert "pop" not in [m["type"] for m in await bus.since(seat22, 0)]


async def test_supervisors_see_members_and_queue_counts(
    service: tuple[StateService, SeatDirectory], bus: Bus, traces_dir: Path
) -> None:
    state, _ = service
    await replay(state, traces_dir / "04-call-abandoned.ami")
    seen = await bus.since(BROADCAST, 0)
    queue_counts = [m["waiting"] for m in seen if m["type"] == "queue"]
    assert queue_counts[:1] == [1] and queue_counts[-1] == 0
    assert {m["seat"] for m in seen if m["type"] == "member"} == {"seat31"}


async def test_the_caller_is_looked_up_once_on_joining_the_queue_before_any_ring(
    service: tuple[StateService, SeatDirectory],
    bus: Bus,
    locator: Locator,
    traces_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The lookup is done when the caller joins, so the ring's pop does not wait for it; the
    # pop and the call log still carry what it found.
    state, seats = service
    looked_up_on: list[str] = []
    handling = [""]
    real_lookup = locator.lookup

    def lookup(raw: str | None) -> object:
        looked_up_on.append(handling[0])
        return real_lookup(raw)

    monkeypatch.setattr(locator, "lookup", lookup)
    for event in recording_events(traces_dir / "03-call-answered.ami"):
        handling[0] = event.name
        await state.on_event(event)
    await state.flush()
    assert looked_up_on == ["QueueCallerJoin"]
    agent = seats.agent_at("seat07")
    assert agent is not None
    pop = next(m for m in await bus.since(agent, 0) if m["type"] == "pop")
    assert [r["id"] for r in pop["residents"]] == ["LS0001", "LS0002"]
