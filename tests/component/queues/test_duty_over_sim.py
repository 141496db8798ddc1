"""The duty service driving the simulator through the real AMI client.

The simulator rings only members that are added and not paused, as Asterisk does; so these
tests prove who takes calls, not only which actions were sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from cti import stop_task
from cti.ami import AMIClient, Event, ListResult
from cti.settings import AMISettings
from cti.sim import CallerSpec, PbxConfig, SimConfig, SimThread
from queues import MemberInterfaces, MembershipService, MemoryDutyStore
from seats import parse_skills
from tests.support.waiting import eventually

FAST = PbxConfig(no_answer_ratio=0.0, answer_delay=(0.05, 0.05), retry=0.05)


@dataclass
class Published:
    """A bus stand-in: what each agent's consoles were sent."""

    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    async def publish(self, agent_id: str, message: dict[str, Any]) -> int:
        self.messages.setdefault(agent_id, []).append(message)
        return len(self.messages[agent_id])

    def last(self, agent: str, kind: str) -> dict[str, Any]:
        return [m for m in self.messages.get(agent, []) if m["type"] == kind][-1]


@dataclass
class Rig:
    sim: SimThread
    ami: AMIClient
    duty: MembershipService
    store: MemoryDutyStore
    sent: Published
    events: list[Event]

    async def members(self) -> dict[tuple[str, str], Event]:
        result = await self.ami.send("QueueStatus")
        assert isinstance(result, ListResult)
        return {(e["Queue"], e["Name"]): e for e in result.events if e.name == "QueueMember"}

    def agent_events(self, name: str, seat: str) -> list[Event]:
        return [e for e in self.events if e.name == name and e.get("MemberName") == seat]


@contextlib.asynccontextmanager
async def rig(acw_timeout_s: float = 30.0) -> AsyncIterator[Rig]:
    """The simulator, the AMI client and the duty service wired as `cti serve` wires them."""
    async with SimThread(SimConfig(pbx=FAST)) as sim:
        ami = AMIClient(AMISettings(port=sim.port, action_timeout_s=2.0))
        sent = Published()
        store = MemoryDutyStore()
        duty = MembershipService(
            ami,
            sent,
            store,
            interfaces=MemberInterfaces("Local/{seat}@agents/n"),
            acw_timeout_s=acw_timeout_s,
            retry_s=0.2,
        )
        events: list[Event] = []
        ami.subscribe(events.append)
        ami.subscribe(duty.on_event)
        ami.on_resynced(duty.on_resynced)
        ami.on_link(duty.on_link)
        runner = asyncio.create_task(duty.run())
        await ami.start()
        try:
            await ami.wait_connected(10)
            yield Rig(sim, ami, duty, store, sent, events)
        finally:
            await stop_task(runner)
            await ami.stop()


async def test_login_puts_the_seat_in_its_languages_queues_and_a_call_rings_it() -> None:
    async with rig() as r:
        r.duty.login("a07", "seat07", parse_skills("zh,en:basic"))
        members = await eventually(
            lambda: _when(r.members(), lambda m: m if len(m) == 2 else None),
            what="seat07 in q-zh and q-en",
        )
        assert members[("q-zh", "seat07")]["Penalty"] == "0"
        assert members[("q-en", "seat07")]["Penalty"] == "2"
        assert members[("q-zh", "seat07")]["Location"] == "Local/seat07@agents/n"
        await r.sim.place_call(CallerSpec("q-zh", "05356683318", "张先生", talk=0.2))
        await eventually(lambda: r.agent_events("AgentCalled", "seat07"), what="seat07 rung")


async def test_a_paused_seat_is_not_rung_until_ready() -> None:
    async with rig() as r:
        r.duty.login("a07", "seat07", parse_skills("zh"))
        r.duty.pause("a07", "meal")
        member = await eventually(
            lambda: _when(r.members(), lambda m: m.get(("q-zh", "seat07"))), what="seat07 added"
        )
        assert (member["Paused"], member["PausedReason"]) == ("1", "meal")
        await r.sim.place_call(CallerSpec("q-zh", "05356683318", "张先生", talk=0.2))
        await eventually(lambda: [e for e in r.events if e.name == "QueueCallerJoin"])
        ready_at = len(r.events)
        assert not r.agent_events("AgentCalled", "seat07")  # waiting caller, paused seat
        r.duty.ready("a07")
        await eventually(lambda: r.agent_events("AgentCalled", "seat07"), what="rung after ready")
        called = r.events.index(r.agent_events("AgentCalled", "seat07")[0])
        assert called >= ready_at
        assert r.sent.last("a07", "duty")["status"] in ("ready", "on_call", "after_call_work")


