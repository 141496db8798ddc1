"""Real Asterisk behaviour the recordings only hint at, built from recorded events.

Every event here is a recorded one with values changed (never a field added): the caller of
05 that is still waiting when that recording ends, and the events 03 shows for the rest.
"""

from __future__ import annotations

from pathlib import Path

from cti.ami import Event
from cti.state import CallFinished, CallTracker, Outgoing, PopDue, ToAgent
from tests.support.recordings import list_events, recording_events


class Seats:
    def agent_at(self, seat: str) -> str | None:
        return f"agent-{seat}"


def changed(event: Event, **values: str) -> Event:
    """The recorded `event` with some header values replaced (no header added)."""
    assert set(values) <= {k for k, _ in event.headers}, "only recorded fields may change"
    return Event(headers=tuple((k, values.get(k, v)) for k, v in event.headers), name=event.name)


def first(events: list[Event], name: str, **match: str) -> Event:
    return next(
        e for e in events if e.name == name and all(e.get(k) == v for k, v in match.items())
    )


def feed(out: list[Outgoing]) -> list[tuple[str, str]]:
    return [
        (o.agent_id, "pop" if isinstance(o, PopDue) else o.message["type"])
        for o in out
        if isinstance(o, PopDue) or (isinstance(o, ToAgent) and o.message["type"] != "state")
    ]


def finished(out: list[Outgoing]) -> list[CallFinished]:
    return [o for o in out if isinstance(o, CallFinished)]


# 05's caller (still waiting at the end of the recording, seat21 ringing on leg .10).
CALLER_05 = {
    "Channel": "Local/89000@inbound-00000003;2",
    "Uniqueid": "1795361792.7",
    "Linkedid": "1795361792.6",
    "CallerIDNum": "+15551234567",
    "CallerIDName": "John Smith",
    "ConnectedLineNum": "+15551234567",
    "ConnectedLineName": "John Smith",
}


def test_caller_who_times_out_of_the_queue_is_logged_with_the_time_in_queue(
    traces_dir: Path,
) -> None:
    # Queue(q-en,,,,120): at the timeout app_queue sends QueueCallerLeave with no
    # AgentConnect, cancels the ringing leg, and the dialplan goes on (Hangup() here, but it
    # could be voicemail): the wait ends at the leave, not at the hang-up.
    rec05 = recording_events(traces_dir / "05-ring-no-answer.ami")
    rec03 = recording_events(traces_dir / "03-call-answered.ami")
    tracker = CallTracker(Seats())
    out: list[Outgoing] = []
    for event in rec05:
        out += tracker.handle(event, 1000.0)
    leave = changed(first(rec03, "QueueCallerLeave"), Queue="q-en", **CALLER_05)
    cancel = first(rec05, "DialEnd", DestUniqueid="1795361793.8", DialStatus="CANCEL")
    cancel = changed(
        cancel, DestChannel="Local/seat21@agents-noanswer-00000005;1", DestUniqueid="1795361809.10"
    )
    hangup = changed(first(rec03, "Hangup", Uniqueid="1795361778.1"), **CALLER_05)
    out += tracker.handle(leave, 1120.0)
    out += tracker.handle(cancel, 1120.0)
    out += tracker.handle(hangup, 1185.0)
    assert feed(out) == [
        ("agent-seat21", "pop"),
        ("agent-seat21", "retract"),
        ("agent-seat21", "pop"),
        ("agent-seat21", "retract"),
    ]
    [log] = finished(out)
    assert (log.record.call_id, log.record.outcome, log.record.agent_id) == (
        "1795361792.7",
        "no_answer",
        None,
    )
    assert log.record.waited_s == 120.0
    assert log.record.ended_at == 1185.0
    reasons = [o.message.get("reason") for o in out if isinstance(o, ToAgent)]
    reasons = [r for r in reasons if r is not None]
    assert reasons == ["no_answer", "cancelled"]  # the second ring ended by the timeout
    assert [(r.seat, r.outcome) for r in log.record.rings] == [
        ("seat21", "no_answer"),
        ("seat21", "cancelled"),
    ]
    assert tracker.calls == {}


