"""A call that began ringing or was answered during an AMI outage reaches its agent at resync.

Recording 21 (tests/recordings/, real Asterisk 22.10.1): 李桂兰 waits in q-zh while seat05
rings (never answers), John Smith talks to seat07 in q-en; then QueueStatus and
CoreShowChannels (the resync snapshot), then 李桂兰 hangs up while still ringing and John
Smith's call ends (AgentComplete Reason agent, TalkTime 10).
"""

from __future__ import annotations

from pathlib import Path

from cti.ami import Event
from cti.state import CallFinished, CallTracker, Outgoing, PopDue, ToAgent
from cti.state.outgoing import RingResult
from tests.support.recordings import list_events, recording_events

REC21 = Path(__file__).parents[2] / "recordings" / "21-resync-ringing-and-talking.ami"
RINGING, TALKING = "1796049097.1", "1796049098.3"
SNAPSHOT_AT = 1796049101.0


class Seats:
    def agent_at(self, seat: str) -> str | None:
        return f"agent-{seat}"


def snapshot() -> tuple[list[Event], list[Event]]:
    return list_events(REC21, "QueueStatus"), list_events(REC21, "CoreShowChannels")


def after_snapshot() -> list[Event]:
    events = recording_events(REC21)
    done = next(i for i, e in enumerate(events) if e.name == "CoreShowChannelsComplete")
    return events[done + 1 :]


def before_snapshot() -> list[Event]:
    events = recording_events(REC21)
    start = next(i for i, e in enumerate(events) if e.action_id == "resync-qs")
    return events[:start]


def feed(out: list[Outgoing]) -> list[tuple[str, str, str]]:
    rows = []
    for o in out:
        if isinstance(o, PopDue):
            rows.append((o.agent_id, "pop", o.call_id))
        elif isinstance(o, ToAgent) and o.message["type"] not in ("state", "resynced"):
            rows.append((o.agent_id, o.message["type"], o.message["call_id"]))
    return rows


def test_ringing_and_talking_calls_found_at_resync_reach_their_agents() -> None:
    tracker = CallTracker(Seats())
    out = tracker.resync(*snapshot(), SNAPSHOT_AT)
    assert feed(out) == [
        ("agent-seat05", "pop", RINGING),
        ("agent-seat07", "pop", TALKING),
        ("agent-seat07", "answered", TALKING),
    ]
    pops = {o.call_id: o for o in out if isinstance(o, PopDue)}
    assert (pops[RINGING].caller_number, pops[RINGING].caller_name) == ("13905351234", "李桂兰")
    assert (pops[RINGING].queue, pops[RINGING].seat) == ("q-zh", "seat05")
    assert (pops[TALKING].caller_number, pops[TALKING].queue) == ("+15551234567", "q-en")

    out = []
    for event in after_snapshot():
        out += tracker.handle(event, SNAPSHOT_AT + 5)
    assert feed(out) == [
        ("agent-seat05", "retract", RINGING),
        ("agent-seat07", "completed", TALKING),
    ]
    retract = next(o for o in out if isinstance(o, ToAgent) and o.message["type"] == "retract")
    assert retract.message["reason"] == "abandoned"
    logs = {o.record.call_id: o.record for o in out if isinstance(o, CallFinished)}
    assert logs[RINGING].outcome == "abandoned"
    assert logs[RINGING].rings == (RingResult("seat05", "agent-seat05", "abandoned"),)
    assert (logs[TALKING].outcome, logs[TALKING].agent_id) == ("answered", "agent-seat07")
    assert (logs[TALKING].talked_s, logs[TALKING].hung_up_by) == (10.0, "agent")
    assert tracker.calls == {}


def test_a_resync_without_an_outage_pops_nobody_twice() -> None:
    tracker = CallTracker(Seats())
    live: list[Outgoing] = []
    for event in before_snapshot():
        live += tracker.handle(event, SNAPSHOT_AT - 1)
    assert [row[:2] for row in feed(live)] == [
        ("agent-seat05", "pop"),
        ("agent-seat07", "pop"),
        ("agent-seat07", "answered"),
    ]
    assert feed(tracker.resync(*snapshot(), SNAPSHOT_AT)) == []
