"""The shift change: at each boundary the on-duty agents' queues are applied through the duty
service. A fake clock walks the boundaries; the simulator shows the member actions reach the
PBX and that a seat on a call leaves its queues only after the call."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from cti.admin import AdminService, MemoryVersionStore, run_shift_changes
from cti.admin.models import VersionSummary
from cti.cluster import ClusterDuty, LocalLease
from cti.conf.model import HotlineConfig
from cti.settings import Settings
from cti.sim import CallerSpec
from queues.membership.models import SeatDuty, Wanted
from seats import MemoryAgentAccounts, parse_skills
from seats.shifts import CHINA, ShiftGroup, ShiftPlan
from tests.component.queues.test_duty_over_sim import _when, rig
from tests.support.duty import FakeDuty
from tests.support.waiting import eventually

PASSWORD = "correct horse 7"
# 2026-01-05 is the rotation start: group A (offset 0) works the day (08:00–20:00), group D
# (offset 3) is on the night that began on the 4th at 20:00 and ends at 08:00.
START = datetime(2026, 1, 5, 7, 59, tzinfo=CHINA)
ZH_EN = (Wanted("q-zh", 0), Wanted("q-en", 1))


def _plan(day: Iterable[str], night: Iterable[str]) -> HotlineConfig:
    groups = [ShiftGroup(name=n, offset=i) for i, n in enumerate("ABCDE")]
    groups[0] = replace_members(groups[0], day)
    groups[3] = replace_members(groups[3], night)
    return HotlineConfig(shifts=ShiftPlan(rotation_start=date(2026, 1, 5), groups=tuple(groups)))


def replace_members(group: ShiftGroup, members: Iterable[str]) -> ShiftGroup:
    return group.model_copy(update={"members": tuple(members)})


@dataclass
class FakeClock:
    now: datetime
    slept: list[float] = field(default_factory=list)
    stop_after: datetime = START + timedelta(days=1)

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)
        if self.now > self.stop_after:
            raise asyncio.CancelledError


def _accounts() -> MemoryAgentAccounts:
    accounts = MemoryAgentAccounts()
    for agent, seat in (("a07", "seat07"), ("a09", "seat09"), ("a11", "seat11")):
        accounts.add(agent, agent, "zh,en", PASSWORD, home_seat=seat)
    return accounts


async def _service(config: HotlineConfig, duty: Any, clock: Any) -> AdminService:
    """The admin service with `config` in force, as an administrator applied it (version 1)."""
    store = MemoryVersionStore()
    summary = VersionSummary(
        version=1, author="boss", at=START, comment="groups", asterisk_applied=True
    )
    store.rows.append((config, summary))
    service = AdminService(Settings(), _accounts(), duty=duty, clock=clock, store=store)
    await service.load()
    return service


def _seated() -> FakeDuty:
    return FakeDuty({a: SeatDuty(f"seat{a[1:]}", a, ZH_EN) for a in ("a07", "a09", "a11")})


async def test_at_each_boundary_the_working_groups_get_queues_and_the_others_none() -> None:
    clock = FakeClock(START, stop_after=START + timedelta(hours=12, minutes=30))
    duty = _seated()
    service = await _service(_plan(day=["a07"], night=["a09"]), duty, clock)
    with pytest.raises(asyncio.CancelledError):
        await run_shift_changes(service, clock=clock, sleep=clock.sleep, max_sleep_s=60)
    # 07:59, the start: nothing is applied (the agents logged in then are working). 08:00:
    # A starts (a07 keeps the queues it has), D's night ends (a09 emptied). 20:00: A ends
    # (a07 emptied), and D (off night on the 5th) does not work. a11 is in no group: never
    # touched.
    assert duty.requeued == [("a09", ()), ("a07", ())]
    assert "a11" not in {agent for agent, _ in duty.requeued}
    assert max(clock.slept) <= 60


async def test_unconfigured_groups_leave_every_agent_in_their_queues() -> None:
    clock = FakeClock(START, stop_after=START + timedelta(days=2))
    duty = _seated()
    service = await _service(HotlineConfig(), duty, clock)  # groups A–E, L with no members
    with pytest.raises(asyncio.CancelledError):
        await run_shift_changes(service, clock=clock, sleep=clock.sleep)
    assert duty.requeued == []
    assert all(d.queues == ZH_EN for d in duty.seats.values())


async def test_a_login_off_shift_takes_calls_and_an_administrators_change_is_applied() -> None:
    clock = FakeClock(START)
    duty = _seated()
    service = await _service(_plan(day=["a07"], night=[]), duty, clock)
    profile = await _accounts().get("a07")
    assert profile is not None
    # 07:59, group A starts at 08:00: a07 logs in to cover and takes calls at once.
    await service.on_login(profile)
    assert duty.seats["a07"].queues == ZH_EN
    # An administrator's change applies the groups: a day start at 09:00 puts a07 off.
    config = service.current.config
    later = config.model_copy(
        update={
            "shifts": config.shifts.model_copy(update={"day_start": START.time().replace(hour=9)})
        }
    )
    _, plan = await service.apply(1, later, "boss")
    assert [(r.agent, r.after) for r in plan.requeues] == [("a07", [])]
    assert duty.seats["a07"].queues == ()
    # And a day start at 07:00 brings a07 back.
    earlier = later.model_copy(
        update={
            "shifts": later.shifts.model_copy(update={"day_start": START.time().replace(hour=7)})
        }
    )
    _, plan = await service.apply(2, earlier, "boss")
    assert [(r.agent, r.after) for r in plan.requeues] == [("a07", ["q-zh:0", "q-en:1"])]
    assert duty.seats["a07"].queues == ZH_EN


async def test_the_boundary_reaches_the_simulator_and_a_seat_on_a_call_leaves_after_it() -> None:
    async with rig() as r:
        # a09 (the night group, working until 08:00) takes a call lasting past the boundary.
        r.duty.login("a09", "seat09", parse_skills("zh"))
        await eventually(lambda: _when(r.members(), lambda m: ("q-zh", "seat09") in m))
        await r.sim.place_call(CallerSpec("q-zh", "05356683318", "张先生", talk=5.0))
        await eventually(lambda: r.agent_events("AgentConnect", "seat09"), what="a09 answers")
        r.duty.login("a07", "seat07", parse_skills("zh"))  # the day group, from 08:00
        await eventually(lambda: _when(r.members(), lambda m: ("q-zh", "seat07") in m))

        # A clock stopped one second before 08:00: the task sleeps one (real) second, then
        # applies the boundary: the day group starts, the night group stops.
        base = datetime(2026, 1, 5, 7, 59, 59, tzinfo=CHINA)

        def clock() -> datetime:
            return base

        duty = ClusterDuty(r.duty, LocalLease())
        service = await _service(_plan(["a07"], ["a09"]), duty, clock)
        runner = asyncio.create_task(run_shift_changes(service, clock=clock))
        try:
            # 08:00: a09's night is over but the call goes on: still a member; the page
            # shows no queues. a07 (logged in before its day began) was never taken out.
            await eventually(lambda: r.sent.last("a09", "duty")["queues"] == [])
            members = await r.members()
            assert not r.agent_events("QueueMemberRemoved", "seat07")
            assert ("q-zh", "seat07") in members
            assert ("q-zh", "seat09") in members
            assert r.sent.last("a09", "duty")["queues"] == []
            assert not r.agent_events("AgentComplete", "seat09")
            # The call ends: then a09 leaves the queue.
            await eventually(
                lambda: _when(r.members(), lambda m: ("q-zh", "seat09") not in m),
                what="a09 out of q-zh after the call",
            )
            complete = r.events.index(r.agent_events("AgentComplete", "seat09")[0])
            removed = [
                i
                for i, e in enumerate(r.events)
                if e.name == "QueueMemberRemoved" and e.get("MemberName") == "seat09"
            ]
            assert removed and removed[0] > complete
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner


async def test_an_agent_covering_on_their_groups_rest_day_is_not_emptied_by_others_boundaries() -> (
    None
):
    from seats.shifts import on_duty_agents

    rest_day = datetime(2026, 1, 9, 7, 59, tzinfo=CHINA)
    clock = FakeClock(rest_day, stop_after=rest_day + timedelta(hours=12, minutes=30))
    duty = _seated()  # a07 logged in: covering for someone
    service = await _service(_plan(day=["a07"], night=["a09"]), duty, clock)
    plan = service.current.config.shifts
    for moment in (
        rest_day,
        rest_day + timedelta(hours=6),
        rest_day + timedelta(hours=12, minutes=5),
    ):
        assert "a07" not in on_duty_agents(plan, moment)  # group A does not work all day
    with pytest.raises(asyncio.CancelledError):
        await run_shift_changes(service, clock=clock, sleep=clock.sleep, max_sleep_s=60)
    assert "a07" not in {agent for agent, _ in duty.requeued}  # 08:00 and 20:00 passed
    assert duty.seats["a07"].queues == ZH_EN
