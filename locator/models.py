"""The registry tables: residents, their phones, next of kin, households, views, version.

Phones are stored normalised (E.164) in their own table so a lookup index is a plain join.
Health notes live on `Resident` but never leave this package in a `ResidentCard`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cti.db import Base


class Household(Base):
    """Residents who share a landline (e.g. an elderly couple): one ring, several cards."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)


class Resident(Base):
    """One elderly resident of the archive, keyed by the archive's id (编号)."""

    __tablename__ = "resident"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    sex: Mapped[str | None] = mapped_column(String(1))  # "M" / "F"
    birth_date: Mapped[date | None] = mapped_column(Date)
    community: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    # The address split into what a dispatcher asks for; empty when it did not parse.
    addr_district: Mapped[str] = mapped_column(String(50), default="")
    addr_street: Mapped[str] = mapped_column(String(100), default="")
    addr_number: Mapped[str] = mapped_column(String(50), default="")
    addr_unit: Mapped[str] = mapped_column(String(50), default="")
    addr_room: Mapped[str] = mapped_column(String(50), default="")
    language: Mapped[str] = mapped_column(String(8), default="zh")
    lives_alone: Mapped[bool] = mapped_column(Boolean, default=False)
    empty_nest: Mapped[bool] = mapped_column(Boolean, default=False)
    lost_only_child: Mapped[bool] = mapped_column(Boolean, default=False)
    # Sensitive: never in a ResidentCard or a log; read through Locator.health_notes().
    health_notes: Mapped[str] = mapped_column(Text, default="", info={"sensitive": True})
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("household.id", ondelete="SET NULL"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ResidentPhone(Base):
    """A resident's number, E.164; `kind` is "landline" or "mobile"."""

    __tablename__ = "resident_phone"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(
        ForeignKey("resident.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(Integer, default=0)


class NextOfKin(Base):
    """Whom to call for a resident, in calling order (`position` 0 first)."""

    __tablename__ = "next_of_kin"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(
        ForeignKey("resident.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    relation: Mapped[str] = mapped_column(String(50), default="")
    phones: Mapped[list[str]] = mapped_column(JSON, default=list)


class ResidentView(Base):
    """Privacy audit and contact history: who was shown which resident, when, on which call."""

    __tablename__ = "resident_view"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(String(32), index=True)
    viewer: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[str | None] = mapped_column(String(64), index=True)
    what: Mapped[str] = mapped_column(String(20), default="card")  # "card" / "health_notes"
    viewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class RegistryVersion(Base):
    """One row whose counter goes up on every change; other processes poll it cheaply."""

    __tablename__ = "registry_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
