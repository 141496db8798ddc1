"""Who should take calls: each seat's desired queues, penalties and pause, as plain values."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final, Literal, TypeAlias

# What an agent may pick on the page when they step away.
PAUSE_REASONS: Final = ("break", "meal", "training", "meeting")
# Why the server itself holds a seat out of the ring list for a while (not the agent's pick).
HOLD_REASONS: Final = ("callback",)
# The reason Asterisk shows while an agent talks and then finishes the call's paperwork.
ACW_REASON: Final = "after-call-work"

DutyStatus: TypeAlias = Literal["ready", "paused", "on_call", "after_call_work"]


@dataclass(frozen=True, slots=True)
class Wanted:
    """One queue a seat should be a member of, with its penalty (0 rings first)."""

    queue: str
    penalty: int


@dataclass(frozen=True, slots=True)
class SeatDuty:
    """The desired state of one seat: the agent there, their queues, and ready or not.

    `on_call`: the agent took a call while ready; Asterisk already has them paused with
    `after-call-work` so the queue cannot ring them the moment the call ends.
    `after_call_work`: the call ended; paused until the wrap-up is saved or `acw_until`.
    Times are epoch seconds.
    """

    seat: str
    agent: str
    queues: tuple[Wanted, ...]
    status: DutyStatus = "ready"
    reason: str | None = None  # the pause reason when status is "paused"
    since: float = 0.0
    acw_until: float | None = None
    acw_call_id: str | None = None
    calls: tuple[str, ...] = field(default=())  # calls answered and not yet ended

    @property
    def paused(self) -> bool:
        """Whether Asterisk should hold this seat out of the ring list."""
        return self.status != "ready"

    @property
    def pbx_reason(self) -> str:
        """The `Reason` Asterisk should show for the pause ('' when ready)."""
        if self.status == "paused":
            return self.reason or ""
        if self.status in ("on_call", "after_call_work"):
            return ACW_REASON
        return ""

    def moved(self, status: DutyStatus, now: float, reason: str | None = None) -> SeatDuty:
        """This duty in a new status from `now` (ACW fields cleared unless set after)."""
        return replace(
            self, status=status, reason=reason, since=now, acw_until=None, acw_call_id=None
        )
