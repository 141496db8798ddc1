"""The privacy audit of the cards pops showed is written a moment after them, all in one
transaction (`AUDIT_LINGER_S`), not one transaction right behind each pop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import text

from cti.bus import InProcessBus
from cti.db import create_engine, upgrade
from cti.settings import LocatorSettings
from cti.state import CallTracker, StateService
from cti.state.bench import DEFAULT_TRACE, bench_residents
from locator import Locator, save_residents
from seats import SeatDirectory
from tests.support.recordings import recording_events


async def test_a_burst_of_pops_is_audited_once_after_the_linger(tmp_path: Path) -> None:
    # The 08 burst: 60 calls rung within ~3 s of Asterisk time, replayed here at once; every
    # caller is a registered resident (the pop bench's registry).
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'audit.sqlite3'}")
    await upgrade(engine)
    await save_residents(engine, bench_residents("registered", DEFAULT_TRACE))
    locator = await Locator.open(engine, LocatorSettings())
    transactions: list[int] = []
    record_views = locator.record_views

    async def counted(views: Sequence[tuple[Iterable[str], str, str | None]]) -> None:
        transactions.append(len(views))
        await record_views(views)

    locator.record_views = counted  # type: ignore[method-assign]
    seats = SeatDirectory()
    for n in range(1, 61):
        seats.login(f"agent{n:02d}", f"seat{n:02d}")
    state = StateService(CallTracker(seats), InProcessBus(), locator, audit_linger_s=0.3)
    writer = asyncio.create_task(state.run())
    try:
        for event in recording_events(DEFAULT_TRACE):
            await state.on_event(event)
        await asyncio.sleep(0.1)
        assert transactions == []  # within the linger: nothing written yet
        await asyncio.sleep(0.4)
        assert transactions == [60]  # then every pop's cards, in one transaction
        async with engine.connect() as conn:
            calls = (
                await conn.execute(text("SELECT count(DISTINCT call_id) FROM resident_view"))
            ).scalar_one()
        assert calls == 60
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await locator.close()
        await engine.dispose()


async def test_a_flush_does_not_wait_for_the_linger(tmp_path: Path) -> None:
    # A wrap-up waits for its call's row (`flush`); an audit lingering meanwhile is written
    # at once rather than holding the agent's save for the rest of the linger.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'audit.sqlite3'}")
    await upgrade(engine)
    await save_residents(engine, bench_residents("registered", DEFAULT_TRACE))
    locator = await Locator.open(engine, LocatorSettings())
    seats = SeatDirectory()
    for n in range(1, 61):
        seats.login(f"agent{n:02d}", f"seat{n:02d}")
    state = StateService(CallTracker(seats), InProcessBus(), locator, audit_linger_s=30.0)
    writer = asyncio.create_task(state.run())
    try:
        for event in recording_events(DEFAULT_TRACE):
            await state.on_event(event)
        await asyncio.wait_for(state.flush(), 10.0)  # not the 30 s linger
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT count(*) FROM resident_view"))).scalar_one()
        assert rows >= 60
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await locator.close()
        await engine.dispose()
