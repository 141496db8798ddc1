"""Several nodes hand the same abandoned call to the callback list: it is listed once, and
a repeat caller's count goes up once — on PostgreSQL (nodes at the same moment) and SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.callbacks import CallbackStore
from cti.db import create_engine, upgrade
from tests.support.postgres import create_pg_database, drop_pg_database, pg_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def engines(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[list[AsyncEngine]]:
    """Three nodes' engines on one database."""
    name = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    else:
        name = await create_pg_database("callbacks_nodes")
        url = pg_url(name)
    made = [create_engine(url) for _ in range(3)]
    await upgrade(made[0])
    yield made
    for engine in made:
        await engine.dispose()
    if name is not None:
        await drop_pg_database(name)


async def add(store: CallbackStore, call_id: str) -> int | None:
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    return await store.add_abandoned(
        call_id=call_id,
        number="+8613800000001",
        queue="q-zh",
        language="zh",
        resident_ids=("R1",),
        priority=1,
        emergency=False,
        abandoned_at=at,
        deadline_at=at + timedelta(minutes=30),
    )


async def test_an_abandoned_call_seen_by_three_nodes_is_listed_once(
    engines: list[AsyncEngine],
) -> None:
    stores = [CallbackStore(engine) for engine in engines]
    first = await asyncio.gather(*(add(store, "1795361879.21") for store in stores))
    assert sum(1 for got in first if got is not None) == 1
    # The same caller gives up again: the open callback counts one repeat, not three.
    again = await asyncio.gather(*(add(store, "1795361999.40") for store in stores))
    assert sum(1 for got in again if got is not None) == 1
    listed = await stores[0].listing(datetime(2026, 11, 1, tzinfo=UTC))
    assert len(listed) == 1
    assert listed[0].repeats == 1
