"""How each ring ends, what the agent is told, and what the call log keeps (issue 9).

Real Asterisk cancels a ringing leg before it says why (09: the agent leg's DialEnd CANCEL
and Hangup come before QueueCallerAbandon), sends AgentComplete without the channel fields
when the caller's channel is already gone (15's note), and may repeat itself. Every event
here is a recorded one, reordered, repeated, with values changed or headers removed; never
a field added.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ami import AMIParser, Event, ServerBytes, load_trace
from cti.state import CallFinished, CallTracker, Outgoing, PopDue, ToAgent
from cti.state.messages import RETRACT_REASONS, RING_OUTCOMES, Retract
from cti.state.outgoing import RingResult
from cti.state.tracker import COMPLETE_WAIT_S, UNDECIDED_MAX_S
from tests.conftest import TRACES
from tests.support.recordings import recording_events

REC09 = Path(TRACES) / "09-abandon-while-ringing.ami"
CALL09 = "1795420184.1"


class Seats:
    def agent_at(self, seat: str) -> str | None:
        return f"agent-{seat}"


def changed(event: Event, **values: str) -> Event:
    """The recorded `event` with some header values replaced (no header added)."""
    assert set(values) <= {k for k, _ in event.headers}, "only recorded fields may change"
    return Event(headers=tuple((k, values.get(k, v)) for k, v in event.headers), name=event.name)


def without(event: Event, *names: str) -> Event:
    """The recorded `event` with some headers removed."""
    return Event(headers=tuple((k, v) for k, v in event.headers if k not in names), name=event.name)


def first(events: list[Event], name: str, **match: str) -> Event:
    return next(
        e for e in events if e.name == name and all(e.get(k) == v for k, v in match.items())
    )


def replay(events: list[Event], start: float = 1000.0, step: float = 0.01) -> list[Outgoing]:
    tracker = CallTracker(Seats())
    out: list[Outgoing] = []
    for i, event in enumerate(events):
        out += tracker.handle(event, start + i * step)
    return out


def to_agents(out: list[Outgoing]) -> list[tuple[str, str, str | None]]:
    """(agent, type, reason or hung_up_by) for everything but `state`."""
    feed: list[tuple[str, str, str | None]] = []
    for o in out:
        if isinstance(o, PopDue):
            feed.append((o.agent_id, "pop", None))
        elif isinstance(o, ToAgent) and o.message["type"] == "retract":
            feed.append((o.agent_id, "retract", o.message["reason"]))
        elif isinstance(o, ToAgent) and o.message["type"] == "completed":
            feed.append((o.agent_id, "completed", o.message["hung_up_by"]))
        elif isinstance(o, ToAgent) and o.message["type"] != "state":
            feed.append((o.agent_id, o.message["type"], None))
    return feed


def records(out: list[Outgoing]) -> list[CallFinished]:
    return [o for o in out if isinstance(o, CallFinished)]


# --- a caller hanging up while the phone rings ----------------------------------------------


def test_caller_hanging_up_while_the_phone_rings_is_abandoned_to_that_agent() -> None:
    out = replay(recording_events(REC09))
    assert to_agents(out) == [
        ("agent-seat05", "pop", None),
        ("agent-seat05", "retract", "abandoned"),
    ]
    [log] = records(out)
    assert log.record.outcome == "abandoned"
    assert log.record.rings == (RingResult("seat05", "agent-seat05", "abandoned"),)


def events_of_chunks(path: Path, cuts: list[int]) -> list[Event]:
    data = b"".join(s.data for s in load_trace(path) if isinstance(s, ServerBytes))
    parser = AMIParser()
    events: list[Event] = []
    at = 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        parser.feed(data[at:cut] if cut > at else b"")
        at = max(at, cut)
        events += [m for m in parser.messages() if isinstance(m, Event)]
    return events


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0), max_size=60))
def test_abandon_while_ringing_is_the_same_whatever_the_reads(cuts: list[int]) -> None:
    whole = replay(recording_events(REC09))
    chunked = replay(events_of_chunks(REC09, cuts))
    assert chunked == whole


def test_caller_hangup_before_the_abandon_is_still_abandoned_to_the_agent() -> None:
    # The caller channel's Hangup and QueueCallerAbandon come from different subscribers.
    rec09 = recording_events(REC09)
    hangup = first(rec09, "Hangup", Uniqueid=CALL09)
    events: list[Event] = []
    for event in rec09:
        if event is hangup:
            continue
        if event.name == "QueueCallerAbandon":
            events.append(hangup)
        events.append(event)
    out = replay(events)
    assert to_agents(out)[1:] == [("agent-seat05", "retract", "abandoned")]
    assert [r.record.outcome for r in records(out)] == ["abandoned"]


def test_a_cancel_whose_caller_says_nothing_is_retracted_within_the_bound() -> None:
    # Only the caller's events after the cancel are left out: the agent's pop must not stay.
    rec09 = recording_events(REC09)
    cancel = rec09.index(first(rec09, "DialEnd", DialStatus="CANCEL", Uniqueid=CALL09))
    events = [e for e in rec09[cancel + 1 :] if e.get("Uniqueid") != CALL09]
    tracker = CallTracker(Seats())
    out: list[Outgoing] = []
    for event in rec09[: cancel + 1]:
        out += tracker.handle(event, 1000.0)
    assert to_agents(out) == [("agent-seat05", "pop", None)]  # waiting for the caller's fate
    for event in events:
        out += tracker.handle(event, 1000.0 + UNDECIDED_MAX_S / 2)
    assert to_agents(out) == [("agent-seat05", "pop", None)]
    out += tracker.handle(events[-1], 1000.0 + UNDECIDED_MAX_S)
    assert to_agents(out)[1:] == [("agent-seat05", "retract", "cancelled")]
    assert tracker.calls[CALL09].rings == {} and tracker.calls[CALL09].cancelled == {}


# --- a ring another agent answered, and one that timed out ---------------------------------

CALLER_03 = {"Channel": "Local/89000@inbound-00000000;2", "Uniqueid": "1795361778.1"}
SEAT05_LEG = {"DestChannel": "Local/seat05@agents-00000002;1", "DestUniqueid": "1795361778.4"}


def ringall_03(traces_dir: Path) -> list[Event]:
    """03 with seat05 rung too (ringall) and cancelled when seat07 answers."""
    rec03 = recording_events(traces_dir / "03-call-answered.ami")
    called = first(rec03, "AgentCalled")
    also = changed(called, Interface="Local/seat05@agents/n", MemberName="seat05", **SEAT05_LEG)
    cancel = changed(
        first(recording_events(REC09), "DialEnd", DialStatus="CANCEL"), **CALLER_03, **SEAT05_LEG
    )
    events: list[Event] = []
    for event in rec03:
        events.append(event)
        if event is called:
            events.append(also)
        if event.name == "DialEnd" and event.get("Uniqueid") == CALLER_03["Uniqueid"]:
            events.append(cancel)  # after seat07's ANSWER, as app_queue hangs up the others
    return events


def test_ring_cancelled_because_another_agent_answered_is_answered_elsewhere(
    traces_dir: Path,
) -> None:
    out = replay(ringall_03(traces_dir))
    assert to_agents(out) == [
        ("agent-seat07", "pop", None),
        ("agent-seat05", "pop", None),
        ("agent-seat05", "retract", "answered_elsewhere"),
        ("agent-seat07", "answered", None),
        ("agent-seat07", "completed", "agent"),
    ]
    [log] = records(out)
    assert log.record.rings == (
        RingResult("seat07", "agent-seat07", "answered"),
        RingResult("seat05", "agent-seat05", "answered_elsewhere"),
    )
    assert log.record.rung_agents == ("agent-seat07", "agent-seat05")
    assert log.record.hung_up_by == "agent"


def test_every_ring_outcome_and_retract_reason_is_one_of_the_typed_values(
    traces_dir: Path,
) -> None:
    for path in sorted(traces_dir.glob("*.ami")):
        out = replay(recording_events(path))
        for o in out:
            if isinstance(o, ToAgent) and isinstance(o.body, Retract):
                assert o.body.reason in RETRACT_REASONS
            if isinstance(o, CallFinished):
                assert {r.outcome for r in o.record.rings} <= set(RING_OUTCOMES)


# --- AgentComplete without the caller's channel ---------------------------------------------

KEPT = ("Event", "Privilege", "Queue", "Interface", "MemberName", "HoldTime", "TalkTime", "Reason")


def channel_less(event: Event) -> Event:
    """AgentComplete as Asterisk sends it once the caller's channel is gone (15's note)."""
    return without(event, *(k for k, _ in event.headers if k not in KEPT))


def test_agent_complete_without_channel_fields_completes_the_members_answered_call(
    traces_dir: Path,
) -> None:
    rec03 = recording_events(traces_dir / "03-call-answered.ami")
    events = [channel_less(e) if e.name == "AgentComplete" else e for e in rec03]
    complete = first(events, "AgentComplete")
    assert "Uniqueid" not in complete and "DestUniqueid" not in complete
    out = replay(events)
    assert to_agents(out)[-1] == ("agent-seat07", "completed", "agent")
    completed = next(o for o in out if isinstance(o, ToAgent) and o.message["type"] == "completed")
    assert completed.message["talk_s"] == 3.0
    [log] = records(out)
    record = log.record
    assert (record.call_id, record.outcome, record.agent_id) == (
        "1795361778.1",
        "answered",
        "agent-seat07",
    )
    assert (record.talked_s, record.hung_up_by) == (3.0, "agent")


def test_late_channel_less_agent_complete_after_the_callers_hangup_keeps_asterisks_values(
    traces_dir: Path,
) -> None:
    # 15: both callers hang up mid-talk. Under load the AgentComplete comes after the
    # caller's channel is gone, without its fields: moved after the caller's Hangup.
    rec15 = recording_events(traces_dir / "15-caller-hangs-up-mid-talk.ami")
    completes = [e for e in rec15 if e.name == "AgentComplete"]
    caller_hangups = {
        c["Uniqueid"]: first(rec15, "Hangup", Uniqueid=c["Uniqueid"]) for c in completes
    }
    late = {id(caller_hangups[c["Uniqueid"]]): channel_less(c) for c in completes}
    events: list[Event] = []
    for event in rec15:
        if event.name == "AgentComplete":
            continue
        events.append(event)
        if id(event) in late:
            events.append(late[id(event)])
    out = replay(events)
    assert [f for f in to_agents(out) if f[1] == "completed"] == [
        ("agent-seat07", "completed", "caller"),
        ("agent-seat08", "completed", "caller"),
    ]
    logged = [(r.record.agent_id, r.record.talked_s, r.record.hung_up_by) for r in records(out)]
    assert logged == [("agent-seat07", 3.0, "caller"), ("agent-seat08", 2.0, "caller")]


def test_answered_call_whose_agent_complete_never_comes_is_completed_within_the_bound(
    traces_dir: Path,
) -> None:
    rec15 = recording_events(traces_dir / "15-caller-hangs-up-mid-talk.ami")
    hangup = rec15.index(first(rec15, "Hangup", Uniqueid="1796046608.35"))
    events = [e for e in rec15[: hangup + 1] if e.name != "AgentComplete"]
    tracker = CallTracker(Seats())
    out: list[Outgoing] = []
    for event in events:
        out += tracker.handle(event, 1000.0)
    assert ("agent-seat07", "completed", None) not in to_agents(out)
    out += tracker.handle(rec15[hangup + 1], 1000.0 + COMPLETE_WAIT_S)
    assert to_agents(out)[-1] == ("agent-seat07", "completed", None)
    [log] = records(out)
    assert (log.record.outcome, log.record.hung_up_by, log.record.ended_at) == (
        "answered",
        None,
        1000.0,
    )


# --- no second pop ---------------------------------------------------------------------------


def test_a_repeated_agent_called_or_agent_connect_pops_and_answers_once(traces_dir: Path) -> None:
    rec03 = recording_events(traces_dir / "03-call-answered.ami")
    called = first(rec03, "AgentCalled")
    connect = first(rec03, "AgentConnect")
    events: list[Event] = []
    for event in rec03:
        events.append(event)
        if event is called:
            events.append(called)  # the same ring told twice
        if event is connect:
            events += [connect, called]  # after the answer: the call is the agent's already
    out = replay(events)
    assert to_agents(out) == [
        ("agent-seat07", "pop", None),
        ("agent-seat07", "answered", None),
        ("agent-seat07", "completed", "agent"),
    ]
    [log] = records(out)
    assert log.record.rings == (RingResult("seat07", "agent-seat07", "answered"),)


def test_a_cancelled_ring_is_decided_by_the_clock_when_no_event_comes() -> None:
    # A quiet system: the agent leg was cancelled (09's DialEnd CANCEL) and then nothing at
    # all arrives. The shell's tick must end the wait; no event is needed to tell the time.
    events = recording_events(REC09)
    cancel = next(
        i for i, e in enumerate(events) if e.name == "DialEnd" and e.get("DialStatus") == "CANCEL"
    )
    tracker = CallTracker(Seats())
    out: list[Outgoing] = []
    for i, event in enumerate(events[: cancel + 1]):
        out += tracker.handle(event, 1000.0 + i * 0.01)
    assert [f for f in to_agents(out) if f[1] == "retract"] == []
    at = 1000.0 + cancel * 0.01
    assert tracker.tick(at + UNDECIDED_MAX_S / 2) == []
    late = tracker.tick(at + UNDECIDED_MAX_S + 0.1)
    assert [(a, kind) for a, kind, _ in to_agents(late)] == [("agent-seat05", "retract")]
