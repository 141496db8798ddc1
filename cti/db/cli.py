"""`cti db upgrade`: migrate the configured database to the newest revision."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from cti.db.engine import create_engine
from cti.db.migrate import current_revision, upgrade


def register(subparsers: Any) -> None:
    """Add the `db` command group to the `cti` parser."""
    db = subparsers.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="run migrations (on an empty database too)")
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.add_argument("--url", help="database URL (default: settings' database_url)")
    up.set_defaults(func=_cmd_upgrade)


def _cmd_upgrade(args: argparse.Namespace) -> int:
    from cti.cli import settings_from_args

    url: str = args.url or settings_from_args(args).database_url
    rev = asyncio.run(_upgrade(url, args.revision))
    print(f"database at revision {rev}")
    return 0


async def _upgrade(url: str, revision: str) -> str | None:
    engine = create_engine(url)
    try:
        await upgrade(engine, revision)
        return await current_revision(engine)
    finally:
        await engine.dispose()
