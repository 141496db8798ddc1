"""The `agent` table: one row per agent account."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, String, func, true
from sqlalchemy.orm import Mapped, mapped_column

from cti.db import Base


class Agent(Base):
    """An agent account. `languages` is a comma list (`zh,en`); the hash is argon2id.

    `home_seat` is where the agent usually sits: the login uses it when no seat is given.
    """

    __tablename__ = "agent"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    languages: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    home_seat: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # One of seats.accounts.ROLES (agent, supervisor, group_leader, duty_officer,
    # administrator, guest_expert): a supervisor may open the wallboard, an administrator /admin.
    role: Mapped[str] = mapped_column(String(16), default="agent", server_default="agent")
    # A guest expert's last day on the line (China time); NULL: no end.
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
