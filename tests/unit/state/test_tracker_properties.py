"""The tracker never fails and never logs a call twice, whatever order events come in."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ami import Event
from cti.state import CallFinished, CallTracker, PopDue
from tests.conftest import TRACES
from tests.support.recordings import recording_events

EVENTS = [
    e
    for name in ("03-call-answered.ami", "05-ring-no-answer.ami", "09-abandon-while-ringing.ami")
    for e in recording_events(Path(TRACES) / name)
]


class Seats:
    def agent_at(self, seat: str) -> str | None:
        return f"agent-{seat}"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(EVENTS), max_size=80))
def test_any_event_sequence_is_handled_and_only_open_calls_are_logged(
    events: list[Event],
) -> None:
    tracker = CallTracker(Seats())
    pops = 0
    for i, event in enumerate(events):
        # A Uniqueid seen again after its call ended opens a new call (`<uniqueid>-2`): the
        # calls are compared by call id, not by the Uniqueid they are held under.
        open_before = {call.call_id for call in tracker.calls.values()}
        for item in tracker.handle(event, float(i)):
            if isinstance(item, CallFinished):
                assert item.record.call_id in open_before
                assert item.record.call_id not in {c.call_id for c in tracker.calls.values()}
                assert item.record.waited_s >= 0
            elif isinstance(item, PopDue):
                pops += 1
                assert item.waited_s >= 0
    assert pops <= sum(1 for e in events if e.name == "AgentCalled")
