"""Callbacks: the tables (`callback`, `callback_attempt`) and the values the service hands out.

A callback is one abandoned caller to call back: pending until an agent claims it, claimed
(only that agent may place it or record its outcome), then done (an outcome recorded) or
cleared (the caller called in again by themselves). Each placement is an attempt with the
result Asterisk gave; an attempt is never repeated by the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, TypeAlias

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cti.db import Base

# Lower is called back first.
PRIORITY_EMERGENCY: Final = 0
PRIORITY_ELDERLY: Final = 1
PRIORITY_OTHER: Final = 2

Status: TypeAlias = Literal["pending", "claimed", "done", "cleared"]
OPEN_STATUSES: Final = ("pending", "claimed")

# What Asterisk said about one placement (17-originate-callback.ami):
# answered / busy / no_answer: the number's DialStatus once the agent answered;
# agent_no_answer: OriginateResponse Failure Reason 3; failed: `Originate failed` or another
# failure; lost: the link dropped or no result came (it may or may not have rung).
Result: TypeAlias = Literal[
    "placing", "answered", "busy", "no_answer", "agent_no_answer", "failed", "lost"
]
FAILED_TO_REACH: Final = ("busy", "no_answer")  # the caller's number did not answer

# What the agent records. `retry_later` hands the callback back to the list.
OUTCOMES: Final = ("reached", "kin_reached", "retry_later", "unreachable", "not_needed")
CLOSING_OUTCOMES: Final = ("reached", "kin_reached", "unreachable", "not_needed")
MAX_NOTE: Final = 2000


class CallbackRow(Base):
    """One abandoned call to call back (`call_id` is the abandoned call's)."""

    __tablename__ = "callback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    number: Mapped[str | None] = mapped_column(String(64), index=True)
    queue: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    resident_ids: Mapped[str] = mapped_column(String(500), default="")
    priority: Mapped[int] = mapped_column(Integer, index=True)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    abandoned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    deadline_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    repeats: Mapped[int] = mapped_column(Integer, default=0)  # abandoned again meanwhile
    status: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_placed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CallbackCallRow(Base):
    """An abandoned call already handed to the list (by whichever node saw it end first)."""

    __tablename__ = "callback_call"

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callback.id"))


class AttemptRow(Base):
    """One Originate: the agent's seat first, then `number`. Its id names the channels."""

    __tablename__ = "callback_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callback.id"), index=True)
    agent: Mapped[str] = mapped_column(String(64))
    seat: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(16))  # caller | kin
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    result: Mapped[str] = mapped_column(String(16), default="placing")
    detail: Mapped[str | None] = mapped_column(String(200))  # Asterisk's words on a failure
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True, slots=True)
class Attempt:
    """One placement as the list shows it."""

    id: int
    agent: str
    seat: str
    number: str
    target: str
    placed_at: datetime
    result: str
    detail: str | None
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class Callback:
    """One callback with its attempts, oldest first."""

    id: int
    call_id: str
    number: str | None
    queue: str
    language: str | None
    resident_ids: tuple[str, ...]
    priority: int
    emergency: bool
    abandoned_at: datetime
    deadline_at: datetime
    repeats: int
    status: str
    claimed_by: str | None
    outcome: str | None
    note: str | None
    closed_at: datetime | None
    attempts: tuple[Attempt, ...] = ()

    @property
    def placing(self) -> Attempt | None:
        """The attempt Asterisk has not finished yet, if any."""
        return next((a for a in self.attempts if a.result == "placing"), None)


def attempt_of(row: AttemptRow) -> Attempt:
    """The frozen value of an attempt row."""
    return Attempt(
        row.id,
        row.agent,
        row.seat,
        row.number,
        row.target,
        row.placed_at,
        row.result,
        row.detail,
        row.ended_at,
    )


def callback_of(row: CallbackRow, attempts: tuple[Attempt, ...] = ()) -> Callback:
    """The frozen value of a callback row."""
    return Callback(
        row.id,
        row.call_id,
        row.number,
        row.queue,
        row.language,
        tuple(row.resident_ids.split()) if row.resident_ids else (),
        row.priority,
        row.emergency,
        row.abandoned_at,
        row.deadline_at,
        row.repeats,
        row.status,
        row.claimed_by,
        row.outcome,
        row.note,
        row.closed_at,
        attempts,
    )
