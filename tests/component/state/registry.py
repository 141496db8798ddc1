"""The archive's sample CSV imported into a real registry database for the state tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from cti.settings import LocatorSettings
from locator import save_residents
from locator.importer import parse_file


async def import_sample(engine: AsyncEngine, path: Path, settings: LocatorSettings) -> None:
    """Import the sample with the locator's own importer (every row must be good)."""
    parsed = parse_file(path, settings)
    assert parsed.problems == [], parsed.problems
    await save_residents(engine, parsed.records)
