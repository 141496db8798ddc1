"""The change-sets' versions survive a restart (table `admin_version`, migration 0009) and
`cti conf render` renders the latest version applied, the built-in model when none is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from cti.admin import AdminService, SqlVersionStore
from cti.admin.tables import AdminVersionRow
from cti.cli import main
from cti.db import create_engine, current_revision, upgrade
from cti.settings import AsteriskConfSettings, Settings
from queues import registry
from seats import MemoryAgentAccounts
from tests.support.postgres import create_pg_database, drop_pg_database, pg_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database of each kind."""
    name = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    else:
        name = await create_pg_database("admin_test")
        url = pg_url(name)
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    try:
        yield url
    finally:
        registry.install(AdminService(Settings(), MemoryAgentAccounts()).current.config.queues)
        if name is not None:
            await drop_pg_database(name)


async def test_migration_0009_makes_the_table_the_model_describes(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        await upgrade(engine, "0009_admin_version")
        assert await current_revision(engine) == "0009_admin_version"
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda c: {
                    x["name"]: x["nullable"] for x in sa.inspect(c).get_columns("admin_version")
                }
            )
        assert columns == {c.name: bool(c.nullable) for c in AdminVersionRow.__table__.columns}
    finally:
        await engine.dispose()


async def test_versions_are_read_back_after_a_restart_and_rollback_still_works(
    db: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=db, conf=AsteriskConfSettings(asterisk_dir=tmp_path / "etc"))
    engine = create_engine(db)
    try:
        first = AdminService(settings, MemoryAgentAccounts(), store=SqlVersionStore(engine))
        await first.load()
        changed = first.current.config.model_copy(
            update={
                "queues": tuple(
                    q.model_copy(update={"service_level_s": 20}) if q.name == "q-zh" else q
                    for q in first.current.config.queues
                )
            }
        )
        await first.apply(0, changed, "boss", "SL 20")

        restarted = AdminService(settings, MemoryAgentAccounts(), store=SqlVersionStore(engine))
        await restarted.load()
        assert restarted.current.summary.version == 1
        assert restarted.current.config == changed
        assert [v.version for v in restarted.history()] == [1, 0]
        assert restarted.history()[0].results == first.history()[0].results
        assert restarted.history()[0].at == first.history()[0].at

        summary, _ = await restarted.rollback(0, 1, "boss")
        assert (summary.version, summary.rollback_of) == (2, 0)
        again = AdminService(settings, MemoryAgentAccounts(), store=SqlVersionStore(engine))
        await again.load()
        assert [v.version for v in again.history()] == [2, 1, 0]
        assert again.current.config == AdminService(settings, MemoryAgentAccounts()).current.config
    finally:
        await engine.dispose()


async def _apply_weight_7(db: str) -> None:
    engine = create_engine(db)
    try:
        await upgrade(engine)
        service = AdminService(Settings(), MemoryAgentAccounts(), store=SqlVersionStore(engine))
        await service.load()
        config = service.current.config
        queues = tuple(q.model_copy(update={"weight": 7}) for q in config.queues)
        await service.apply(0, config.model_copy(update={"queues": queues}), "boss")
    finally:
        await engine.dispose()


def test_conf_render_reads_the_latest_version_from_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    monkeypatch.setenv("CTI_DATABASE_URL", db)
    render = ["conf", "render", "--placeholder-secrets", "--out"]
    assert main([*render, str(tmp_path / "builtin")]) == 0
    assert "built-in model" in capsys.readouterr().err
    builtin = (tmp_path / "builtin" / "queues.conf").read_text()

    try:
        asyncio.run(_apply_weight_7(db))
        assert main([*render, str(tmp_path / "db")]) == 0
        assert "version 1 (boss" in capsys.readouterr().err
        from_db = (tmp_path / "db" / "queues.conf").read_text()
        assert from_db != builtin and "weight = 7" in from_db
        assert main([*render, str(tmp_path / "b2"), "--builtin"]) == 0
        assert (tmp_path / "b2" / "queues.conf").read_text() == builtin
    finally:
        registry.install(AdminService(Settings(), MemoryAgentAccounts()).current.config.queues)


def test_conf_render_without_a_database_file_uses_the_builtin_model_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none" / "cti.sqlite3"
    monkeypatch.setenv("CTI_DATABASE_URL", f"sqlite+aiosqlite:///{missing}")
    assert main(["conf", "render", "--out", str(tmp_path / "out"), "--placeholder-secrets"]) == 0
    assert "built-in model" in capsys.readouterr().err
    assert not missing.parent.exists()


def test_conf_render_refuses_to_guess_when_the_database_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_DATABASE_URL", "postgresql+asyncpg://cti@127.0.0.1:1/cti")
    with pytest.raises(SystemExit) as exited:
        main(["conf", "render", "--out", str(tmp_path / "out")])
    assert exited.value.code == 2
    assert "use --builtin or --model" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
