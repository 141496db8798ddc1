"""The simulator's calls have the events, field names and order of the real recordings."""

from __future__ import annotations

from collections.abc import Callable

from cti.ami import Event
from cti.sim.channels import Headers
from cti.sim.pbx import CallerSpec, Pbx, PbxConfig

Recorded = Callable[[str, str, str | None], list[Event]]
START = 1795361777.0


def shapes(events: list[Headers]) -> list[tuple[str, tuple[str, ...]]]:
    return [(e[0][1], tuple(k for k, _ in e)) for e in events]


def recorded_shapes(events: list[Event]) -> list[tuple[str, tuple[str, ...]]]:
    return [(e.name, tuple(k for k, _ in e.headers)) for e in events]


def assert_same_shapes(sim: list[Headers], rec: list[Event]) -> None:
    got, want = shapes(sim), recorded_shapes(rec)
    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        assert g == w, f"event {i}: simulator {g} != recording {w}"
    assert len(got) == len(want), f"simulator {len(got)} events, recording {len(want)}"


def from_join(events: list[Headers]) -> list[Headers]:
    start = next(i for i, e in enumerate(events) if e[0][1] == "QueueCallerJoin")
    return events[start:]


def rec_from_join(events: list[Event]) -> list[Event]:
    start = next(i for i, e in enumerate(events) if e.name == "QueueCallerJoin")
    return events[start:]


def test_answered_call_matches_03_event_by_event(recorded: Recorded) -> None:
    pbx = Pbx(PbxConfig(no_answer_ratio=0.0, answer_delay=(0.5, 0.5)), START)
    pbx.add_member("q-zh", "Local/seat07@agents/n", "seat07")
    events = pbx.place_call(
        CallerSpec("q-zh", "05356683318", "张先生", "zh", talk=2.5, variables=(("TALK", "2"),))
    )
    events += pbx.advance(START + 60)
    # The recording's OriginateResponse answers the recorder's Originate action: the
    # simulator's callers dial in by themselves, so there is no action to answer.
    rec = [
        e
        for e in recorded("03-call-answered.ami", "Originate", "QueueRemove")
        if e.name != "OriginateResponse"
    ]
    assert_same_shapes(events, rec)


def test_answered_call_reports_queue_and_member_values(recorded: Recorded) -> None:
    pbx = Pbx(PbxConfig(no_answer_ratio=0.0, answer_delay=(0.5, 0.5)), START)
    pbx.add_member("q-zh", "Local/seat07@agents/n", "seat07")
    events = pbx.place_call(CallerSpec("q-zh", "05356683318", "张先生", "zh", talk=2.5))
    events += pbx.advance(START + 60)
    by_name = {e[0][1]: dict(e) for e in events}
    assert by_name["AgentCalled"]["MemberName"] == "seat07"
    assert by_name["AgentCalled"]["Interface"] == "Local/seat07@agents/n"
    assert by_name["AgentCalled"]["CallerIDNum"] == "05356683318"
    assert by_name["AgentConnect"]["DestChannel"].startswith("Local/seat07@agents-")
    assert by_name["AgentComplete"]["Reason"] == "agent"
    assert by_name["QueueCallerJoin"]["Queue"] == "q-zh"


def test_abandon_while_ringing_matches_09_from_the_queue_join(recorded: Recorded) -> None:
    pbx = Pbx(PbxConfig(), START)
    pbx.add_member("q-zh", "Local/seat05@agents-noanswer/n", "seat05")
    events = pbx.place_call(
        CallerSpec(
            "q-zh", "13905351234", "李桂兰", "zh", patience=4.0, variables=(("LANGSEL", "zh"),)
        )
    )
    events += pbx.advance(START + 60)
    rec = recorded("09-abandon-while-ringing.ami", "Originate", "QueueRemove")
    assert_same_shapes(from_join(events), rec_from_join(rec))


def test_ring_no_answer_moves_on_like_05(recorded: Recorded) -> None:
    pbx = Pbx(PbxConfig(), START)
    pbx.add_member("q-en", "Local/seat21@agents-noanswer/n", "seat21")
    pbx.add_member("q-en", "Local/seat22@agents/n", "seat22", penalty=1)
    events = pbx.place_call(CallerSpec("q-en", "+15551234567", "John Smith", "en"))
    # 05 ends while seat21 rings the second time; stop the clock there too.
    events += pbx.advance(START + 20)
    rec = recorded("05-ring-no-answer.ami", "Originate", "QueueRemove")
    sim = from_join(events)
    recd = rec_from_join(rec)
    # Asterisk wrote the agent's dialplan (NoOp, Wait) before or after AgentCalled as its
    # threads raced; the queue events (what the CTI server reads) keep their order.
    queue_events = {
        "QueueCallerJoin",
        "AgentCalled",
        "DialBegin",
        "AgentRingNoAnswer",
        "DialEnd",
        "Hangup",
        "HangupRequest",
        "SoftHangupRequest",
    }
    assert_same_shapes(
        [e for e in sim if e[0][1] in queue_events],
        [e for e in recd if e.name in queue_events],
    )


def test_pjsip_answered_call_matches_13_queue_events(recorded: Recorded) -> None:
    pbx = Pbx(PbxConfig(local_callers=False, no_answer_ratio=0.0, answer_delay=(2.0, 2.0)), START)
    pbx.add_member("q-zh", "PJSIP/seat07", "seat07")
    events = pbx.place_call(CallerSpec("q-zh", "05356683318", "张先生", "zh", talk=3.0))
    events += pbx.advance(START + 60)
    rec = recorded("13-pjsip-seat-call.ami", "QueueAdd", "QueueRemove")
    rec = rec[next(i for i, e in enumerate(rec) if e.name == "Newchannel") :]
    # A SIP call also reports RTP quality and the SIP call ids of the bridge as VarSets;
    # the simulator has no media, so those are left out.
    media = ("RTPAUDIOQOS", "BRIDGEPVTCALLID")
    rec = [
        e for e in rec if not (e.name == "VarSet" and (e.get("Variable") or "").startswith(media))
    ]
    # Asterisk repeated the BRIDGEPEER VarSets three times as the bridge went native.
    seen: set[str | None] = set()
    kept: list[Event] = []
    for e in rec:
        if e.name == "VarSet" and e.get("Variable") == "BRIDGEPEER" and e.get("Value"):
            if e.get("Channel") in seen:
                continue
            seen.add(e.get("Channel"))
        kept.append(e)
    assert_same_shapes(events, kept)


def test_abandon_with_no_one_ringing_matches_04_queue_events(recorded: Recorded) -> None:
    pbx = Pbx(PbxConfig(), START)
    pbx.add_member("q-ko", "Local/seat31@agents/n", "seat31", paused=True)
    events = pbx.place_call(
        CallerSpec(
            "q-ko", "+821012345678", "Kim", "ko", patience=3.0, variables=(("LANGSEL", "ko"),)
        )
    )
    events += pbx.advance(START + 60)
    rec = recorded("04-call-abandoned.ami", "Originate", "QueueRemove")
    # In 04 the recorder hung the caller up with a Hangup action (its own list reply and a
    # different channel teardown); what the queue reports is the same.
    wanted = {"QueueCallerJoin", "QueueCallerAbandon", "QueueCallerLeave", "VarSet"}
    assert "AgentCalled" not in {e[0][1] for e in events}
    assert_same_shapes(
        [e for e in from_join(events) if e[0][1] in wanted],
        [e for e in rec_from_join(rec) if e.name in wanted],
    )
