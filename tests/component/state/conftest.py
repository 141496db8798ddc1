"""A real registry (SQLite file or a throw-away PostgreSQL database) with the sample imported,
the real Locator over it, and the call log in the same database."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.db import create_engine, upgrade
from cti.settings import LocatorSettings
from locator import Locator
from tests.component.state.registry import import_sample

PG_ADMIN_DSN = os.environ.get("CTI_TEST_PG_DSN", "postgresql://root@127.0.0.1:5432/test")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: a SQLite file in tmp_path, or a PostgreSQL one dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
        return
    name = f"state_test_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
