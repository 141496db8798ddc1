"""The async engine factory: one place that knows SQLite's and PostgreSQL's quirks."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# The async driver of each database we support, chosen when a URL names none.
_ASYNC_DRIVERS: Final = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}


def async_url(url: str) -> str:
    """`url` with the async driver: `sqlite:///f` -> `sqlite+aiosqlite:///f`,
    `postgresql://…` (or `postgres://…`) -> `postgresql+asyncpg://…`.

    Raises ValueError, with a message a person can act on and no password in it, for a URL
    that does not parse, another database, or a driver that is not async (`+psycopg2`).
    """
    try:
        parsed: URL = make_url(url)
    except ArgumentError:
        raise ValueError(
            "not a database URL; use sqlite+aiosqlite:///path or postgresql+asyncpg://…"
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    backend = "postgresql" if backend == "postgres" else backend
    wanted = _ASYNC_DRIVERS.get(backend)
    if wanted is None:
        raise ValueError(
            f"database {backend!r} is not supported; use sqlite+aiosqlite:///path or"
            " postgresql+asyncpg://…"
        )
    if driver and driver != wanted:
        raise ValueError(
            f"driver {driver!r} is not async; use {backend}+{wanted}:// (or {backend}://)"
        )
    return parsed.set(drivername=f"{backend}+{wanted}").render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None for another database or an in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An `AsyncEngine` for `url` (`sqlite+aiosqlite:///…` or `postgresql+asyncpg://…`; a
    URL without a driver gets the async one, see `async_url`).

    For a SQLite file the parent directory is created, foreign keys are enforced and the
    journal is WAL (readers never block the importer). Statement parameters are never put
    into error messages (they hold caller numbers and resident ids, and errors get logged).
    Extra keyword arguments go to SQLAlchemy's `create_async_engine`.
    """
    url = async_url(url)
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("hide_parameters", True)
    engine = create_async_engine(url, **kwargs)
    if make_url(url).get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
