"""Queues: the queue/language registry, and who serves which queue (membership, pauses)."""

from queues.membership import (
    ACW_REASON,
    PAUSE_REASONS,
    BadPauseReason,
    DutyStore,
    MemberInterfaces,
    MembershipService,
    MemoryDutyStore,
    NotOnDuty,
    SeatDuty,
    SqlDutyStore,
    Wanted,
)
from queues.registry import QUEUES, QueueDef, language_of_queue, queue_for_language

__all__ = [
    "ACW_REASON",
    "PAUSE_REASONS",
    "QUEUES",
    "BadPauseReason",
    "DutyStore",
    "MemberInterfaces",
    "MembershipService",
    "MemoryDutyStore",
    "NotOnDuty",
    "QueueDef",
    "SeatDuty",
    "SqlDutyStore",
    "Wanted",
    "language_of_queue",
    "queue_for_language",
]
