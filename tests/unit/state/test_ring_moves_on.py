"""Ring-no-answer hands the call to the next agent: the pop follows the ring.

Recording 05 cannot show this (its second member has penalty 1 and Asterisk rings seat21
again), so the events come from the simulator, whose shapes are checked against 05.
"""

from __future__ import annotations

from cti.ami import Event, parse_message
from cti.ami.protocol import encode_headers
from cti.sim.pbx import CallerSpec, Pbx, PbxConfig
from cti.state import CallFinished, CallTracker, PopDue, ToAgent

START = 1795361777.0


class EverySeatStaffed:
    def agent_at(self, seat: str) -> str | None:
        return f"agent-{seat}"


def test_pop_moves_to_the_next_agent_after_ring_no_answer() -> None:
    pbx = Pbx(PbxConfig(answer_delay=(2.0, 2.0)), START)
    pbx.add_member("q-en", "Local/seat21@agents-noanswer/n", "seat21")
    pbx.add_member("q-en", "Local/seat22@agents/n", "seat22")
    headers = pbx.place_call(CallerSpec("q-en", "+15551234567", "John Smith", "en", talk=3.0))
    headers += pbx.advance(START + 60)

    tracker = CallTracker(EverySeatStaffed())
    feed: list[tuple[str, str]] = []
    finished: list[CallFinished] = []
    for h in headers:
        event = parse_message(encode_headers(h)[:-2])
        assert isinstance(event, Event)
        for out in tracker.handle(event, pbx.now):
            if isinstance(out, PopDue):
                feed.append((out.agent_id, "pop"))
            elif isinstance(out, ToAgent) and out.message["type"] != "state":
                feed.append((out.agent_id, out.message["type"]))
            elif isinstance(out, CallFinished):
                finished.append(out)

    assert feed[:4] == [
        ("agent-seat21", "pop"),
        ("agent-seat21", "retract"),
        ("agent-seat22", "pop"),
        ("agent-seat22", "answered"),
    ]
    assert ("agent-seat22", "completed") in feed
    [done] = finished
    assert (done.record.outcome, done.record.seat) == ("answered", "seat22")
