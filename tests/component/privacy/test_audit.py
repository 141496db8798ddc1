"""`cti audit --resident ID`: every view of a resident, judged against the call log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from cti.audit import audit
from cti.cli import main
from cti.db import create_engine, upgrade
from cti.settings import LocatorSettings
from cti.state import CallLogEntry
from locator import Locator
from locator.models import ResidentView


async def _seed(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    now = datetime.now(UTC)
    async with async_sessionmaker(engine).begin() as session:
        session.add(
            CallLogEntry(
                call_id="c1",
                queue="q-zh",
                resident_ids="LS0001",
                agent="a07",
                seat="seat07",
                joined_at=now - timedelta(minutes=2),
                ended_at=now - timedelta(seconds=30),
                waited_s=4.0,
                outcome="answered",
                rings=json.dumps([{"agent": "a09", "seat": "seat09", "outcome": "no_answer"}]),
            )
        )
        # a view an hour after the call (a page kept open, a replay): marked
        session.add(
            ResidentView(
                resident_id="LS0001",
                viewer="a07",
                call_id="c1",
                what="card",
                viewed_at=now + timedelta(hours=1),
            )
        )
    locator = await Locator.open(engine, LocatorSettings())
    await locator.record_view(["LS0001"], viewer="a07", call_id="c1")  # answered it
    await locator.record_view(["LS0001"], viewer="a09", call_id="c1")  # rang, not answered
    await locator.record_view(["LS0001"], viewer="a21", call_id="c1")  # never rung
    await locator.record_view(["LS0001", "LS0002"], viewer="cli:ops", call_id=None)
    await locator.close()
    await engine.dispose()


@pytest.fixture
async def url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    await _seed(url)
    return url


async def test_each_view_is_judged_against_the_call(url: str) -> None:
    engine = create_engine(url)
    try:
        lines = await audit(engine, "LS0001", None)
    finally:
        await engine.dispose()
    verdicts = {(line.view.viewer, line.verdict) for line in lines}
    assert verdicts == {
        ("a07", "own call"),
        ("a09", "own call"),  # rung: the pop showed the card while it rang
        ("a21", "NOT THE VIEWER'S CALL"),
        ("cli:ops", "no call (looked up outside a call)"),
        ("a07", "after the call and its wrap-up"),
    }
    assert all(line.call_agent == "a07" for line in lines if line.view.call_id == "c1")


def test_the_command_lists_views_and_fails_when_any_is_marked(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "--resident", "LS0001", "--url", url]) == 1
    out = capsys.readouterr().out
    assert out.startswith("resident LS0001: 5 view(s), 3 marked")
    assert "NOT THE VIEWER'S CALL" in out
    assert main(["audit", "--resident", "LS0001", "--url", url, "--format", "json"]) == 1
    views = json.loads(capsys.readouterr().out)["views"]
    assert [v["viewer"] for v in views][:3] == ["a07", "a09", "a21"]
    assert main(["audit", "--resident", "LS0002", "--url", url, "--format", "csv"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        "viewed_at,viewer,what,call_id,call_agent,verdict"
    )
    assert main(["audit", "--resident", "NOBODY", "--url", url]) == 0
