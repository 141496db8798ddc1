"""A real registry (SQLite file) with the sample imported, the real Locator, a call log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.db import create_engine, upgrade
from cti.settings import LocatorSettings
from locator import Locator
from tests.component.state.registry import import_sample


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite database in tmp_path."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}")
    await upgrade(engine, "head")
    yield engine
    await engine.dispose()


@pytest.fixture
async def locator(engine: AsyncEngine, registry_sample: Path) -> AsyncIterator[Locator]:
    """The real Locator over the sample residents."""
    await import_sample(engine, registry_sample, LocatorSettings())
    located = await Locator.open(engine, LocatorSettings())
    yield located
    await located.close()
