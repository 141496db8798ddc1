"""Migrations from an empty database on SQLite and PostgreSQL, and that they match the models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from cti.db import Base, create_engine, current_revision, upgrade
from cti.db.migrate import import_models
from tests.support.postgres import create_pg_database, drop_pg_database, pg_url

REGISTRY_TABLES = {
    "resident",
    "resident_phone",
    "next_of_kin",
    "household",
    "resident_view",
    "registry_version",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A brand-new empty database, of each kind."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'empty.sqlite3'}"
        return
    name = await create_pg_database()
    try:
        yield pg_url(name)
    finally:
        await drop_pg_database(name)


def _registry_diff(conn: Connection) -> list[Any]:
    import_models()
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    diffs = compare_metadata(ctx, Base.metadata)
    # Only the tables of this revision: later revisions belong to other packages.
    return [d for d in diffs if REGISTRY_TABLES & set(_tables(d))]


def _tables(diff: Any) -> list[str]:
    items = diff if isinstance(diff, list) else [diff]
    names = []
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            name = getattr(part, "name", None) or getattr(
                getattr(part, "table", None), "name", None
            )
            if isinstance(part, str):
                names.append(part)
            elif name:
                names.append(str(name))
    return names


async def test_upgrade_from_empty_creates_the_registry_and_is_idempotent(empty_url: str) -> None:
    engine = create_engine(empty_url)
    try:
        assert await current_revision(engine) is None
        await upgrade(engine, "0001_registry")
        assert await current_revision(engine) == "0001_registry"
        await upgrade(engine, "0001_registry")
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert tables >= REGISTRY_TABLES
        await upgrade(engine)  # to head, whatever other packages have added
    finally:
        await engine.dispose()


async def test_the_migration_matches_the_models(empty_url: str) -> None:
    engine = create_engine(empty_url)
    try:
        await upgrade(engine, "0001_registry")
        async with engine.connect() as conn:
            diffs = await conn.run_sync(_registry_diff)
        assert diffs == []
    finally:
        await engine.dispose()


def test_cti_db_upgrade_command_migrates_a_new_sqlite_file(tmp_path: Path) -> None:
    import argparse

    from cti.db import cli

    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    cli.register(parser.add_subparsers(dest="command", required=True))
    target = tmp_path / "new" / "cti.sqlite3"
    args = parser.parse_args(["db", "upgrade", "--url", f"sqlite+aiosqlite:///{target}"])
    assert args.func(args) == 0
    assert target.is_file()
