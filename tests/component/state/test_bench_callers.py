"""The pop bench's callers (`scripts/bench-pop --callers`): registered, every caller of the
recording is a resident with next of kin, so every pop it times carries a card, as for the
hotline's callers; unknown, none is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from cti.db import create_engine, upgrade
from cti.settings import LocatorSettings
from cti.state.bench import DEFAULT_TRACE, REGISTERED_RESIDENTS, bench_residents, trace_callers
from locator import Locator, save_residents


@asynccontextmanager
async def _locator(tmp_path: Path, callers: str) -> AsyncIterator[Locator]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / f'{callers}.sqlite3'}")
    try:
        await upgrade(engine)
        await save_residents(engine, bench_residents(callers, DEFAULT_TRACE))
        locator = await Locator.open(engine, LocatorSettings())
        try:
            yield locator
        finally:
            await locator.close()
    finally:
        await engine.dispose()


async def test_registered_callers_are_residents_with_next_of_kin_among_ten_thousand(
    tmp_path: Path,
) -> None:
    callers = trace_callers(DEFAULT_TRACE)
    assert len(callers) == 60  # the 08 burst: 60 callers, mobiles, landlines and Korean mobiles
    assert len(bench_residents("registered", DEFAULT_TRACE)) == REGISTERED_RESIDENTS
    async with _locator(tmp_path, "registered") as locator:
        for number in callers:
            match = locator.lookup(number)
            assert any(card.next_of_kin for card in match.residents), number


async def test_unknown_callers_match_nobody(tmp_path: Path) -> None:
    async with _locator(tmp_path, "unknown") as locator:
        assert all(not locator.lookup(n).residents for n in trace_callers(DEFAULT_TRACE))
