"""Moved to `tests.support.recordings`; kept for tests not yet switched over."""

from tests.support.recordings import list_events, recording_events

__all__ = ["list_events", "recording_events"]
