"""Reading the privacy audit: every time a resident was shown, to whom, on which call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from locator.models import ResidentView


@dataclass(frozen=True, slots=True)
class View:
    """One showing of a resident: `what` is `card` (a pop, a search, an attach) or
    `health_notes`."""

    resident_id: str
    viewer: str
    call_id: str | None
    what: str
    viewed_at: datetime


async def views_of(
    engine: AsyncEngine, resident_id: str, since: datetime | None = None
) -> list[View]:
    """Every audited view of `resident_id` (from `since`), oldest first."""
    query = select(ResidentView).where(ResidentView.resident_id == resident_id)
    if since is not None:
        query = query.where(ResidentView.viewed_at >= since)
    query = query.order_by(ResidentView.viewed_at, ResidentView.id)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [View(r.resident_id, r.viewer, r.call_id, r.what, r.viewed_at) for r in rows]
