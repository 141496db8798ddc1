"""Call and agent state: AMI events in, agent messages and call-log records out.

`CallTracker` is the sans-IO core (`handle(event, now)`, `resync(...)`); `StateService` is
the async shell that looks callers up, publishes on the bus and writes the call log.
"""

from __future__ import annotations

from cti.state.members import Member, Membership
from cti.state.outgoing import (
    CallFinished,
    CallRecord,
    Outcome,
    Outgoing,
    PopDue,
    ToAgent,
    ToBroadcast,
)
from cti.state.ports import CallerLocator, MatchLike, SeatDirectory
from cti.state.text import display_text, member_seat, queue_language
from cti.state.tracker import Call, CallTracker, Ring

__all__ = [
    "Call",
    "CallFinished",
    "CallRecord",
    "CallTracker",
    "CallerLocator",
    "MatchLike",
    "Member",
    "Membership",
    "Outcome",
    "Outgoing",
    "PopDue",
    "Ring",
    "SeatDirectory",
    "ToAgent",
    "ToBroadcast",
    "display_text",
    "member_seat",
    "queue_language",
]
