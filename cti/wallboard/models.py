"""What the wallboard shows: per-queue counters of the day and each member's state, as values.

`QueueDay` is the one mutable counter set (per queue, per local day); everything handed to
HTTP and WebSocket clients is a frozen value built from it (`QueueBoard`, `AgentBoard`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

# The hotline's promise: a caller is answered within 15 s (q-zh's `servicelevel = 15`, 18).
ANSWER_TARGET_S: Final = 15.0

SeatState: TypeAlias = Literal[
    "available", "ringing", "talking", "after_call_work", "paused", "unavailable"
]
SEAT_STATES: Final[tuple[SeatState, ...]] = (
    "available",
    "ringing",
    "talking",
    "after_call_work",
    "paused",
    "unavailable",
)


@dataclass(slots=True)
class QueueDay:
    """One queue's counts since local midnight, from the AMI events.

    `offered`: callers who joined; `answered`: AgentConnect; `answered_in_target`: those
    whose HoldTime was within ANSWER_TARGET_S; `abandoned`: QueueCallerAbandon; `completed`:
    AgentComplete (the talk is over). Sums are seconds, for averages.
    """

    offered: int = 0
    answered: int = 0
    answered_in_target: int = 0
    abandoned: int = 0
    completed: int = 0
    wait_sum_s: float = 0.0
    talk_sum_s: float = 0.0

    @property
    def answered_in_target_pct(self) -> float | None:
        """Of the answered calls, the share answered within the target (None: none yet)."""
        return _pct(self.answered_in_target, self.answered)

    @property
    def service_level_pct(self) -> float | None:
        """Answered within the target, of every caller who got an answer or gave up waiting
        (an abandoned caller counts against it, unlike Asterisk's ServicelevelPerf)."""
        return _pct(self.answered_in_target, self.answered + self.abandoned)


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True, slots=True)
class AsteriskQueue:
    """A queue as Asterisk's `QueueStatus` (`QueueParams` + `QueueEntry`) last reported it.

    Asterisk's counters run since its start or the last `queue reset stats`, not since
    midnight; only their change between two readings is compared with ours.
    """

    queue: str
    waiting: int
    longest_wait_s: float
    completed: int
    abandoned: int
    service_level_s: int
    service_level_perf: float  # ServicelevelPerf: answered within the level, % of answered
    at: float


@dataclass(frozen=True, slots=True)
class Difference:
    """One count where our events and Asterisk disagree (`what`: waiting, completed…)."""

    queue: str
    what: str
    ours: int
    asterisk: int

    def as_dict(self) -> dict[str, object]:
        """As the board and the log show it."""
        return {
            "queue": self.queue,
            "what": self.what,
            "ours": self.ours,
            "asterisk": self.asterisk,
        }


@dataclass(frozen=True, slots=True)
class Check:
    """The last comparison of our counts with Asterisk's (`at`: epoch seconds)."""

    at: float
    differences: tuple[Difference, ...] = field(default=())

    @property
    def agrees(self) -> bool:
        """True when every compared count matched."""
        return not self.differences
