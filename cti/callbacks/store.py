"""The callbacks' database: every change one short transaction, claims decided by the row.

A claim is `UPDATE … WHERE status = 'pending'`: of two agents (or two nodes) claiming the
same callback, exactly one row is changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Insert, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cti.callbacks.models import (
    OPEN_STATUSES,
    AttemptRow,
    Callback,
    CallbackCallRow,
    CallbackRow,
    attempt_of,
    callback_of,
)


def aware(value: datetime) -> datetime:
    """SQLite gives back naive datetimes; every one we write is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _fixed(cb: Callback) -> Callback:
    attempts = tuple(
        replace(
            a,
            placed_at=aware(a.placed_at),
            ended_at=aware(a.ended_at) if a.ended_at else None,
        )
        for a in cb.attempts
    )
    return replace(
        cb,
        abandoned_at=aware(cb.abandoned_at),
        deadline_at=aware(cb.deadline_at),
        closed_at=aware(cb.closed_at) if cb.closed_at else None,
        attempts=attempts,
    )


class CallbackStore:
    """Reads and writes `callback` and `callback_attempt`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_abandoned(
        self,
        *,
        call_id: str,
        number: str | None,
        queue: str,
        language: str | None,
        resident_ids: Sequence[str],
        priority: int,
        emergency: bool,
        abandoned_at: datetime,
        deadline_at: datetime,
    ) -> int | None:
        """Add an abandoned call; a caller already waiting for a callback is not added twice
        (their callback is raised to the higher priority and counts the repeat). The id of
        the new or updated callback; None when the call was already there (a replay)."""
        async with self._engine.begin() as conn:
            # First of the nodes that saw this call end (the others' inserts wait, then do
            # nothing): the call is handled once, a repeat caller's count raised once.
            first = await conn.scalar(self._first_time().values(call_id=call_id))
            if first is None:
                return None
            seen = await conn.scalar(select(CallbackRow.id).where(CallbackRow.call_id == call_id))
            if seen is not None:
                return None
            if number:
                open_id = await conn.scalar(
                    select(CallbackRow.id)
                    .where(CallbackRow.number == number, CallbackRow.status.in_(OPEN_STATUSES))
                    .order_by(CallbackRow.id)
                    .limit(1)
                )
                if open_id is not None:
                    row = (
                        await conn.execute(select(CallbackRow).where(CallbackRow.id == open_id))
                    ).one()
                    await conn.execute(
                        update(CallbackRow)
                        .where(CallbackRow.id == open_id)
                        .values(
                            repeats=row.repeats + 1,
                            priority=min(row.priority, priority),
                            emergency=row.emergency or emergency,
                            deadline_at=min(aware(row.deadline_at), deadline_at),
                        )
                    )
                    await self._handled(conn, call_id, int(open_id))
                    return int(open_id)
            result = await conn.execute(
                insert(CallbackRow).values(
                    call_id=call_id,
                    number=number,
                    queue=queue,
                    language=language,
                    resident_ids=" ".join(resident_ids)[:500],
                    priority=priority,
                    emergency=emergency,
                    abandoned_at=abandoned_at,
                    deadline_at=deadline_at,
                    repeats=0,
                    status="pending",
                )
            )
            key = result.inserted_primary_key
            if not key:
                return None
            await self._handled(conn, call_id, int(key[0]))
            return int(key[0])

    def _first_time(self) -> Insert:
        if self._engine.dialect.name == "postgresql":
            stmt: Insert = postgresql.insert(CallbackCallRow).on_conflict_do_nothing()
        elif self._engine.dialect.name == "sqlite":
            stmt = sqlite.insert(CallbackCallRow).on_conflict_do_nothing()
        else:
            stmt = insert(CallbackCallRow)
        return stmt.returning(CallbackCallRow.call_id)

    @staticmethod
    async def _handled(conn: AsyncConnection, call_id: str, callback_id: int) -> None:
        await conn.execute(
            update(CallbackCallRow)
            .where(CallbackCallRow.call_id == call_id)
            .values(callback_id=callback_id)
        )

    async def clear_for_number(self, number: str, at: datetime) -> list[int]:
        """The caller called in again and was answered: their open callbacks (none being
        placed) are cleared. The ids cleared."""
        async with self._engine.begin() as conn:
            ids = list(
                await conn.scalars(
                    select(CallbackRow.id).where(
                        CallbackRow.number == number, CallbackRow.status.in_(OPEN_STATUSES)
                    )
                )
            )
            placing = set(
                await conn.scalars(
                    select(AttemptRow.callback_id).where(
                        AttemptRow.callback_id.in_(ids), AttemptRow.result == "placing"
                    )
                )
            )
            cleared = [i for i in ids if i not in placing]
            if cleared:
                await conn.execute(
                    update(CallbackRow)
                    .where(CallbackRow.id.in_(cleared))
                    .values(status="cleared", outcome="called_in", closed_at=at)
                )
            return cleared

    async def get(self, callback_id: int) -> Callback | None:
        """One callback with its attempts."""
        found = await self._load(CallbackRow.id == callback_id)
        return found[0] if found else None

    async def listing(self, closed_since: datetime) -> list[Callback]:
        """Open callbacks, and those closed since `closed_since`."""
        return await self._load(
            CallbackRow.status.in_(OPEN_STATUSES) | (CallbackRow.closed_at >= closed_since)
        )

    async def between(self, start: datetime, end: datetime) -> list[Callback]:
        """Callbacks of calls abandoned in [start, end) (for reports)."""
        return await self._load(
            (CallbackRow.abandoned_at >= start) & (CallbackRow.abandoned_at < end)
        )

    async def _load(self, where: object) -> list[Callback]:
        async with self._engine.connect() as conn:
            rows = list((await conn.execute(select(CallbackRow).where(where))).all())  # type: ignore[arg-type]
            ids = [r.id for r in rows]
            attempts: dict[int, list[AttemptRow]] = {}
            if ids:
                for a in await conn.execute(
                    select(AttemptRow)
                    .where(AttemptRow.callback_id.in_(ids))
                    .order_by(AttemptRow.id)
                ):
                    attempts.setdefault(a.callback_id, []).append(a)  # type: ignore[arg-type]
        return [
            _fixed(
                callback_of(
                    r,  # type: ignore[arg-type]
                    tuple(attempt_of(a) for a in attempts.get(r.id, [])),
                )
            )
            for r in rows
        ]

    async def claim(self, callback_id: int, agent: str, at: datetime) -> bool:
        """Claim a pending callback for `agent`; False when it is not pending any more."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(CallbackRow)
                .where(CallbackRow.id == callback_id, CallbackRow.status == "pending")
                .values(status="claimed", claimed_by=agent, claimed_at=at)
            )
            return bool(result.rowcount)

    async def release(self, callback_id: int, agent: str) -> bool:
        """Hand a claimed callback back to the list."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(CallbackRow)
                .where(
                    CallbackRow.id == callback_id,
                    CallbackRow.status == "claimed",
                    CallbackRow.claimed_by == agent,
                )
                .values(status="pending", claimed_by=None, claimed_at=None)
            )
            return bool(result.rowcount)

    async def add_attempt(
        self, callback_id: int, agent: str, seat: str, number: str, target: str, at: datetime
    ) -> int:
        """A new attempt, `placing`; its id names its channels."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                insert(AttemptRow).values(
                    callback_id=callback_id,
                    agent=agent,
                    seat=seat,
                    number=number,
                    target=target,
                    placed_at=at,
                    result="placing",
                )
            )
            await conn.execute(
                update(CallbackRow)
                .where(CallbackRow.id == callback_id, CallbackRow.first_placed_at.is_(None))
                .values(first_placed_at=at)
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    async def set_result(
        self, attempt_id: int, result: str, detail: str | None, ended_at: datetime | None
    ) -> int | None:
        """Record an attempt's result (only while it is `placing`); its callback's id."""
        async with self._engine.begin() as conn:
            values: dict[str, object] = {"result": result, "detail": (detail or None)}
            if ended_at is not None:
                values["ended_at"] = ended_at
            done = await conn.execute(
                update(AttemptRow)
                .where(AttemptRow.id == attempt_id, AttemptRow.result == "placing")
                .values(**values)
            )
            if not done.rowcount:
                return None
            found = await conn.scalar(
                select(AttemptRow.callback_id).where(AttemptRow.id == attempt_id)
            )
            return int(found) if found is not None else None

    async def set_ended(self, attempt_id: int, at: datetime) -> None:
        """The attempt's call is over."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(AttemptRow).where(AttemptRow.id == attempt_id).values(ended_at=at)
            )

    async def placing_older_than(self, before: datetime) -> list[int]:
        """Attempts still `placing` that were placed before `before`."""
        async with self._engine.connect() as conn:
            return list(
                await conn.scalars(
                    select(AttemptRow.id).where(
                        AttemptRow.result == "placing", AttemptRow.placed_at < before
                    )
                )
            )

    async def close(
        self, callback_id: int, agent: str, outcome: str, note: str, at: datetime, *, done: bool
    ) -> bool:
        """Record the agent's outcome: closes the callback (`done`) or hands it back."""
        values: dict[str, object] = {"outcome": outcome, "note": note or None}
        if done:
            values.update(status="done", closed_by=agent, closed_at=at)
        else:
            values.update(status="pending", claimed_by=None, claimed_at=None)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(CallbackRow)
                .where(
                    CallbackRow.id == callback_id,
                    CallbackRow.status == "claimed",
                    CallbackRow.claimed_by == agent,
                )
                .values(**values)
            )
            return bool(result.rowcount)
