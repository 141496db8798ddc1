"""Reading the report's rows: the call log, the duty periods and the callbacks of [start, end)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.callbacks.models import AttemptRow
from cti.callbacks.models import CallbackRow as CallbackTable
from cti.reports.figures import CallbackRow, CallRow, PeriodRow, Report, build
from cti.state import CallLogEntry
from queues.membership.tables import DutyPeriod


def _aware(value: datetime) -> datetime:
    # SQLite gives back naive datetimes; every one the server writes is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def load_report(engine: AsyncEngine, start: datetime, end: datetime, tz: tzinfo) -> Report:
    """The report of [start, end) from the database."""
    async with engine.connect() as conn:
        calls = [
            CallRow(q, lang, agent, _aware(joined), waited, talked, outcome)
            for q, lang, agent, joined, waited, talked, outcome in await conn.execute(
                select(
                    CallLogEntry.queue,
                    CallLogEntry.language,
                    CallLogEntry.agent,
                    CallLogEntry.joined_at,
                    CallLogEntry.waited_s,
                    CallLogEntry.talked_s,
                    CallLogEntry.outcome,
                ).where(CallLogEntry.joined_at >= start, CallLogEntry.joined_at < end)
            )
        ]
        periods = [
            PeriodRow(agent, status, reason, _aware(began), _aware(ended))
            for agent, status, reason, began, ended in await conn.execute(
                select(
                    DutyPeriod.agent,
                    DutyPeriod.status,
                    DutyPeriod.reason,
                    DutyPeriod.started_at,
                    DutyPeriod.ended_at,
                ).where(DutyPeriod.ended_at > start, DutyPeriod.started_at < end)
            )
        ]
        first_agent = {
            callback_id: agent
            for callback_id, agent in await conn.execute(
                select(AttemptRow.callback_id, AttemptRow.agent)
                .join(CallbackTable, CallbackTable.id == AttemptRow.callback_id)
                .where(CallbackTable.abandoned_at >= start, CallbackTable.abandoned_at < end)
                .order_by(AttemptRow.id.desc())
            )
        }  # descending: the first attempt's agent is written last
        callbacks = [
            CallbackRow(
                priority,
                _aware(deadline),
                _aware(placed) if placed else None,
                first_agent.get(callback_id),
                status,
            )
            for callback_id, priority, deadline, placed, status in await conn.execute(
                select(
                    CallbackTable.id,
                    CallbackTable.priority,
                    CallbackTable.deadline_at,
                    CallbackTable.first_placed_at,
                    CallbackTable.status,
                ).where(CallbackTable.abandoned_at >= start, CallbackTable.abandoned_at < end)
            )
        ]
    return build(start, end, calls, periods, callbacks, tz)
