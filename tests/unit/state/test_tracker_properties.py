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
        open_before = set(tracker.calls)
        for item in tracker.handle(event, float(i)):
            if isinstance(item, CallFinished):
                assert item.record.call_id in open_before
                assert item.record.call_id not in tracker.calls
                assert item.record.waited_s >= 0
            elif isinstance(item, PopDue):
                pops += 1
                assert item.waited_s >= 0
    assert pops <= sum(1 for e in events if e.name == "AgentCalled")
