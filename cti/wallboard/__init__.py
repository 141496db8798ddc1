"""The supervisors' wallboard: the room at a glance, counted from AMI events and checked
against Asterisk's QueueStatus; served to supervisors only (`/wallboard`)."""

from cti.wallboard.models import ANSWER_TARGET_S, Check, Difference, QueueDay
from cti.wallboard.room import Room, member_state
from cti.wallboard.service import WallboardService

__all__ = [
    "ANSWER_TARGET_S",
    "Check",
    "Difference",
    "QueueDay",
    "Room",
    "WallboardService",
    "member_state",
]
