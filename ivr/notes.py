"""What the IVR learnt about each call, kept for the screen-pop that follows it.

The AGI runs on the caller's channel before `Queue()`, so the `agi_uniqueid` is the Uniqueid
of the queue caller in `AgentCalled` (07: both `1795361860.17`): the pop looks it up by the
call id. In memory, in the process that served the AGI, bounded (the oldest go first).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from ivr.menu import Learnt

MAX_NOTES: Final = 20_000  # hours of calls at a big-city 12345 rate; a pop comes in seconds


class IvrNotes:
    """`remember(call_id, learnt)` from the IVR; `learnt(call_id)` for the pop."""

    def __init__(self, max_notes: int = MAX_NOTES) -> None:
        self._notes: OrderedDict[str, Learnt] = OrderedDict()
        self._max = max_notes

    def remember(self, call_id: str, learnt: Learnt) -> None:
        """Keep what the IVR set on `call_id` (dropping the oldest past the bound)."""
        self._notes[call_id] = learnt
        self._notes.move_to_end(call_id)
        while len(self._notes) > self._max:
            self._notes.popitem(last=False)

    def learnt(self, call_id: str) -> Learnt | None:
        """What the IVR set on `call_id`, or None when the call did not go through it here."""
        return self._notes.get(call_id)

    def recent(self) -> list[tuple[str, Learnt]]:
        """Every (call id, what was learnt) kept, oldest first."""
        return list(self._notes.items())

    def __len__(self) -> int:
        return len(self._notes)
