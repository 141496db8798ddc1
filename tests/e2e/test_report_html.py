"""The HTML report in real Chromium: its charts (matplotlib SVG) and tables render, and the
Chinese labels are drawn, not boxes. The screenshot is kept in artifacts/."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path

from playwright.async_api import Browser

from cti.cli import main
from cti.db import create_engine, upgrade
from tests.e2e.conftest import shot
from tests.support.report_day import seed_day

DAY = date(2026, 11, 30)


async def test_the_html_report_renders_its_charts_in_chromium(
    tmp_path: Path, browser: Browser
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine)
    tz = datetime.now().astimezone().tzinfo
    assert tz is not None
    await seed_day(engine, DAY, tz)
    await engine.dispose()
    out = tmp_path / "report.html"
    args = ["report", "--date", DAY.isoformat(), "--format", "html", "--url", url]
    assert await asyncio.to_thread(main, [*args, "--out", str(out)]) == 0
    context = await browser.new_context(viewport={"width": 1600, "height": 900})
    page = await context.new_page()
    await page.goto(out.as_uri())
    charts = page.locator("figure svg")
    assert await charts.count() == 3
    for i in range(3):
        box = await charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150
    assert await page.locator("table").count() == 5
    await page.screenshot(path=str(shot("report-html.png")), full_page=True)
    await context.close()
