"""Who takes calls: each seat's desired queues and pause, reconciled with Asterisk."""

from queues.membership.models import ACW_REASON, PAUSE_REASONS, DutyStatus, SeatDuty, Wanted
from queues.membership.reconcile import MemberAction, MemberInterfaces, plan
from queues.membership.reconciler import ActionSender, Reconciler
from queues.membership.service import BadPauseReason, MembershipService, NotOnDuty, queues_for
from queues.membership.store import DutyStore, MemoryDutyStore, SqlDutyStore

__all__ = [
    "ACW_REASON",
    "PAUSE_REASONS",
    "ActionSender",
    "BadPauseReason",
    "DutyStatus",
    "DutyStore",
    "MemberAction",
    "MemberInterfaces",
    "MembershipService",
    "MemoryDutyStore",
    "NotOnDuty",
    "Reconciler",
    "SeatDuty",
    "SqlDutyStore",
    "Wanted",
    "plan",
    "queues_for",
]
