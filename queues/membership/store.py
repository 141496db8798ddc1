"""Where the duty of each seat is kept across restarts (`seat_duty`) and time per state goes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from queues.membership.models import DutyStatus, SeatDuty, Wanted
from queues.membership.tables import DutyPeriod, SeatDutyRow

_STATUSES: tuple[DutyStatus, ...] = ("ready", "paused", "on_call", "after_call_work")


class DutyStore(Protocol):
    """Keeps the seats' duty and the agents' time per state."""

    async def load(self) -> list[SeatDuty]:
        """Every seat duty saved (read once at start)."""
        ...

    async def save(self, duty: SeatDuty) -> None:
        """Create or replace the seat's row."""
        ...

    async def delete(self, seat: str) -> None:
        """Forget the seat (its agent logged out)."""
        ...

    async def log_period(self, duty: SeatDuty, ended: float) -> None:
        """The agent spent `duty.since` → `ended` in `duty.status` (and reason)."""
        ...


def _dt(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives naive datetimes back
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def encode_queues(queues: tuple[Wanted, ...]) -> str:
    """`q-zh:0 q-en:1`."""
    return " ".join(f"{w.queue}:{w.penalty}" for w in queues)


def decode_queues(text: str) -> tuple[Wanted, ...]:
    """The inverse of `encode_queues`; a malformed item is skipped."""
    wanted = []
    for item in text.split():
        queue, _, pen = item.rpartition(":")
        if queue and pen.isdigit():
            wanted.append(Wanted(queue, int(pen)))
    return tuple(wanted)


class SqlDutyStore:
    """`DutyStore` over the `seat_duty` and `duty_period` tables."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def load(self) -> list[SeatDuty]:
        """Every seat duty saved."""
        async with self._sessions() as session:
            rows = (await session.scalars(select(SeatDutyRow))).all()
        duties = []
        for row in rows:
            status: DutyStatus = row.status if row.status in _STATUSES else "paused"
            duties.append(
                SeatDuty(
                    seat=row.seat,
                    agent=row.agent,
                    queues=decode_queues(row.queues),
                    status=status,
                    reason=row.reason,
                    since=_epoch(row.since) or 0.0,
                    acw_until=_epoch(row.acw_until),
                    acw_call_id=row.acw_call_id,
                )
            )
        return duties

    async def save(self, duty: SeatDuty) -> None:
        """Create or replace the seat's row."""
        async with self._sessions.begin() as session:
            row = await session.get(SeatDutyRow, duty.seat)
            if row is None:
                row = SeatDutyRow(seat=duty.seat)
                session.add(row)
            row.agent = duty.agent
            row.queues = encode_queues(duty.queues)
            row.status = duty.status
            row.reason = duty.reason
            row.since = _dt(duty.since) or datetime.now(UTC)
            row.acw_until = _dt(duty.acw_until)
            row.acw_call_id = duty.acw_call_id

    async def delete(self, seat: str) -> None:
        """Forget the seat."""
        async with self._sessions.begin() as session:
            await session.execute(delete(SeatDutyRow).where(SeatDutyRow.seat == seat))

    async def log_period(self, duty: SeatDuty, ended: float) -> None:
        """One row of time spent in a state."""
        async with self._sessions.begin() as session:
            session.add(
                DutyPeriod(
                    agent=duty.agent,
                    seat=duty.seat,
                    status=duty.status,
                    reason=duty.pbx_reason or None,
                    started_at=_dt(duty.since),
                    ended_at=_dt(ended),
                    seconds=max(0.0, ended - duty.since),
                )
            )

    async def periods(self, agent: str) -> list[DutyPeriod]:
        """The agent's periods, oldest first (for reports and tests)."""
        async with self._sessions() as session:
            query = select(DutyPeriod).where(DutyPeriod.agent == agent).order_by(DutyPeriod.id)
            return list((await session.scalars(query)).all())


class MemoryDutyStore:
    """`DutyStore` in memory: for tests, the demo's throw-away runs and benchmarks."""

    def __init__(self) -> None:
        self.rows: dict[str, SeatDuty] = {}
        self.logged: list[tuple[SeatDuty, float]] = []

    async def load(self) -> list[SeatDuty]:
        """Every seat duty saved."""
        return list(self.rows.values())

    async def save(self, duty: SeatDuty) -> None:
        """Create or replace the seat's row."""
        self.rows[duty.seat] = duty

    async def delete(self, seat: str) -> None:
        """Forget the seat."""
        self.rows.pop(seat, None)

    async def log_period(self, duty: SeatDuty, ended: float) -> None:
        """Keep the period."""
        self.logged.append((duty, ended))
