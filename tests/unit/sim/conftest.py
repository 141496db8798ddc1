"""Helpers to compare the simulator's events with the recordings, field name by field name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cti.ami import AMIParser, ClientAction, Event, Header, ServerBytes, load_trace

Shape = tuple[str, tuple[str, ...]]


def shape(headers: tuple[Header, ...]) -> Shape:
    """An event's name and its field names in order: what must match the recording."""
    return headers[0][1], tuple(k for k, _ in headers)


def events_after(path: Path, action: str, until: str | None = None) -> list[Event]:
    """The events Asterisk sent after the client's `action` and before the `until` action."""
    segments = load_trace(path)
    data = bytearray()
    taking = False
    for seg in segments:
        if isinstance(seg, ClientAction):
            if taking and until is not None and seg.name == until:
                break
            if seg.name == action:
                taking = True
        elif isinstance(seg, ServerBytes) and taking:
            data += seg.data
    parser = AMIParser(expect_greeting=False)
    parser.feed(bytes(data))
    return [m for m in parser.messages() if isinstance(m, Event)]


@pytest.fixture
def recorded(traces_dir: Path) -> Callable[[str, str, str | None], list[Event]]:
    """`recorded(file, after_action, until_action)` -> the recording's events in between."""

    def load(name: str, action: str, until: str | None = None) -> list[Event]:
        return events_after(traces_dir / name, action, until)

    return load
