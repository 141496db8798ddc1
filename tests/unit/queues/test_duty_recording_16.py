"""16-member-ops-during-call.ami, event by event, through the duty service (sans-IO use).

What Asterisk reported while a CTI server did an agent's day, against what ours would send at
each point: nothing while Asterisk matches the seats' duties, and exactly the repair when
something else changed a member (a removal or an unpause from outside, a penalty).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cti.ami import Event, Header
from queues import MemberInterfaces, MembershipService, MemoryDutyStore
from seats import parse_skills
from tests.support.recordings import recording_events


class Silent:
    """An AMI sender that is connected and never called here (no reconciler loop runs)."""

    connected = True

    async def send(self, name: str, fields: Iterable[Header] = ()) -> object:
        raise AssertionError(f"unexpected {name}")


class Nowhere:
    async def publish(self, agent_id: str, message: dict[str, Any]) -> int:
        return 0


def pending(service: MembershipService) -> list[tuple[str, str, str, dict[str, str]]]:
    return [
        (a.name, a.queue, a.seat, {k: v for k, v in a.fields if k in ("Paused", "Reason")})
        for a in service.reconciler.pending()
    ]


def live_events(traces_dir: Path) -> list[Event]:
    path = traces_dir / "16-member-ops-during-call.ami"
    return [e for e in recording_events(path) if e.action_id is None]


async def test_the_duty_service_follows_16_and_repairs_only_what_was_changed_from_outside(
    traces_dir: Path,
) -> None:
    service = MembershipService(
        Silent(),
        Nowhere(),
        MemoryDutyStore(),
        interfaces=MemberInterfaces("Local/{seat}@agents/n"),
    )
    service.login("a07", "seat07", parse_skills("zh,en"))
    service.login("a08", "seat08", parse_skills("zh"))
    service.pause("a08", "break")
    events = iter(live_events(traces_dir))

    def until(name: str, *, member: str | None = None, queue: str | None = None) -> Event:
        for event in events:
            service.on_event(event)
            named = event.name == name and member in (None, event.get("MemberName"))
            if named and queue in (None, event.get("Queue")):
                return event
        raise AssertionError(f"{name} not in 16")

    until("QueueMemberAdded", member="seat08")
    # The recording's adds are what our duties want: penalties 0/1, seat08 paused for break.
    assert pending(service) == []

    until("AgentConnect", member="seat07")
    duty = service.duty_of("a07")
    assert duty is not None and duty.status == "on_call"
    acw = {"Paused": "true", "Reason": "after-call-work"}
    assert pending(service) == [
        ("QueuePause", "q-zh", "seat07", acw),
        ("QueuePause", "q-en", "seat07", acw),
    ]

    until("QueueMemberPause", member="seat07", queue="q-en")
    assert pending(service) == []  # Asterisk now holds the seat out with after-call-work

    until("QueueMemberRemoved", member="seat07")  # removed from q-en from outside
    assert pending(service) == [("QueueAdd", "q-en", "seat07", acw)]

    until("QueueMemberPenalty", member="seat08")  # penalty 2 set from outside
    assert [(n, q, s) for n, q, s, _ in pending(service)] == [
        ("QueueAdd", "q-en", "seat07"),
        ("QueuePenalty", "q-zh", "seat08"),
    ]

    until("AgentComplete", member="seat07")
    duty = service.duty_of("a07")
    assert duty is not None and duty.status == "after_call_work"
    assert duty.acw_call_id == "1796046468.5"

    until("QueueMemberPause", member="seat07", queue="q-zh")  # unpaused from outside
    assert ("QueuePause", "q-zh", "seat07", acw) in pending(service)

    for event in events:
        service.on_event(event)
    # Everything was removed at the end of 16: both seats go back as their duties say.
    assert pending(service) == [
        ("QueueAdd", "q-zh", "seat07", acw),
        ("QueueAdd", "q-en", "seat07", acw),
        ("QueueAdd", "q-zh", "seat08", {"Paused": "true", "Reason": "break"}),
    ]


async def test_call_after_call_each_ends_in_after_call_work_then_ready(traces_dir: Path) -> None:
    # Found on real Asterisk (tests/asterisk): the ended call's id stayed on the duty, so
    # the seat's second call never ended and the seat stayed paused. 16's call, three times.
    service = MembershipService(
        Silent(),
        Nowhere(),
        MemoryDutyStore(),
        interfaces=MemberInterfaces("Local/{seat}@agents/n"),
    )
    service.login("a07", "seat07", parse_skills("zh,en"))
    call = [e for e in live_events(traces_dir) if e.name in ("AgentConnect", "AgentComplete")]
    for _ in range(3):
        for event in call:
            service.on_event(event)
        duty = service.duty_of("a07")
        assert duty is not None
        assert (duty.status, duty.calls) == ("after_call_work", ())
        service.wrapup_saved("a07", "1796046468.5")
        duty = service.duty_of("a07")
        assert duty is not None and duty.status == "ready"