def test_caller_hangup_seen_before_agent_complete_still_completes_the_agents_call(
    traces_dir: Path,
) -> None:
    # AMI's Hangup and app_queue's AgentComplete come from different stasis subscribers:
    # when the caller hangs up during talk the caller channel's Hangup may come first.
    rec03 = recording_events(traces_dir / "03-call-answered.ami")
    caller_hangup = first(rec03, "Hangup", Uniqueid="1795361778.1")
    complete = first(rec03, "AgentComplete")
    reordered: list[Event] = []
    for event in rec03:
        if event is caller_hangup:
            continue
        if event is complete:
            reordered.append(caller_hangup)
            event = changed(complete, Reason="caller")
        reordered.append(event)
    tracker = CallTracker(Seats())
    out: list[Outgoing] = []
    for i, event in enumerate(reordered):
        out += tracker.handle(event, 1000.0 + i * 0.01)
    assert feed(out) == [
        ("agent-seat07", "pop"),
        ("agent-seat07", "answered"),
        ("agent-seat07", "completed"),
    ]
    [log] = finished(out)
    assert (log.record.outcome, log.record.agent_id) == ("answered", "agent-seat07")
    assert tracker.calls == {}


def test_resync_during_talk_lets_the_agent_complete_and_the_call_be_logged(
    traces_dir: Path,
) -> None:
    # Connected (or reconnected) while 03's caller talks to seat07: QueueStatus lists no
    # entry (the caller left the queue), CoreShowChannels shows the caller's channel still
    # in Queue() and in a bridge. The AgentComplete that follows must find the call.
    rec03 = recording_events(traces_dir / "03-call-answered.ami")
    rec04 = traces_dir / "04-call-abandoned.ami"
    after = traces_dir / "10b-restart-after.ami"
    waiting = first(list_events(rec04, "CoreShowChannels"), "CoreShowChannel", Application="Queue")
    talking = changed(
        waiting,
        Channel="Local/89000@inbound-00000000;2",
        CallerIDNum="05356683318",
        CallerIDName="张先生",
        ConnectedLineNum="05356683318",
        ConnectedLineName="张先生",
        Uniqueid="1795361778.1",
        Linkedid="1795361778.0",
        ApplicationData="q-zh,,,,120",
        Duration="00:00:02",
        BridgeId="35a7ea7b-cdb6-4ba4-a543-0c4cf5fea568",
    )
    tracker = CallTracker(Seats())
    tracker.resync(list_events(after, "QueueStatus"), [talking], 1000.0)
    connect = next(i for i, e in enumerate(rec03) if e.name == "AgentConnect")
    out: list[Outgoing] = []
    for event in rec03[connect + 1 :]:
        out += tracker.handle(event, 1001.0)
    assert ("agent-seat07", "completed") in feed(out)
    [log] = finished(out)
    record = log.record
    assert (record.call_id, record.queue, record.outcome) == ("1795361778.1", "q-zh", "answered")
    assert (record.agent_id, record.caller_number, record.caller_name) == (
        "agent-seat07",
        "05356683318",
        "张先生",
    )
    assert (record.joined_at, record.talked_s) == (998.0, 3.0)
    assert tracker.calls == {}


def test_resync_older_than_the_abandon_it_follows_does_not_bring_the_caller_back(
    traces_dir: Path,
) -> None:
    # The client hands events and the resync to separate tasks: 04's abandon can be handled
    # before the snapshot taken while the caller still waited. The caller must stay gone
    # (not wait forever, then be logged a second time by the next resync).
    rec04 = traces_dir / "04-call-abandoned.ami"
    snapshot = (list_events(rec04, "QueueStatus"), list_events(rec04, "CoreShowChannels"))
    tracker = CallTracker(Seats())
    out: list[Outgoing] = []
    for event in recording_events(rec04):
        out += tracker.handle(event, 2000.0)
    assert [f.record.outcome for f in finished(out)] == ["abandoned"]
    out = tracker.resync(*snapshot, 1999.0)
    assert finished(out) == []
    assert tracker.calls == {}
    later = traces_dir / "10b-restart-after.ami"
    out = tracker.resync(
        list_events(later, "QueueStatus"), list_events(later, "CoreShowChannels"), 2100.0
    )
    assert finished(out) == []


