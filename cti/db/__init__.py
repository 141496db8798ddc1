"""The one database of the CTI server: SQLAlchemy `Base`, the async engine, the migrations.

Driver choice. SQLite (`sqlite+aiosqlite:///var/cti.sqlite3`) is the default so a demo or a
single node needs nothing installed. For PostgreSQL we use **asyncpg**
(`postgresql+asyncpg://user@host/db`): it is already a dependency, it is natively asyncio (no
thread hop per query as with a sync driver), it is the fastest Python PostgreSQL driver for the
bulk loads the registry import and the benchmarks do (binary protocol, prepared statements),
and SQLAlchemy's asyncpg dialect is the best-tested async one. psycopg 3 would work too but
would add a second dependency for no gain here.

Migrations. There is ONE Alembic environment, `cti/db/migrations/` (inside the package, so it
works from an installed wheel). Revisions chain in a fixed order so packages never collide:

    0001_registry (locator)  ->  0002_agents (seats)  ->  0003_call_log (cti/state)

To add yours: put `cti/db/migrations/versions/0002_agents.py` with
`revision = "0002_agents"` and `down_revision = "0001_registry"` (copy the header of
`0001_registry.py`), write `upgrade()`/`downgrade()` with `op.*` calls that work on SQLite and
PostgreSQL (use `op.batch_alter_table` to alter a table: SQLite cannot ALTER most things), and
add your models module to `MODEL_MODULES` below so `alembic revision --autogenerate` sees it.
Models subclass `cti.db.Base`. Run them with `cti db upgrade` or `await upgrade(engine)`.
"""

from __future__ import annotations

from cti.db.engine import async_url, create_engine, sqlite_path
from cti.db.migrate import MODEL_MODULES, current_revision, upgrade
from cti.db.models import Base

__all__ = [
    "MODEL_MODULES",
    "Base",
    "async_url",
    "create_engine",
    "current_revision",
    "sqlite_path",
    "upgrade",
]
