"""Events of a real recording, parsed with the project's AMI parser: what the AMI client would
hand the state machine from the live stream. Shared by every test tier."""

from __future__ import annotations

from pathlib import Path

from cti.ami import AMIParser, ClientAction, Event, ServerBytes, load_trace


def recording_events(path: Path) -> list[Event]:
    """Every event Asterisk sent in a recording, in order."""
    parser = AMIParser()
    events: list[Event] = []
    for segment in load_trace(path):
        if isinstance(segment, ServerBytes):
            parser.feed(segment.data)
            events += [m for m in parser.messages() if isinstance(m, Event)]
    return events


def list_events(path: Path, action: str) -> list[Event]:
    """The events answering the first `action` (e.g. QueueStatus) the recording client sent."""
    action_id = None
    for segment in load_trace(path):
        if isinstance(segment, ClientAction) and segment.name == action:
            action_id = segment.action_id
            break
    return [e for e in recording_events(path) if action_id and e.action_id == action_id]
