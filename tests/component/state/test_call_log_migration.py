"""The call_log revisions (0003_call_log, 0005_call_log_rings, 0008_call_log_caller) make
the table the model describes, and undo it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from cti.db import create_engine, current_revision, upgrade
from cti.db.migrate import alembic_config
from cti.state import CallLogEntry


def _columns(sync_conn: sa.Connection) -> dict[str, bool]:
    return {c["name"]: c["nullable"] for c in sa.inspect(sync_conn).get_columns("call_log")}


def _tables(sync_conn: sa.Connection) -> set[str]:
    return set(sa.inspect(sync_conn).get_table_names())


async def test_migration_creates_the_call_log_the_model_describes(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade(engine, "0008_call_log_caller")  # later revisions leave call_log alone
        assert await current_revision(engine) == "0008_call_log_caller"
        async with engine.connect() as conn:
            columns = await conn.run_sync(_columns)
        model = {c.name: bool(c.nullable) for c in CallLogEntry.__table__.columns}
        assert columns == model
    finally:
        await engine.dispose()


async def test_downgrade_to_0004_keeps_the_rows_without_the_ring_columns(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade(engine, "0004_duty")
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO call_log (call_id, queue, resident_ids, joined_at, ended_at,"
                    " waited_s, outcome, closed_on_resync) VALUES ('c1', 'q-zh', '',"
                    " '2026-11-30 10:00:00+00', '2026-11-30 10:01:00+00', 3, 'abandoned', false)"
                )
            )
        await upgrade(engine)
        async with engine.connect() as conn:
            rings = (await conn.execute(sa.text("SELECT rings, hung_up_by FROM call_log"))).one()
        assert tuple(rings) == ("[]", None)

        def down(sync_conn: sa.Connection) -> dict[str, bool]:
            cfg = alembic_config()
            cfg.attributes["connection"] = sync_conn
            command.downgrade(cfg, "0004_duty")
            return _columns(sync_conn)

        async with engine.begin() as conn:
            columns = await conn.run_sync(down)
        assert "rings" not in columns and "hung_up_by" not in columns and "call_id" in columns
    finally:
        await engine.dispose()


async def test_downgrade_removes_only_the_call_log(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade(engine)

        def down(sync_conn: sa.Connection) -> set[str]:
            cfg = alembic_config()
            cfg.attributes["connection"] = sync_conn
            command.downgrade(cfg, "0002_agents")
            return _tables(sync_conn)

        async with engine.begin() as conn:
            tables = await conn.run_sync(down)
        assert "call_log" not in tables
        assert "resident" in tables
        assert await current_revision(engine) == "0002_agents"
    finally:
        await engine.dispose()
