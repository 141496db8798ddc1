"""`CTI_DATABASE_URL` without the async driver is accepted; a wrong one is named, not a
traceback, and never printed with its password."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.db import async_url, create_engine, upgrade
from cti.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("sqlite:///var/cti.sqlite3", "sqlite+aiosqlite:///var/cti.sqlite3"),
        ("sqlite+aiosqlite:///var/cti.sqlite3", "sqlite+aiosqlite:///var/cti.sqlite3"),
        ("postgresql://cti:pw@db/cti", "postgresql+asyncpg://cti:pw@db/cti"),
        ("postgres://cti:pw@db/cti", "postgresql+asyncpg://cti:pw@db/cti"),
        ("postgresql+asyncpg://cti:pw@db/cti", "postgresql+asyncpg://cti:pw@db/cti"),
    ],
)
def test_a_url_without_the_async_driver_gets_it(given: str, used: str) -> None:
    assert async_url(given) == used


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ("postgresql+psycopg2://cti:s3cret@db/cti", "driver 'psycopg2' is not async"),
        ("mysql://cti:s3cret@db/cti", "database 'mysql' is not supported"),
        ("not a url", "not a database URL"),
    ],
)
def test_a_wrong_url_is_named_at_start_without_its_password(
    given: str, named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTI_DATABASE_URL", given)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "database_url" in str(info.value) and named in str(info.value)
    assert "s3cret" not in str(info.value)


def test_sqlite_url_from_the_environment_is_used_with_aiosqlite(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CTI_DATABASE_URL", f"sqlite:///{tmp_path / 'cti.sqlite3'}")
    assert load_settings().database_url == f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"


async def test_create_engine_takes_a_plain_sqlite_url(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'db' / 'cti.sqlite3'}")
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    assert (tmp_path / "db" / "cti.sqlite3").is_file()
