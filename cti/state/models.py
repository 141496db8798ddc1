"""The call log table: one row per finished call, and the agent's wrap-up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cti.db import Base


class CallLogEntry(Base):
    """A finished call: who called, which residents matched, who answered, how it ended.

    `caller_number` is the number as Asterisk gave it (the log is the record); it is never
    written to the application logger. `resident_ids` is a space-separated list. `rings`: each
    ring's outcome (`cti.state.messages.RingOutcome`); `hung_up_by`: caller, agent or transfer.
    """

    __tablename__ = "call_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    queue: Mapped[str] = mapped_column(String(64), index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    caller_number: Mapped[str | None] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(200))
    resident_ids: Mapped[str] = mapped_column(String(500), default="")
    agent: Mapped[str | None] = mapped_column(String(64), index=True)
    seat: Mapped[str | None] = mapped_column(String(32))
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    waited_s: Mapped[float] = mapped_column(Float)
    talked_s: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(16))
    closed_on_resync: Mapped[bool] = mapped_column(Boolean, default=False)
    # Every ring in order, JSON: [{"agent": "a07", "seat": "seat07", "outcome": "no_answer"}]
    rings: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    hung_up_by: Mapped[str | None] = mapped_column(String(16))  # AgentComplete's Reason
    wrapup_outcome: Mapped[str | None] = mapped_column(String(32))
    wrapup_note: Mapped[str | None] = mapped_column(Text)
    wrapup_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who called, saved with the wrap-up: a resident id, or "someone else" in the agent's words.
    caller_resident: Mapped[str | None] = mapped_column(String(32), index=True)
    caller_other: Mapped[str | None] = mapped_column(String(200))
