"""Call and agent state: AMI events in, agent messages and call-log records out.

`CallTracker` is the sans-IO core (`handle(event, now)`, `resync(...)`); `StateService` is
the async shell that looks callers up, publishes on the bus and writes the call log.
"""

from __future__ import annotations

from cti.state.call_log import (
    MAX_CALLER_OTHER,
    MAX_NOTE,
    WRAPUP_OUTCOMES,
    CallLog,
    CallLogError,
    CallLogUnavailable,
    CallNotFound,
    Contact,
    WrapupRejected,
    recent_contacts,
    save_caller,
)
from cti.state.members import Member, Membership, member_from_event
from cti.state.models import CallLogEntry
from cti.state.outgoing import (
    CallFinished,
    CallRecord,
    Outcome,
    Outgoing,
    PopDue,
    ToAgent,
    ToBroadcast,
)
from cti.state.pop import pop_message, pop_resident
from cti.state.ports import CallerLocator, MatchLike, SeatDirectory
from cti.state.service import ResyncLike, StateService
from cti.state.spool import CallLogSpool
from cti.state.text import display_text, member_seat, queue_language
from cti.state.tracker import Call, CallTracker, Ring

__all__ = [
    "MAX_CALLER_OTHER",
    "MAX_NOTE",
    "WRAPUP_OUTCOMES",
    "Call",
    "CallFinished",
    "CallLog",
    "CallLogEntry",
    "CallLogError",
    "CallLogSpool",
    "CallLogUnavailable",
    "CallNotFound",
    "CallRecord",
    "CallTracker",
    "CallerLocator",
    "Contact",
    "MatchLike",
    "Member",
    "Membership",
    "Outcome",
    "Outgoing",
    "PopDue",
    "ResyncLike",
    "Ring",
    "SeatDirectory",
    "StateService",
    "ToAgent",
    "ToBroadcast",
    "WrapupRejected",
    "display_text",
    "member_from_event",
    "member_seat",
    "pop_message",
    "pop_resident",
    "queue_language",
    "recent_contacts",
    "save_caller",
]