def test_caller_transferred_back_into_a_queue_is_a_second_call_with_its_own_id(
    traces_dir: Path,
) -> None:
    # seat07 transfers 03's caller to q-ko (AgentComplete Reason: transfer): the same
    # channel, the same Uniqueid, joins q-ko, seat31 rings, and the caller hangs up there.
    # The call log holds one row per call_id, so the second call needs its own.
    rec03 = recording_events(traces_dir / "03-call-answered.ami")
    rec04 = recording_events(traces_dir / "04-call-abandoned.ami")
    caller_03 = {
        "Channel": "Local/89000@inbound-00000000;2",
        "Uniqueid": "1795361778.1",
        "Linkedid": "1795361778.0",
        "CallerIDNum": "05356683318",
        "CallerIDName": "张先生",
        "ConnectedLineNum": "05356683318",
        "ConnectedLineName": "张先生",
    }
    events = [
        changed(e, Reason="transfer") if e.name == "AgentComplete" else e
        for e in rec03
        if not (e.name == "Hangup" and e.get("Uniqueid") == "1795361778.1")
    ]
    events += [
        changed(first(rec03, "QueueCallerJoin"), Queue="q-ko"),
        changed(
            first(rec03, "AgentCalled"),
            Queue="q-ko",
            DestChannel="Local/seat31@agents-00000009;1",
            DestUniqueid="1795361790.20",
            Interface="Local/seat31@agents/n",
            MemberName="seat31",
        ),
        changed(first(rec04, "QueueCallerAbandon"), **caller_03),
        first(rec03, "Hangup", Uniqueid="1795361778.1"),
    ]
    tracker = CallTracker(Seats())
    out: list[Outgoing] = []
    for i, event in enumerate(events):
        out += tracker.handle(event, 1000.0 + i * 0.01)
    pops = [(o.agent_id, o.call_id, o.queue) for o in out if isinstance(o, PopDue)]
    assert pops == [
        ("agent-seat07", "1795361778.1", "q-zh"),
        ("agent-seat31", "1795361778.1-2", "q-ko"),
    ]
    records = [f.record for f in finished(out)]
    assert [(r.call_id, r.queue, r.outcome, r.agent_id) for r in records] == [
        ("1795361778.1", "q-zh", "answered", "agent-seat07"),
        ("1795361778.1-2", "q-ko", "abandoned", None),
    ]
    assert records[1].rung_agents == ("agent-seat31",)
    assert tracker.calls == {}
    # While the second call rings, the first is over (its wrap-up may be saved).
    ringing = CallTracker(Seats())
    for event in events[:-2]:
        ringing.handle(event, 1000.0)
    assert not ringing.is_open("1795361778.1")
    assert ringing.is_open("1795361778.1-2")


def test_caller_hangup_seen_before_the_abandon_is_still_an_abandon(traces_dir: Path) -> None:
    # As with AgentComplete, the caller channel's Hangup may beat QueueCallerAbandon: a
    # caller who hangs up while still in the queue abandoned it (the abandon rate counts it).
    rec04 = recording_events(traces_dir / "04-call-abandoned.ami")
    hangup = first(rec04, "Hangup", Uniqueid="1795361785.5")
    events: list[Event] = []
    for event in rec04:
        if event is hangup:
            continue
        if event.name == "QueueCallerAbandon":
            events.append(hangup)
        events.append(event)
    tracker = CallTracker(Seats())
    out: list[Outgoing] = []
    for event in events:
        out += tracker.handle(event, 1000.0)
    [log] = finished(out)
    assert (log.record.call_id, log.record.outcome) == ("1795361785.5", "abandoned")
    assert tracker.calls == {}