async def test_after_call_work_holds_the_seat_until_the_wrapup_is_saved() -> None:
    async with rig() as r:
        r.duty.login("a07", "seat07", parse_skills("zh"))
        await eventually(lambda: _when(r.members(), lambda m: m.get(("q-zh", "seat07"))))
        await r.sim.place_call(CallerSpec("q-zh", "05356683318", "张先生", talk=0.3))
        await eventually(lambda: r.agent_events("AgentConnect", "seat07"))
        # Answered while ready: paused with after-call-work at once, so the end of the call
        # cannot be followed by a ring before the agent has written the wrap-up.
        on_call = await eventually(lambda: _when(r.members(), lambda m: m[("q-zh", "seat07")]))
        await eventually(lambda: r.duty.duty_of("a07").status == "on_call")  # type: ignore[union-attr]
        complete = await eventually(lambda: r.agent_events("AgentComplete", "seat07"))
        acw = await eventually(
            lambda: _when(
                r.members(), lambda m: m[("q-zh", "seat07")]["PausedReason"] == "after-call-work"
            )
        )
        assert acw and on_call and complete
        duty = r.duty.duty_of("a07")
        assert duty is not None and duty.status == "after_call_work"
        # A second caller waits: the seat is not rung during after-call work.
        await r.sim.place_call(CallerSpec("q-zh", "13905351234", "李桂兰", talk=0.2))
        await eventually(lambda: len([e for e in r.events if e.name == "QueueCallerJoin"]) == 2)
        assert len(r.agent_events("AgentCalled", "seat07")) == 1
        r.duty.wrapup_saved("a07", duty.acw_call_id or "")
        await eventually(
            lambda: len(r.agent_events("AgentCalled", "seat07")) == 2, what="rung again"
        )
        message = r.sent.last("a07", "duty")
        assert message["seat"] == "seat07"
        kinds = [
            (p.status, p.pbx_reason) for p, _ in r.store.logged if p.agent == "a07"
        ]  # time per state, for reports
        assert ("on_call", "after-call-work") in kinds
        assert ("after_call_work", "after-call-work") in kinds


async def test_after_call_work_ends_by_itself_after_the_timeout() -> None:
    async with rig(acw_timeout_s=0.3) as r:
        r.duty.login("a07", "seat07", parse_skills("zh"))
        await eventually(lambda: _when(r.members(), lambda m: m.get(("q-zh", "seat07"))))
        await r.sim.place_call(CallerSpec("q-zh", "05356683318", "张先生", talk=0.1))
        await eventually(lambda: r.agent_events("AgentComplete", "seat07"))
        await eventually(lambda: r.duty.duty_of("a07").status == "ready")  # type: ignore[union-attr]
        member = await eventually(
            lambda: _when(r.members(), lambda m: m[("q-zh", "seat07")]["Paused"] == "0")
        )
        assert member


async def test_logout_during_a_call_removes_the_seat_when_the_call_ends() -> None:
    async with rig() as r:
        r.duty.login("a07", "seat07", parse_skills("zh"))
        await eventually(lambda: _when(r.members(), lambda m: m.get(("q-zh", "seat07"))))
        await r.sim.place_call(CallerSpec("q-zh", "05356683318", "张先生", talk=0.5))
        await eventually(lambda: r.agent_events("AgentConnect", "seat07"))
        r.duty.logout("a07")
        await r.duty.reconciler.settled.wait()
        assert ("q-zh", "seat07") in await r.members()  # on the call: kept
        assert not [e for e in r.events if e.name == "QueueMemberRemoved"]
        await eventually(lambda: r.agent_events("AgentComplete", "seat07"))
        await eventually(
            lambda: _when(r.members(), lambda m: ("q-zh", "seat07") not in m), what="removed after"
        )


async def test_after_a_pbx_restart_every_member_is_back_with_its_pause_within_1_s() -> None:
    async with rig() as r:
        await _restart_case(r)


async def _restart_case(r: Rig) -> None:
    for n, langs in ((1, "zh"), (2, "zh,en"), (41, "en,zh"), (47, "ko")):
        r.duty.login(f"a{n:02d}", f"seat{n:02d}", parse_skills(langs))
    r.duty.pause("a02", "training")
    want = 6
    await eventually(lambda: _when(r.members(), lambda m: m if len(m) == want else None))
    await r.duty.reconciler.settled.wait()
    await r.sim.restart()  # as `core restart now`: members gone, connection dropped
    await eventually(lambda: not r.ami.link.live, what="link down")
    await eventually(lambda: r.ami.link.live, what="link live again")
    live_at = time.monotonic()
    members = await eventually(
        lambda: _when(r.members(), lambda m: m if len(m) == want else None), within_s=2.0
    )
    back_s = time.monotonic() - live_at
    assert back_s < 1.0, f"members back {back_s:.2f} s after the resync"
    assert (members[("q-zh", "seat02")]["Paused"], members[("q-zh", "seat02")]["PausedReason"]) == (
        "1",
        "training",
    )
    assert members[("q-zh", "seat01")]["Paused"] == "0"
    # Every agent was told the telephone system was down, then live.
    pbx = [m["status"] for m in r.sent.messages["a01"] if m["type"] == "pbx"]
    assert pbx[-2:] == ["down", "live"]


async def _when(get: Any, pick: Any) -> Any:
    """What `pick` makes of the awaited value (falsy: not yet)."""
    return pick(await get)
