"""The call log: finished calls written, wrap-ups saved (SQLAlchemy, async)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Insert, String, insert, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from cti.state.models import CallLogEntry
from cti.state.outgoing import CallRecord

Row = dict[str, Any]

# What the agent can pick after a call (the same ids as the agent page's form).
WRAPUP_OUTCOMES: Final = ("resolved", "handed_over", "callback", "emergency", "other")
MAX_NOTE: Final = 2000
MAX_CALLER_OTHER: Final = 200


class CallLogError(Exception):
    """Base of the call-log errors."""


class CallNotFound(CallLogError, LookupError):
    """No finished call with this id, or it was not this agent's call."""


class WrapupRejected(CallLogError, ValueError):
    """The wrap-up cannot be taken: bad outcome, note too long, call not completed yet."""


class CallLogUnavailable(CallLogError, ConnectionError):
    """The database cannot be written right now (down, restarting); try again later."""


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# PostgreSQL enforces these (SQLite does not); read from the table so there is one source.
_LIMITS: Final = {
    c.name: c.type.length
    for c in CallLogEntry.__table__.columns
    if isinstance(c.type, String) and c.type.length
}
TRUNCATED: Final = "…"  # ends a value cut to its column's size
_NUL_REPLACEMENT: Final = "\ufffd"  # PostgreSQL text cannot hold NUL; shown, not dropped


def storable(column: str, value: str | None) -> str | None:
    """`value` as the `call_log` column can hold it: NUL replaced, cut to size with a marker.

    Every string on its way into the call log goes through here (the one place), so a
    caller name of 300 characters or a number of 80 costs its tail, never the row.
    """
    if value is None:
        return None
    if "\x00" in value:
        value = value.replace("\x00", _NUL_REPLACEMENT)
    limit = _LIMITS.get(column)
    if limit is not None and len(value) > limit:
        value = value[: limit - len(TRUNCATED)] + TRUNCATED
    return value


def _resident_ids(ids: Sequence[str]) -> str:
    joined = " ".join(storable("resident_ids", i) or "" for i in ids)
    limit = _LIMITS["resident_ids"]
    if len(joined) <= limit:
        return joined
    # Cut between ids, so every id that is kept is whole.
    head = joined[: limit - len(TRUNCATED) - 1]
    return head[: head.rfind(" ")] + " " + TRUNCATED if " " in head else TRUNCATED


def storable_row(record: CallRecord, resident_ids: Sequence[str]) -> Row:
    """The `call_log` row of a finished call, every value storable (see `storable`)."""
    return {
        "call_id": storable("call_id", record.call_id),
        "queue": storable("queue", record.queue),
        "language": storable("language", record.language),
        "caller_number": storable("caller_number", record.caller_number),
        "caller_name": storable("caller_name", record.caller_name),
        "resident_ids": _resident_ids(resident_ids),
        "agent": storable("agent", record.agent_id),
        "seat": storable("seat", record.seat),
        "joined_at": _utc(record.joined_at),
        "ended_at": _utc(record.ended_at),
        "waited_s": record.waited_s,
        "talked_s": record.talked_s,
        "outcome": storable("outcome", record.outcome),
        "closed_on_resync": record.closed_on_resync,
        "rings": json.dumps([r.as_dict() for r in record.rings], ensure_ascii=False),
        "hung_up_by": storable("hung_up_by", record.hung_up_by),
    }


def describe_error(exc: BaseException) -> str:
    """An error's class and SQLSTATE, for logs: never its message, which may quote values
    (asyncpg quotes a refused argument, and SQLAlchemy the statement's parameters)."""
    state = _sqlstate(exc)
    name = type(exc).__name__
    orig = getattr(exc, "orig", None)
    if orig is not None:
        name += f"/{type(orig).__name__}"
    return f"{name} sqlstate={state}" if state else name


def _sqlstate(exc: BaseException) -> str | None:
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        state = getattr(seen, "sqlstate", None)
        if isinstance(state, str):
            return state
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def row_at_fault(exc: BaseException) -> bool:
    """True when the database refused this row's content (a data or integrity error), so
    trying again will not help; anything else (connection refused, server restarting, a
    timeout) means the database cannot take rows right now."""
    if isinstance(exc, IntegrityError | DataError):
        return True
    state = _sqlstate(exc)
    return state is not None and state[:2] in ("22", "23")


@dataclass(slots=True)
class WriteResult:
    """What became of rows given to `CallLog.write_rows`."""

    written: int = 0
    duplicates: int = 0
    refused: list[Row] = field(default_factory=list)  # the database refused their content
    unwritten: list[Row] = field(default_factory=list)  # the database could not be reached
    error: str | None = None  # describe_error() of the last failure


