"""A real registry (SQLite file or a throw-away PostgreSQL database) with the sample imported,
the real Locator over it, and the call log in the same database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.db import create_engine, upgrade
from cti.settings import LocatorSettings
from locator import Locator
from tests.component.state.registry import import_sample
from tests.support.postgres import create_pg_database, drop_pg_database, pg_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: a SQLite file in tmp_path, or a PostgreSQL one dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
        return
    name = await create_pg_database("state_test")
    try:
        yield pg_url(name)
    finally:
        await drop_pg_database(name)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database (every revision, call_log included)."""
    engine = create_engine(db_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def locator(engine: AsyncEngine, registry_sample: Path) -> AsyncIterator[Locator]:
    """The real Locator over the sample residents."""
    await import_sample(engine, registry_sample, LocatorSettings())
    located = await Locator.open(engine, LocatorSettings())
    yield located
    await located.close()
