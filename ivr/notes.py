"""What the IVR learnt about each call, kept for the screen-pop that follows it.

The AGI runs on the caller's channel before `Queue()`, so the `agi_uniqueid` is the Uniqueid
of the queue caller in `AgentCalled` (07: both `1795361860.17`): the pop looks it up by the
call id. In memory, bounded (the oldest go first); with several CTI nodes, what one node's
IVR learnt is handed to the others (`on_remember`, `cti.cluster.IvrShare`), so whichever
node pops the call shows it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from ivr.menu import Learnt

MAX_NOTES: Final = 20_000  # hours of calls at a big-city 12345 rate; a pop comes in seconds


class IvrNotes:
    """`remember(call_id, learnt)` from the IVR; `learnt(call_id)` for the pop."""

    def __init__(self, max_notes: int = MAX_NOTES) -> None:
        self._notes: OrderedDict[str, Learnt] = OrderedDict()
        self._max = max_notes
        self._hooks: list[Callable[[str, Learnt], None]] = []

    def on_remember(self, hook: Callable[[str, Learnt], None]) -> None:
        """Call `hook(call_id, learnt)` for every note this node's IVR takes."""
        self._hooks.append(hook)

    def remember(self, call_id: str, learnt: Learnt, *, from_ivr: bool = True) -> None:
        """Keep what the IVR set on `call_id` (dropping the oldest past the bound).

        `from_ivr=False`: a note another node's IVR took (not handed on again).
        """
        self._notes[call_id] = learnt
        self._notes.move_to_end(call_id)
        while len(self._notes) > self._max:
            self._notes.popitem(last=False)
        if from_ivr:
            for hook in self._hooks:
                hook(call_id, learnt)

    def learnt(self, call_id: str) -> Learnt | None:
        """What the IVR set on `call_id`, or None when the call did not go through it here."""
        return self._notes.get(call_id)

    def recent(self) -> list[tuple[str, Learnt]]:
        """Every (call id, what was learnt) kept, oldest first."""
        return list(self._notes.items())

    def __len__(self) -> int:
        return len(self._notes)
