"""The change-sets' table: every applied version of the configuration (`admin_version`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cti.db import Base


class AdminVersionRow(Base):
    """One applied version: who, when, why, what each step got (JSON), and the whole
    configuration (JSON). Version 0, the built-in model, is never stored."""

    __tablename__ = "admin_version"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    author: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    comment: Mapped[str] = mapped_column(String(200))
    rollback_of: Mapped[int | None] = mapped_column(Integer)
    asterisk_applied: Mapped[bool] = mapped_column(Boolean)
    results: Mapped[str] = mapped_column(Text)
    config: Mapped[str] = mapped_column(Text)
