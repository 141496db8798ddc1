"""A finished call as the tracker hands it to the call log, for call-log tests."""

from __future__ import annotations

from cti.state import CallRecord


def a_call(call_id: str = "1795361778.1", **changes: object) -> CallRecord:
    """The answered call of 03-call-answered.ami, with `changes` applied."""
    values: dict[str, object] = {
        "call_id": call_id,
        "queue": "q-zh",
        "language": "zh",
        "caller_number": "05356683318",
        "caller_name": "张先生",
        "agent_id": "agent01",
        "seat": "seat07",
        "joined_at": 1_795_361_778.0,
        "ended_at": 1_795_361_790.0,
        "waited_s": 3.0,
        "talked_s": 7.0,
        "outcome": "answered",
    }
    values.update(changes)
    return CallRecord(**values)  # type: ignore[arg-type]
