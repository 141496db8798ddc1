"""The call log: finished calls written, wrap-ups saved (SQLAlchemy, async)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from cti.state.models import CallLogEntry
from cti.state.outgoing import CallRecord

# What the agent can pick after a call (the same ids as the agent page's form).
WRAPUP_OUTCOMES: Final = ("resolved", "handed_over", "callback", "emergency", "other")
MAX_NOTE: Final = 2000


class CallLogError(Exception):
    """Base of the call-log errors."""


class CallNotFound(CallLogError, LookupError):
    """No finished call with this id, or it was not this agent's call."""


class WrapupRejected(CallLogError, ValueError):
    """The wrap-up cannot be taken: bad outcome, note too long, call not completed yet."""


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _row(record: CallRecord, resident_ids: Sequence[str]) -> dict[str, Any]:
    return {
        "call_id": record.call_id,
        "queue": record.queue,
        "language": record.language,
        "caller_number": record.caller_number,
        "caller_name": record.caller_name,
        "resident_ids": " ".join(resident_ids),
        "agent": record.agent_id,
        "seat": record.seat,
        "joined_at": _utc(record.joined_at),
        "ended_at": _utc(record.ended_at),
        "waited_s": record.waited_s,
        "talked_s": record.talked_s,
        "outcome": record.outcome,
        "closed_on_resync": record.closed_on_resync,
    }


class CallLog:
    """Reads and writes `call_log` rows."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def record(self, record: CallRecord, resident_ids: Sequence[str] = ()) -> bool:
        """Write a finished call. False (and nothing written) when it is already logged."""
        return await self.record_many([(record, resident_ids)]) == 1

    async def record_many(self, calls: Sequence[tuple[CallRecord, Sequence[str]]]) -> int:
        """Write finished calls in one transaction; returns how many were new.

        One multi-row INSERT (Core, not the ORM: this runs on the event loop between pops);
        if a call is already logged, the rows are written one by one, skipping it.
        """
        rows = [_row(record, ids) for record, ids in calls]
        if not rows:
            return 0
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(CallLogEntry), rows)
            return len(rows)
        except IntegrityError:
            pass
        written = 0
        for row in rows:
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(insert(CallLogEntry), [row])
                written += 1
            except IntegrityError:
                continue
        return written

    async def get(self, call_id: str) -> CallLogEntry | None:
        """The logged call, or None."""
        async with self._sessions() as session:
            return await session.scalar(select(CallLogEntry).where(CallLogEntry.call_id == call_id))

    async def save_wrapup(self, call_id: str, agent: str, outcome: str, note: str) -> None:
        """Store the agent's wrap-up on their answered call; a second save replaces the first.

        Raises CallNotFound when the call is not logged or another agent answered it, and
        WrapupRejected for an unknown outcome or a note over MAX_NOTE characters.
        """
        if outcome not in WRAPUP_OUTCOMES:
            raise WrapupRejected(f"outcome must be one of {', '.join(WRAPUP_OUTCOMES)}")
        if len(note) > MAX_NOTE:
            raise WrapupRejected(f"note is longer than {MAX_NOTE} characters")
        async with self._sessions() as session:
            entry = await session.scalar(
                select(CallLogEntry).where(CallLogEntry.call_id == call_id)
            )
            if entry is None or entry.agent != agent:
                raise CallNotFound(call_id)
            entry.wrapup_outcome = outcome
            entry.wrapup_note = note
            entry.wrapup_at = datetime.now(UTC)
            await session.commit()
