"""The duty tables: each seat's desired state (survives restarts) and time spent per state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cti.db import Base


class SeatDutyRow(Base):
    """One occupied seat: the agent, the queues (`q-zh:0 q-en:1`) and ready or paused.

    Read back when the server starts, so a pause survives a restart of the CTI server, and
    re-applied to Asterisk after every reconnect, so it survives a restart of Asterisk.
    """

    __tablename__ = "seat_duty"

    seat: Mapped[str] = mapped_column(String(32), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64), index=True)
    queues: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acw_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acw_call_id: Mapped[str | None] = mapped_column(String(64))


class DutyPeriod(Base):
    """A stretch of time an agent spent in one state (ready, paused: meal, after-call work).

    Written when the state ends; what the reports add up per agent, state and reason.
    """

    __tablename__ = "duty_period"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent: Mapped[str] = mapped_column(String(64), index=True)
    seat: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seconds: Mapped[float] = mapped_column(Float)
