"""The privacy audit of the cards pops showed is written a moment after them, all in one
transaction (`AUDIT_LINGER_S`), not one transaction right behind each pop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.bus import InProcessBus
from cti.state import CallTracker, StateService
from cti.state.bench import DEFAULT_TRACE
from seats import SeatDirectory
from tests.support.bench_registry import bench_locator
from tests.support.recordings import recording_events


@asynccontextmanager
async def _burst_rung(
    tmp_path: Path, linger_s: float, transactions: list[int]
) -> AsyncIterator[tuple[StateService, AsyncEngine]]:
    """The 08 burst (60 calls rung within ~3 s of Asterisk time) replayed at once to a state
    service whose audit lingers `linger_s`; every caller is a registered resident (the pop
    bench's registry). Each audit transaction's number of views goes to `transactions`."""
    async with bench_locator(tmp_path, "registered") as (locator, engine):
        record_views = locator.record_views

        async def counted(views: Sequence[tuple[Iterable[str], str, str | None]]) -> None:
            transactions.append(len(views))
            await record_views(views)

        locator.record_views = counted  # type: ignore[method-assign]
        seats = SeatDirectory()
        for n in range(1, 61):
            seats.login(f"agent{n:02d}", f"seat{n:02d}")
        state = StateService(CallTracker(seats), InProcessBus(), locator, audit_linger_s=linger_s)
        writer = asyncio.create_task(state.run())
        try:
            for event in recording_events(DEFAULT_TRACE):
                await state.on_event(event)
            yield state, engine
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        count: int = (await conn.execute(text(sql))).scalar_one()
        return count


async def test_a_burst_of_pops_is_audited_once_after_the_linger(tmp_path: Path) -> None:
    transactions: list[int] = []
    async with _burst_rung(tmp_path, 0.3, transactions) as (_, engine):
        await asyncio.sleep(0.1)
        assert transactions == []  # within the linger: nothing written yet
        await asyncio.sleep(0.4)
        assert transactions == [60]  # then every pop's cards, in one transaction
        calls = await _count(engine, "SELECT count(DISTINCT call_id) FROM resident_view")
        assert calls == 60


async def test_a_flush_does_not_wait_for_the_linger(tmp_path: Path) -> None:
    # A wrap-up waits for its call's row (`flush`); an audit lingering meanwhile is written
    # at once rather than holding the agent's save for the rest of the linger.
    async with _burst_rung(tmp_path, 30.0, []) as (state, engine):
        await asyncio.wait_for(state.flush(), 10.0)  # not the 30 s linger
        assert await _count(engine, "SELECT count(*) FROM resident_view") >= 60
