"""Run the Alembic migrations from code (the server, the demo, tests) or from `cti db upgrade`."""

from __future__ import annotations

import importlib
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

# Modules that define models on `cti.db.Base`; the Alembic env imports them so autogenerate
# sees every table. Add yours here when you add a revision.
MODEL_MODULES: tuple[str, ...] = (
    "locator.models",
    "seats.models",
    "cti.state.models",
    "queues.membership.tables",
    "cti.callbacks.models",
    "cti.admin.tables",
)

SCRIPT_LOCATION = "cti.db:migrations"


def import_models() -> None:
    """Import every models module so `Base.metadata` knows all tables."""
    for name in MODEL_MODULES:
        importlib.import_module(name)


def alembic_config(url: str | None = None) -> Config:
    """An Alembic `Config` for the package's environment (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _upgrade_on(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database of `engine` to `revision` (all of them by default).

    Idempotent: on an up-to-date database it does nothing. Runs in one transaction on
    PostgreSQL (transactional DDL); on SQLite each revision is applied as Alembic does.
    """
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade_on, revision)


def _current(connection: Connection) -> Any:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    async with engine.connect() as conn:
        rev = await conn.run_sync(_current)
    return None if rev is None else str(rev)
