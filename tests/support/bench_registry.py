"""The pop bench's registry (`cti.state.bench.bench_residents`) in a SQLite database, with its
Locator open: for tests of what the bench times."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from cti.db import create_engine, upgrade
from cti.settings import LocatorSettings
from cti.state.bench import DEFAULT_TRACE, bench_residents
from locator import Locator, save_residents


@asynccontextmanager
async def bench_locator(tmp_path: Path, callers: str) -> AsyncIterator[tuple[Locator, AsyncEngine]]:
    """The Locator over `bench_residents(callers, DEFAULT_TRACE)`, and its database."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / f'{callers}.sqlite3'}")
    try:
        await upgrade(engine)
        await save_residents(engine, bench_residents(callers, DEFAULT_TRACE))
        locator = await Locator.open(engine, LocatorSettings())
        try:
            yield locator, engine
        finally:
            await locator.close()
    finally:
        await engine.dispose()
