"""Where the change-sets' versions are kept: the `admin_version` table (or memory in tests).

Each version is stored whole (the configuration as JSON, with what every step got), so a
restart of the server, `cti conf render` and a rollback all see the same versions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import TypeAdapter
from sqlalchemy import RowMapping, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.admin.models import ActionOutcome, VersionSummary
from cti.admin.tables import AdminVersionRow
from cti.conf.model import HotlineConfig

_RESULTS = TypeAdapter(list[ActionOutcome])


class VersionStore(Protocol):
    """The versions after the built-in one, oldest first."""

    async def load(self) -> list[tuple[HotlineConfig, VersionSummary]]: ...

    async def save(self, config: HotlineConfig, summary: VersionSummary) -> None: ...


class MemoryVersionStore:
    """Versions in memory (tests; a second service over the same store is a restart)."""

    def __init__(self) -> None:
        self.rows: list[tuple[HotlineConfig, VersionSummary]] = []

    async def load(self) -> list[tuple[HotlineConfig, VersionSummary]]:
        return list(self.rows)

    async def save(self, config: HotlineConfig, summary: VersionSummary) -> None:
        self.rows.append((config, summary))


def _row(config: HotlineConfig, summary: VersionSummary) -> dict[str, Any]:
    return {
        "version": summary.version,
        "author": summary.author,
        "at": summary.at,
        "comment": summary.comment,
        "rollback_of": summary.rollback_of,
        "asterisk_applied": summary.asterisk_applied,
        "results": _RESULTS.dump_json(summary.results).decode(),
        "config": config.model_dump_json(),
    }


def _version(row: RowMapping) -> tuple[HotlineConfig, VersionSummary]:
    at: datetime = row["at"]
    summary = VersionSummary(
        version=row["version"],
        author=row["author"],
        at=at if at.tzinfo else at.replace(tzinfo=UTC),  # SQLite gives it back naive
        comment=row["comment"],
        rollback_of=row["rollback_of"],
        results=_RESULTS.validate_json(row["results"]),
        asterisk_applied=row["asterisk_applied"],
    )
    return HotlineConfig.model_validate_json(row["config"]), summary


class SqlVersionStore:
    """The `admin_version` table (migration 0009)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self) -> list[tuple[HotlineConfig, VersionSummary]]:
        table = AdminVersionRow.__table__
        async with self._engine.connect() as conn:
            result = await conn.execute(select(table).order_by(table.c.version))
            return [_version(row._mapping) for row in result]

    async def save(self, config: HotlineConfig, summary: VersionSummary) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(AdminVersionRow).values(_row(config, summary)))


async def latest_version(engine: AsyncEngine) -> tuple[HotlineConfig, VersionSummary] | None:
    """The version in force according to the database; None when none was applied (or the
    database is not migrated to 0009 yet). An unreachable database raises."""
    async with engine.connect() as conn:
        migrated = await conn.run_sync(lambda c: inspect(c).has_table("admin_version"))
    if not migrated:
        return None
    versions = await SqlVersionStore(engine).load()
    return versions[-1] if versions else None
