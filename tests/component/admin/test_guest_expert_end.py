"""A guest expert's end date: the last day on the line, in China time. After it the password
still matches but the login is refused (403 account_ended, no seat taken), and a guest
expert still seated leaves every queue at the midnight that ends the day (or at start, when
the server was down then), through the duty service: a seat on a call leaves after it."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cti.admin import AdminService, MemoryVersionStore, run_shift_changes
from cti.bus import InProcessBus
from cti.cluster import ClusterDuty, LocalLease
from cti.db import create_engine, upgrade
from cti.settings import Settings
from cti.sim import CallerSpec
from cti.web import WebServices, create_app
from queues.membership.models import SeatDuty, Wanted
from seats import AccountError, MemoryAgentAccounts, SeatDirectory, SqlAgentAccounts, parse_skills
from seats.accounts import new_profile
from seats.shifts import CHINA
from tests.component.admin.test_shift_change import FakeClock
from tests.component.queues.test_duty_over_sim import _when, rig
from tests.component.web.conftest import RecordedWrapups
from tests.support.duty import FakeDuty
from tests.support.waiting import eventually

PASSWORD = "correct horse 7"
LAST_DAY = date(2026, 3, 31)
ZH = (Wanted("q-zh", 0),)


def _accounts(last_day: date = LAST_DAY) -> MemoryAgentAccounts:
    accounts = MemoryAgentAccounts()
    accounts.add("law1", "王律师", "zh", PASSWORD, "seat40", "guest_expert", last_day)
    accounts.add("a07", "李娜", "zh", PASSWORD, "seat07")
    return accounts


def test_the_last_day_ends_at_midnight_china_time() -> None:
    profile = new_profile("law1", "王律师", "zh", None, "guest_expert", LAST_DAY)
    assert not profile.ended(datetime(2026, 3, 31, 23, 59, 59, tzinfo=CHINA))
    # 00:00 on 1 April in China is 16:00 UTC on 31 March.
    assert profile.ended(datetime(2026, 3, 31, 16, 0, tzinfo=UTC))
    assert not new_profile("a07", "李娜", "zh").ended(datetime(2099, 1, 1, tzinfo=UTC))


def test_only_a_guest_expert_has_an_end_date() -> None:
    with pytest.raises(AccountError, match="guest_expert"):
        new_profile("a07", "李娜", "zh", None, "agent", LAST_DAY)


async def test_the_end_date_is_kept_in_the_agent_table(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}")
    try:
        await upgrade(engine, "head")
        accounts = SqlAgentAccounts(engine)
        await accounts.add("law1", "王律师", "zh", PASSWORD, "seat40", "guest_expert", LAST_DAY)
        profile = await accounts.authenticate("law1", PASSWORD)
        assert profile is not None and profile.ends_on == LAST_DAY
        await accounts.add("law1", "王律师", "zh", PASSWORD, "seat40", "guest_expert")
        again = await accounts.get("law1")
        assert again is not None and again.ends_on is None
    finally:
        await engine.dispose()


async def test_a_guest_expert_past_the_end_date_cannot_log_in(aiohttp_client: Any) -> None:
    today = datetime.now(UTC).astimezone(CHINA).date()
    accounts = _accounts(today - timedelta(days=1))
    accounts.add("law2", "李律师", "zh", PASSWORD, "seat41", "guest_expert", today)
    seats = SeatDirectory()
    services = WebServices(
        accounts=accounts, bus=InProcessBus(), wrapups=RecordedWrapups(), seats=seats
    )
    client = await aiohttp_client(create_app(Settings(), services))

    resp = await client.post("/api/login", json={"agent": "law1", "password": PASSWORD})
    assert resp.status == 403
    body = await resp.json()
    assert body["error"] == "account_ended"
    assert body["details"] == {"ends_on": str(today - timedelta(days=1))}
    assert seats.agent_at("seat40") is None
    # A wrong password is still 401: the end date is told only to whoever knows it.
    resp = await client.post("/api/login", json={"agent": "law1", "password": "nope"})
    assert resp.status == 401
    # Their last day is today: they work it to the end.
    resp = await client.post("/api/login", json={"agent": "law2", "password": PASSWORD})
    assert resp.status == 200, await resp.text()


async def _service(accounts: MemoryAgentAccounts, duty: Any, clock: Any) -> AdminService:
    service = AdminService(Settings(), accounts, duty=duty, clock=clock, store=MemoryVersionStore())
    await service.load()
    return service


async def test_at_midnight_after_the_last_day_the_guest_expert_leaves_every_queue() -> None:
    start = datetime(2026, 3, 31, 23, 58, tzinfo=CHINA)
    clock = FakeClock(start, stop_after=start + timedelta(minutes=5))
    duty = FakeDuty({a: SeatDuty(s, a, ZH) for a, s in (("law1", "seat40"), ("a07", "seat07"))})
    service = await _service(_accounts(), duty, clock)
    with pytest.raises(asyncio.CancelledError):
        await run_shift_changes(service, clock=clock, sleep=clock.sleep, max_sleep_s=60)
    assert duty.requeued == [("law1", ())]
    assert duty.seats["a07"].queues == ZH
    # Past the end, no change-set gives the queues back.
    profile = await _accounts().get("law1")
    assert profile is not None
    _, plan = await service.apply(0, service.current.config, "boss", "same again")
    assert plan.requeues == [] and duty.seats["law1"].queues == ()


async def test_a_node_that_does_not_act_leaves_the_midnight_to_the_acting_one() -> None:
    start = datetime(2026, 3, 31, 23, 58, tzinfo=CHINA)
    clock = FakeClock(start, stop_after=start + timedelta(minutes=5))
    duty = FakeDuty({"law1": SeatDuty("seat40", "law1", ZH)})
    service = await _service(_accounts(), duty, clock)
    with pytest.raises(asyncio.CancelledError):
        await run_shift_changes(service, clock=clock, sleep=clock.sleep, acting=lambda: False)
    assert duty.requeued == []


async def test_a_server_started_after_the_end_date_takes_the_seat_out_at_once() -> None:
    start = datetime(2026, 4, 2, 9, 0, tzinfo=CHINA)
    clock = FakeClock(start, stop_after=start)
    duty = FakeDuty({"law1": SeatDuty("seat40", "law1", ZH)})  # seated before a restart
    service = await _service(_accounts(), duty, clock)
    with pytest.raises(asyncio.CancelledError):
        await run_shift_changes(service, clock=clock, sleep=clock.sleep)
    assert duty.requeued == [("law1", ())]


async def test_the_end_reaches_the_simulator_after_the_call_in_progress() -> None:
    async with rig() as r:
        r.duty.login("law1", "seat40", parse_skills("zh"))
        await eventually(lambda: _when(r.members(), lambda m: ("q-zh", "seat40") in m))
        await r.sim.place_call(CallerSpec("q-zh", "05356683318", "张先生", talk=5.0))
        await eventually(lambda: r.agent_events("AgentConnect", "seat40"), what="law1 answers")

        base = datetime(2026, 4, 1, 0, 0, 1, tzinfo=CHINA)  # the last day is over

        def clock() -> datetime:
            return base

        service = await _service(_accounts(), ClusterDuty(r.duty, LocalLease()), clock)
        runner = asyncio.create_task(run_shift_changes(service, clock=clock))
        try:
            await eventually(lambda: r.sent.last("law1", "duty")["queues"] == [])
            assert ("q-zh", "seat40") in await r.members()  # still on the call
            assert not r.agent_events("AgentComplete", "seat40")
            await eventually(
                lambda: _when(r.members(), lambda m: ("q-zh", "seat40") not in m),
                what="law1 out of q-zh after the call",
            )
            complete = r.events.index(r.agent_events("AgentComplete", "seat40")[0])
            removed = [
                i
                for i, e in enumerate(r.events)
                if e.name == "QueueMemberRemoved" and e.get("MemberName") == "seat40"
            ]
            assert removed and removed[0] > complete
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
