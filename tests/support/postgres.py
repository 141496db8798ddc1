"""Throw-away PostgreSQL databases for tests: created from `test` on 127.0.0.1:5432 (trust
auth, user root; `CTI_TEST_PG_DSN` points elsewhere) and dropped afterwards."""

from __future__ import annotations

import os
import uuid

import asyncpg

PG_ADMIN_DSN = os.environ.get("CTI_TEST_PG_DSN", "postgresql://root@127.0.0.1:5432/test")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_pg_database(prefix: str = "test") -> str:
    """Create an empty database named `{prefix}_<random>`; returns its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    return name


async def drop_pg_database(name: str) -> None:
    """Drop a database made by `create_pg_database` (closing leftover sessions)."""
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_url(name: str) -> str:
    """The SQLAlchemy URL of database `name` on the test server."""
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"