def test_pause_and_removal_from_another_queue_while_ringing_keep_the_pop(
    traces_dir: Path,
) -> None:
    # seat07 is in q-zh and q-en; while it rings for 03's caller the supervisor pauses it in
    # q-zh ("lunch") and removes it from q-en. Asterisk keeps ringing (05 shows a removed
    # member still ringing), so the pop stands and the state shows the pause.
    rec02 = recording_events(traces_dir / "02-queue-admin.ami")
    rec03 = recording_events(traces_dir / "03-call-answered.ami")
    seat07 = {
        "MemberName": "seat07",
        "Interface": "Local/seat07@agents/n",
        "StateInterface": "Local/seat07@agents/n",
    }
    in_en = changed(first(rec02, "QueueMemberAdded", Queue="q-en"), **seat07)
    pause = changed(first(rec02, "QueueMemberPause", Paused="1"), **seat07)
    removed = changed(first(rec02, "QueueMemberRemoved", Queue="q-en"), **seat07)
    events: list[Event] = []
    for event in rec03:
        if event.name == "QueueMemberStatus":
            event = changed(event, Paused="1", PausedReason="lunch")
        events.append(event)
        if event.name == "QueueMemberAdded":
            events.append(in_en)
        if event.name == "AgentCalled":
            events += [pause, removed]
    tracker = CallTracker(Seats())
    out: list[Outgoing] = []
    for event in events:
        out += tracker.handle(event, 1000.0)
    assert feed(out) == [
        ("agent-seat07", "pop"),
        ("agent-seat07", "answered"),
        ("agent-seat07", "completed"),
    ]
    states = [
        [(q["queue"], q["paused"], q["paused_reason"]) for q in o.message["queues"]]
        for o in out
        if isinstance(o, ToAgent) and o.message["type"] == "state"
    ]
    # Added to q-zh, then q-en; paused in q-zh; out of q-en; out of q-zh as 03 ends.
    assert states == [
        [("q-zh", False, None)],
        [("q-en", False, None), ("q-zh", False, None)],
        [("q-en", False, None), ("q-zh", True, "lunch")],
        [("q-zh", True, "lunch")],
        [],
    ]
    [log] = finished(out)
    assert (log.record.outcome, log.record.agent_id) == ("answered", "agent-seat07")


def test_busy_agent_leg_retracts_once_and_the_caller_keeps_waiting(traces_dir: Path) -> None:
    # seat07 declines (DialStatus BUSY, as 05's NOANSWER leg but busy) and its leg hangs up
    # before any AgentConnect: one retract, the caller still waits in q-zh.
    rec03 = recording_events(traces_dir / "03-call-answered.ami")
    rec05 = recording_events(traces_dir / "05-ring-no-answer.ami")
    called = next(i for i, e in enumerate(rec03) if e.name == "AgentCalled")
    leg = {"DestChannel": "Local/seat07@agents-00000001;1", "DestUniqueid": "1795361778.2"}
    caller = {"Channel": "Local/89000@inbound-00000000;2", "Uniqueid": "1795361778.1"}
    busy = changed(
        first(rec05, "DialEnd", DialStatus="NOANSWER"), DialStatus="BUSY", **leg, **caller
    )
    leg_hangup = changed(
        first(rec05, "Hangup", Uniqueid="1795361793.8"),
        Channel="Local/seat07@agents-00000001;1",
        Uniqueid="1795361778.2",
    )
    tracker = CallTracker(Seats())
    out: list[Outgoing] = []
    for event in [*rec03[: called + 1], busy, leg_hangup]:
        out += tracker.handle(event, 1000.0)
    assert feed(out) == [("agent-seat07", "pop"), ("agent-seat07", "retract")]
    assert finished(out) == []
    assert tracker.calls["1795361778.1"].in_queue
    assert tracker.calls["1795361778.1"].rings == {}
