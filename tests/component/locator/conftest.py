"""Databases for the locator's component tests: a SQLite file and a throw-away PostgreSQL one.

The PostgreSQL database is created per test session from the `test` database on
127.0.0.1:5432 (trust auth, user root) with a unique name, and dropped at the end; each test
empties the registry tables so tests do not see each other's rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.db import create_engine, upgrade
from locator.models import (
    Household,
    NextOfKin,
    RegistryVersion,
    Resident,
    ResidentPhone,
    ResidentView,
)
from tests.support.postgres import create_pg_database, drop_pg_database, pg_url


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session."""
    name = asyncio.run(create_pg_database("locator_test"))
    yield name
    asyncio.run(drop_pg_database(name))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of an empty (SQLite) or session-shared (PostgreSQL) database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'cti.sqlite3'}"
    name: str = request.getfixturevalue("pg_database")
    return pg_url(name)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database with empty registry tables."""
    engine = create_engine(db_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        for table in (ResidentView, NextOfKin, ResidentPhone, Resident, Household):
            await conn.execute(delete(table))
        await conn.execute(update(RegistryVersion).values(version=0))
    yield engine
    await engine.dispose()
