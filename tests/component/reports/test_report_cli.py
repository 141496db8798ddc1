"""`cti report` over a seeded day in SQLite: the CSV and the HTML (with matplotlib's charts)
carry the same figures as the call log."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from cti.cli import main
from cti.db import create_engine, upgrade
from cti.reports import load_report
from cti.reports.cli import period
from tests.support.report_day import seed_day

DAY = date(2026, 11, 30)


async def _seeded(tmp_path: Path) -> tuple[str, AsyncEngine, int]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine)
    count = await seed_day(engine, DAY, _tz())
    return url, engine, count


async def _cti(args: list[str]) -> int:
    # The command runs its own event loop, as from a shell.
    return await asyncio.to_thread(main, args)


def _tz() -> object:
    tz = datetime.now().astimezone().tzinfo
    assert tz is not None
    return tz


async def test_the_csv_counts_every_call_of_the_day(tmp_path: Path) -> None:
    url, engine, count = await _seeded(tmp_path)
    try:
        start, end = period(DAY, DAY, _tz())  # type: ignore[arg-type]
        report = await load_report(engine, start, end, _tz())  # type: ignore[arg-type]
    finally:
        await engine.dispose()
    out = tmp_path / "day.csv"
    assert await _cti(["report", "--date", DAY.isoformat(), "--url", url, "--out", str(out)]) == 0
    table = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    total = {r["metric"]: r["value"] for r in table if r["section"] == "total"}
    assert int(total["offered"]) == count == report.total.offered
    assert int(total["abandoned"]) == report.total.abandoned > 0
    per_hour = sum(
        int(r["value"]) for r in table if r["section"] == "hour" and r["metric"] == "offered"
    )
    assert per_hour == count
    cbs = {
        r["metric"]: r["value"]
        for r in table
        if r["section"] == "callbacks" and r["group"] == "all"
    }
    assert int(cbs["callbacks"]) == report.total.abandoned
    assert 0 < int(cbs["placed_before_deadline"]) < int(cbs["callbacks"])
    agents = {r["group"] for r in table if r["section"] == "agent"}
    assert len(agents) == 12
    # The day after holds nothing; a two-day range holds the same calls.
    nxt = (DAY + timedelta(days=1)).isoformat()
    assert (
        await _cti(
            ["report", "--date", DAY.isoformat(), "--to", nxt, "--url", url, "--out", str(out)]
        )
        == 0
    )
    again = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert {r["metric"]: r["value"] for r in again if r["section"] == "total"}["offered"] == str(
        count
    )


async def test_the_html_has_charts_and_tables(tmp_path: Path) -> None:
    url, engine, _ = await _seeded(tmp_path)
    await engine.dispose()
    out = tmp_path / "day.html"
    args = [
        "report",
        "--date",
        DAY.isoformat(),
        "--format",
        "html",
        "--url",
        url,
        "--out",
        str(out),
    ]
    assert await _cti(args) == 0
    page = out.read_text("utf-8")
    assert page.count("<svg") == 3  # per hour, queues, agents: drawn by matplotlib
    assert "Matplotlib" in page or "matplotlib" in page
    assert "<script" not in page
    assert "q-zh" in page and "a01" in page and "meal" in page