class CallLog:
    """Reads and writes `call_log` rows."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def record(self, record: CallRecord, resident_ids: Sequence[str] = ()) -> bool:
        """Write a finished call. False (and nothing written) when it is already logged."""
        return await self.record_many([(record, resident_ids)]) == 1

    async def record_many(self, calls: Sequence[tuple[CallRecord, Sequence[str]]]) -> int:
        """Write finished calls; returns how many were new (see `write_rows`)."""
        result = await self.write_rows([storable_row(record, ids) for record, ids in calls])
        return result.written

    async def write_rows(self, rows: Sequence[Row]) -> WriteResult:
        """Write `storable_row`s: one multi-row INSERT, or row by row when that fails.

        Core, not the ORM: this runs on the event loop between pops. A failed batch falls back
        to one transaction per row, so one bad row cannot sink the others: a call already
        logged is skipped, a row whose content the database refuses is given back in
        `refused`, and once the database cannot be reached the rest come back in `unwritten`.
        Never raises a database error.
        """
        result = WriteResult()
        if not rows:
            return result
        try:
            async with self._engine.begin() as conn:
                new = (await conn.execute(self._insert_new(), list(rows))).scalars().all()
            result.written = len(new)
            result.duplicates = len(rows) - len(new)
            return result
        except Exception as exc:
            result.error = describe_error(exc)
            if not row_at_fault(exc):
                result.unwritten = list(rows)
                return result
        for i, row in enumerate(rows):
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(insert(CallLogEntry), [row])
                result.written += 1
            except Exception as exc:
                result.error = describe_error(exc)
                if not row_at_fault(exc):
                    result.unwritten = list(rows[i:])
                    return result
                if isinstance(exc, IntegrityError) and await self._logged(row["call_id"]):
                    result.duplicates += 1
                else:
                    result.refused.append(row)
        return result

    def _insert_new(self) -> Insert:
        """INSERT … ON CONFLICT (call_id) DO NOTHING RETURNING call_id: several nodes write
        every call (each saw it end), the first row stays and the batch never fails on the
        others. Another database: a plain INSERT (a repeat then goes row by row)."""
        dialect = self._engine.dialect.name
        if dialect == "postgresql":
            stmt: Insert = postgresql.insert(CallLogEntry).on_conflict_do_nothing(
                index_elements=["call_id"]
            )
        elif dialect == "sqlite":
            stmt = sqlite.insert(CallLogEntry).on_conflict_do_nothing(index_elements=["call_id"])
        else:
            stmt = insert(CallLogEntry)
        return stmt.returning(CallLogEntry.call_id)

    async def _logged(self, call_id: str) -> bool:
        try:
            return await self.get(call_id) is not None
        except Exception:
            return False

    async def get(self, call_id: str) -> CallLogEntry | None:
        """The logged call, or None."""
        async with self._sessions() as session:
            return await session.scalar(select(CallLogEntry).where(CallLogEntry.call_id == call_id))

    async def save_wrapup(self, call_id: str, agent: str, outcome: str, note: str) -> None:
        """Store the agent's wrap-up on their answered call; a second save replaces the first.

        Raises CallNotFound when the call is not logged or another agent answered it,
        WrapupRejected for an unknown outcome, a note over MAX_NOTE characters or holding NUL,
        and CallLogUnavailable when the database cannot be reached.
        """
        if outcome not in WRAPUP_OUTCOMES:
            raise WrapupRejected(f"outcome must be one of {', '.join(WRAPUP_OUTCOMES)}")
        if len(note) > MAX_NOTE:
            raise WrapupRejected(f"note is longer than {MAX_NOTE} characters")
        if "\x00" in note:
            raise WrapupRejected("note must not contain NUL")
        if "\x00" in call_id:
            raise CallNotFound(call_id)  # a logged call id never holds one (see `storable`)
        try:
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
        except CallLogError:
            raise
        except Exception as exc:
            if row_at_fault(exc):
                raise
            raise CallLogUnavailable(describe_error(exc)) from None


@dataclass(frozen=True, slots=True)
class Contact:
    """One earlier call of a resident with the centre, as the pop shows it."""

    call_id: str
    ended_at: datetime
    outcome: str  # the wrap-up's outcome, else how the call ended (answered, abandoned…)
    note_line: str  # the first line of the wrap-up note, cut to 80 characters

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "call_id": self.call_id,
            "ended_at": self.ended_at.isoformat(),
            "outcome": self.outcome,
            "note": self.note_line,
        }


async def recent_contacts(
    engine: AsyncEngine, resident_id: str, *, limit: int = 3, exclude_call: str | None = None
) -> list[Contact]:
    """The resident's last `limit` calls, newest first: matched on the number, or recorded
    as the caller with a wrap-up. Never the current call (`exclude_call`)."""
    padded = literal(" ") + CallLogEntry.resident_ids + literal(" ")
    query = (
        select(CallLogEntry)
        .where(
            or_(
                CallLogEntry.caller_resident == resident_id,
                padded.like(f"% {_like_escaped(resident_id)} %", escape="\\"),
            )
        )
        .order_by(CallLogEntry.ended_at.desc())
        .limit(limit + 1)
    )
    async with async_sessionmaker(engine)() as session:
        rows = list(await session.scalars(query))
    contacts = []
    for row in rows:
        if row.call_id == exclude_call:
            continue
        note = (row.wrapup_note or "").strip().splitlines()
        line = note[0] if note else ""
        ended = row.ended_at if row.ended_at.tzinfo else row.ended_at.replace(tzinfo=UTC)
        contacts.append(Contact(row.call_id, ended, row.wrapup_outcome or row.outcome, line[:80]))
    return contacts[:limit]


def _like_escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def save_caller(
    engine: AsyncEngine, call_id: str, agent: str, resident: str | None, other: str | None
) -> None:
    """Record who called on the agent's logged call (a resident id, or someone else's words).

    Raises CallNotFound like `CallLog.save_wrapup`, CallLogUnavailable when the database
    cannot be reached.
    """
    try:
        async with async_sessionmaker(engine)() as session:
            entry = await session.scalar(
                select(CallLogEntry).where(CallLogEntry.call_id == call_id)
            )
            if entry is None or entry.agent != agent:
                raise CallNotFound(call_id)
            entry.caller_resident = storable("caller_resident", resident)
            entry.caller_other = storable("caller_other", other)
            await session.commit()
    except CallLogError:
        raise
    except Exception as exc:
        if row_at_fault(exc):
            raise
        raise CallLogUnavailable(describe_error(exc)) from None
