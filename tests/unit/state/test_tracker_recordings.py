"""The state machine replaying the real Asterisk 22 recordings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cti.ami import Event
from cti.state import CallFinished, CallTracker, Outgoing, PopDue, ToAgent, ToBroadcast
from tests.support.recordings import list_events, recording_events


class Seats:
    """Every seat has its agent logged in: agent id = "agent-" + seat."""

    def __init__(self, empty: Sequence[str] = ()) -> None:
        self.empty = set(empty)

    def agent_at(self, seat: str) -> str | None:
        return None if seat in self.empty else f"agent-{seat}"


def replay(
    tracker: CallTracker, events: Sequence[Event], start: float = 1000.0, step: float = 0.01
) -> list[Outgoing]:
    out: list[Outgoing] = []
    for i, event in enumerate(events):
        out += tracker.handle(event, start + i * step)
    return out


def agent_feed(out: Sequence[Outgoing]) -> list[tuple[str, str]]:
    """(agent, message type) in order; pops included."""
    feed = []
    for item in out:
        if isinstance(item, PopDue):
            feed.append((item.agent_id, "pop"))
        elif isinstance(item, ToAgent) and item.message["type"] != "state":
            feed.append((item.agent_id, item.message["type"]))
    return feed


def finished(out: Sequence[Outgoing]) -> list[CallFinished]:
    return [o for o in out if isinstance(o, CallFinished)]


def test_answered_call_pops_at_ring_then_answered_then_completed(traces_dir: Path) -> None:
    out = replay(CallTracker(Seats()), recording_events(traces_dir / "03-call-answered.ami"))
    assert agent_feed(out) == [
        ("agent-seat07", "pop"),
        ("agent-seat07", "answered"),
        ("agent-seat07", "completed"),
    ]
    pop = next(o for o in out if isinstance(o, PopDue))
    assert (pop.call_id, pop.queue, pop.seat) == ("1795361778.1", "q-zh", "seat07")
    assert (pop.caller_number, pop.caller_name) == ("05356683318", "张先生")
    completed = next(o for o in out if isinstance(o, ToAgent) and o.message["type"] == "completed")
    assert completed.message["talk_s"] == 3.0
    [log] = finished(out)
    record = log.record
    assert (record.outcome, record.agent_id, record.seat) == ("answered", "agent-seat07", "seat07")
    assert (record.language, record.talked_s, record.waited_s) == ("zh", 3.0, 0.0)


def test_pop_happens_before_the_agent_answers(traces_dir: Path) -> None:
    tracker = CallTracker(Seats())
    for event in recording_events(traces_dir / "03-call-answered.ami"):
        out = tracker.handle(event, 0.0)
        if event.name == "AgentCalled":
            assert [type(o) for o in out] == [PopDue]
            return
    raise AssertionError("no AgentCalled in 03")


def test_ring_no_answer_retracts_the_pop_and_the_next_ring_pops_again(traces_dir: Path) -> None:
    # In the recording the queue rings seat21 again after its timeout (seat22 has penalty
    # 1 and is never rung); the caller is still waiting when the recording ends.
    tracker = CallTracker(Seats())
    out = replay(tracker, recording_events(traces_dir / "05-ring-no-answer.ami"))
    assert agent_feed(out) == [
        ("agent-seat21", "pop"),
        ("agent-seat21", "retract"),
        ("agent-seat21", "pop"),
    ]
    retract = next(o for o in out if isinstance(o, ToAgent) and o.message["type"] == "retract")
    assert retract.message == {"type": "retract", "call_id": "1795361792.7", "reason": "no_answer"}
    assert finished(out) == []
    assert list(tracker.calls) == ["1795361792.7"]


def test_abandoned_call_is_logged_and_pops_nobody(traces_dir: Path) -> None:
    out = replay(CallTracker(Seats()), recording_events(traces_dir / "04-call-abandoned.ami"))
    assert agent_feed(out) == []
    [log] = finished(out)
    assert (log.record.outcome, log.record.queue, log.record.language) == (
        "abandoned",
        "q-ko",
        "ko",
    )
    assert log.record.caller_number == "+821012345678"
    assert log.record.waited_s == 3.0
    assert log.record.agent_id is None


def test_abandon_while_ringing_retracts_the_ringing_agents_pop(traces_dir: Path) -> None:
    out = replay(
        CallTracker(Seats()), recording_events(traces_dir / "09-abandon-while-ringing.ami")
    )
    assert agent_feed(out) == [("agent-seat05", "pop"), ("agent-seat05", "retract")]
    # Asterisk's DialEnd CANCEL comes before QueueCallerAbandon: still "abandoned".
    retract = next(o for o in out if isinstance(o, ToAgent) and o.message["type"] == "retract")
    assert retract.message == {"type": "retract", "call_id": "1795420184.1", "reason": "abandoned"}
    [log] = finished(out)
    assert log.record.outcome == "abandoned"
    assert log.record.rung_agents == ("agent-seat05",)
    assert log.record.caller_name == "李桂兰"


def test_burst_pops_every_ring_once_to_the_right_seat_and_closes_every_call(
    traces_dir: Path,
) -> None:
    events = recording_events(traces_dir / "08-burst-60-calls.ami")
    tracker = CallTracker(Seats())
    out = replay(tracker, events, step=0.0005)
    called = [
        (e["Uniqueid"], f"agent-{e['MemberName']}") for e in events if e.name == "AgentCalled"
    ]
    pops = [(o.call_id, o.agent_id) for o in out if isinstance(o, PopDue)]
    assert len(called) == 60
    assert pops == called
    logs = finished(out)
    assert len(logs) == 60
    assert {log.record.outcome for log in logs} == {"answered"}
    assert all(log.record.agent_id == dict(called)[log.record.call_id] for log in logs)
    assert tracker.calls == {}


def test_pjsip_seat_gets_pop_answered_and_completed(traces_dir: Path) -> None:
    out = replay(CallTracker(Seats()), recording_events(traces_dir / "13-pjsip-seat-call.ami"))
    assert agent_feed(out) == [
        ("agent-seat07", "pop"),
        ("agent-seat07", "answered"),
        ("agent-seat07", "completed"),
    ]
    [log] = finished(out)
    assert (log.record.call_id, log.record.seat, log.record.waited_s) == (
        "1795421651.9",
        "seat07",
        2.0,
    )


def test_ring_at_an_empty_seat_pops_nobody_but_the_call_is_logged(traces_dir: Path) -> None:
    out = replay(
        CallTracker(Seats(empty=["seat07"])), recording_events(traces_dir / "03-call-answered.ami")
    )
    assert agent_feed(out) == []
    [log] = finished(out)
    assert (log.record.outcome, log.record.seat, log.record.agent_id) == (
        "answered",
        "seat07",
        None,
    )


def test_pause_reaches_the_agent_as_state(traces_dir: Path) -> None:
    out = replay(CallTracker(Seats()), recording_events(traces_dir / "10a-restart-before.ami"))
    states = [o.message for o in out if isinstance(o, ToAgent) and o.agent_id == "agent-seat01"]
    assert states[-1] == {
        "type": "state",
        "seat": "seat01",
        "queues": [
            {
                "queue": "q-zh",
                "seat": "seat01",
                "status": "not_in_use",
                "paused": True,
                "paused_reason": "meal",
            }
        ],
    }
    members = [
        o.message for o in out if isinstance(o, ToBroadcast) and o.message["type"] == "member"
    ]
    assert {(m["seat"], m["queue"]) for m in members} == {("seat01", "q-zh"), ("seat21", "q-en")}


def test_restart_resync_wipes_members_and_closes_the_waiting_call(traces_dir: Path) -> None:
    tracker = CallTracker(Seats())
    before = traces_dir / "10a-restart-before.ami"
    replay(tracker, recording_events(before))
    assert tracker.calls and tracker.members.all()
    after = traces_dir / "10b-restart-after.ami"
    out = tracker.resync(
        list_events(after, "QueueStatus"), list_events(after, "CoreShowChannels"), 2000.0
    )
    assert tracker.members.all() == []
    assert tracker.calls == {}
    [log] = finished(out)
    assert (log.record.outcome, log.record.closed_on_resync, log.record.queue) == (
        "abandoned",
        True,
        "q-ko",
    )
    to_seat01 = [o.message for o in out if isinstance(o, ToAgent) and o.agent_id == "agent-seat01"]
    assert [m["type"] for m in to_seat01] == ["state", "resynced"]
    assert to_seat01[0]["queues"] == []


def test_resync_while_a_caller_waits_rebuilds_call_and_members(traces_dir: Path) -> None:
    recording = traces_dir / "04-call-abandoned.ami"
    tracker = CallTracker(Seats())
    out = tracker.resync(
        list_events(recording, "QueueStatus"), list_events(recording, "CoreShowChannels"), 500.0
    )
    assert [(m.queue, m.seat, m.paused) for m in tracker.members.all()] == [
        ("q-ko", "seat31", True)
    ]
    call = tracker.calls["1795361785.5"]
    assert (call.queue, call.caller_number, call.joined_at) == ("q-ko", "+821012345678", 499.0)
    resynced = [o for o in out if isinstance(o, ToAgent) and o.message["type"] == "resynced"]
    assert [(o.agent_id, o.message["at"]) for o in resynced] == [
        ("agent-seat31", "1970-01-01T00:08:20+00:00")
    ]


def test_call_in_progress_that_ended_while_disconnected_is_completed_and_logged(
    traces_dir: Path,
) -> None:
    tracker = CallTracker(Seats())
    events = recording_events(traces_dir / "03-call-answered.ami")
    connect = next(i for i, e in enumerate(events) if e.name == "AgentConnect")
    replay(tracker, events[: connect + 1], start=1000.0, step=0.0)
    after = traces_dir / "10b-restart-after.ami"
    out = tracker.resync(
        list_events(after, "QueueStatus"), list_events(after, "CoreShowChannels"), 1042.0
    )
    to_agent = [o.message for o in out if isinstance(o, ToAgent) and o.agent_id == "agent-seat07"]
    assert [m["type"] for m in to_agent] == ["state", "completed", "resynced"]
    assert to_agent[1]["closed_on_resync"] is True and to_agent[1]["talk_s"] == 42.0
    [log] = finished(out)
    assert (log.record.outcome, log.record.closed_on_resync, log.record.talked_s) == (
        "answered",
        True,
        42.0,
    )


def test_sip_caller_with_unknown_name_is_logged_without_a_name(traces_dir: Path) -> None:
    out = replay(CallTracker(Seats()), recording_events(traces_dir / "14-sip-caller-ids.ami"))
    records = [log.record for log in finished(out)]
    assert [(r.caller_number, r.caller_name, r.outcome) for r in records] == [
        ("13805356789", None, "abandoned"),
        ("+8613805356789", None, "abandoned"),
    ]


def test_every_pop_is_settled_once_by_answered_or_retract_in_every_recording(
    traces_dir: Path,
) -> None:
    for path in sorted(traces_dir.glob("*.ami")):
        tracker = CallTracker(Seats())
        out = replay(tracker, recording_events(path))
        open_rings = {
            (r.agent_id, call.call_id)
            for call in tracker.calls.values()
            for r in call.rings.values()
        }
        pops: dict[tuple[str, str], int] = {}
        settled: dict[tuple[str, str], int] = {}
        for item in out:
            if isinstance(item, PopDue):
                key = (item.agent_id, item.call_id)
                pops[key] = pops.get(key, 0) + 1
            elif isinstance(item, ToAgent) and item.message["type"] in ("answered", "retract"):
                key = (item.agent_id, item.message["call_id"])
                settled[key] = settled.get(key, 0) + 1
        for key, count in pops.items():
            assert settled.get(key, 0) + (key in open_rings) == count, (path.name, key)


def test_events_handled_after_the_snapshot_survive_the_resync(traces_dir: Path) -> None:
    events = recording_events(traces_dir / "03-call-answered.ami")
    join = next(i for i, e in enumerate(events) if e.name == "QueueCallerJoin")
    after = traces_dir / "10b-restart-after.ami"
    snapshot = (list_events(after, "QueueStatus"), list_events(after, "CoreShowChannels"))

    newer = CallTracker(Seats())
    replay(newer, events[: join + 1], start=2000.0, step=0.0)
    assert finished(newer.resync(*snapshot, 1999.0)) == []
    assert list(newer.calls) == ["1795361778.1"]
    assert [m.seat for m in newer.members.all()] == ["seat07"]

    older = CallTracker(Seats())
    replay(older, events[: join + 1], start=2000.0, step=0.0)
    assert [f.record.outcome for f in finished(older.resync(*snapshot, 2001.0))] == ["abandoned"]
    assert older.calls == {} and older.members.all() == []
