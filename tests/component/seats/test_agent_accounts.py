"""`cti agent add` and the SQL accounts on a migrated SQLite database."""

from __future__ import annotations

import argparse
import asyncio
import io
from pathlib import Path

import pytest
from sqlalchemy import text

from cti.db import create_engine, upgrade
from seats import SqlAgentAccounts, cli


def _run_cli(argv: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code: int = args.func(args)
    return code


async def test_agent_add_reads_password_from_stdin_and_stores_only_a_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    argv = ["agent", "add", "a07", "--name", "李娜", "--languages", "zh,en", "--seat", "seat07"]
    # the CLI runs its own event loop (asyncio.run): call it from a worker thread
    code = await asyncio.to_thread(_run_cli, [*argv, "--url", url], "s3cret-pw\n", monkeypatch)
    assert code == 0
    assert "agent a07 created" in capsys.readouterr().out
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            stored = (await conn.execute(text("SELECT password_hash FROM agent"))).scalar_one()
        assert stored.startswith("$argon2id$") and "s3cret-pw" not in stored
        accounts = SqlAgentAccounts(engine)
        profile = await accounts.authenticate("a07", "s3cret-pw")
        assert profile is not None
        assert (profile.name, profile.languages, profile.home_seat) == (
            "李娜",
            ("zh", "en"),
            "seat07",
        )
        assert await accounts.authenticate("a07", "wrong") is None
        assert await accounts.authenticate("nobody", "s3cret-pw") is None
    finally:
        await engine.dispose()


async def test_agent_add_refuses_an_unknown_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    argv = ["agent", "add", "a07", "--name", "x", "--languages", "zh,fr", "--url", url]
    code = await asyncio.to_thread(_run_cli, argv, "s3cret-pw\n", monkeypatch)
    assert code == 2
    assert "languages" in capsys.readouterr().err


async def test_updating_an_agent_changes_the_password(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}")
    try:
        await upgrade(engine, "head")
        accounts = SqlAgentAccounts(engine)
        _, created = await accounts.add("a21", "Kim Minji", "ko", "first-pw")
        _, created_again = await accounts.add("a21", "Kim Minji", "ko,zh", "second-pw")
        assert (created, created_again) == (True, False)
        assert await accounts.authenticate("a21", "first-pw") is None
        profile = await accounts.get("a21")
        assert profile is not None and profile.languages == ("ko", "zh")
    finally:
        await engine.dispose()


async def test_agent_add_with_role_supervisor_is_a_supervisor_and_agents_stay_agents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    sup = ["agent", "add", "s01", "--name", "王组长", "--languages", "zh", "--role", "supervisor"]
    code = await asyncio.to_thread(_run_cli, [*sup, "--url", url], "s3cret-pw\n", monkeypatch)
    assert code == 0
    assert "supervisor" in capsys.readouterr().out
    agent = ["agent", "add", "a07", "--name", "李娜", "--languages", "zh", "--url", url]
    assert await asyncio.to_thread(_run_cli, agent, "s3cret-pw\n", monkeypatch) == 0
    engine = create_engine(url)
    try:
        accounts = SqlAgentAccounts(engine)
        supervisor = await accounts.authenticate("s01", "s3cret-pw")
        plain = await accounts.get("a07")
        assert supervisor is not None and supervisor.is_supervisor
        assert plain is not None and plain.role == "agent" and not plain.is_supervisor
    finally:
        await engine.dispose()
