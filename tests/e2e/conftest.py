"""The whole in-process stack behind a real aiohttp server, and a real Chromium.

Registry: the archive sample imported into SQLite with the locator's importer; the real
Locator, StateService and call log; the in-process bus; the web app. The recordings are
fed to the state service event by event (what the AMI client does with the live stream).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.bus import InProcessBus
from cti.db import create_engine, upgrade
from cti.settings import LocatorSettings, Settings
from cti.state import CallLog, CallTracker, StateService
from cti.web import WebServices, create_app
from cti.web.keys import ENGINE, LOCATOR, SocketLimits
from locator import Locator, parse_file, save_residents
from seats import MemoryAgentAccounts, SeatDirectory

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse 7"

pytestmark = pytest.mark.browser


@dataclass
class Stack:
    url: str
    bus: InProcessBus
    seats: SeatDirectory
    state: StateService
    locator: Locator
    engine: AsyncEngine
    app: web.Application


@pytest.fixture
async def stack(tmp_path: Path, registry_sample: Path, aiohttp_server: Any) -> AsyncIterator[Stack]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}")
    await upgrade(engine, "head")
    parsed = parse_file(registry_sample, LocatorSettings())
    assert parsed.problems == []
    await save_residents(engine, parsed.records)
    locator = await Locator.open(engine, LocatorSettings())
    accounts = MemoryAgentAccounts()
    accounts.add("a07", "李娜", "zh,en", PASSWORD)
    accounts.add("a31", "Park Jiwoo", "ko,zh", PASSWORD)
    bus = InProcessBus()
    seats = SeatDirectory()
    state = StateService(CallTracker(seats), bus, locator, CallLog(engine))
    writer = asyncio.create_task(state.run())
    # A heartbeat a second: a silent link reads "stale" within three.
    app = create_app(
        Settings(),
        WebServices(accounts, bus, state, seats),
        limits=SocketLimits(app_heartbeat_s=1.0),
    )
    app[LOCATOR] = locator  # the registry search and the resident's last contacts
    app[ENGINE] = engine
    server: TestServer = await aiohttp_server(app)
    try:
        yield Stack(str(server.make_url("/agent")), bus, seats, state, locator, engine, app)
    finally:
        writer.cancel()
        await locator.close()
        await engine.dispose()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium")
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))
    page.dialogs = dialogs  # type: ignore[attr-defined]
    yield page
    await context.close()


async def log_in(page: Page, url: str, agent: str, seat: str) -> None:
    """Open the agent page and log in through the form."""
    await page.goto(url)
    await page.fill("#login-agent", agent)
    await page.fill("#login-password", PASSWORD)
    await page.fill("#login-seat", seat)
    await page.click("#login-form button[type=submit]")
    # The socket is open: "live", or the truth that the telephone system is not there (yet).
    await page.wait_for_selector("#conn[data-state=live], #conn[data-state=pbx_down]")


def shot(name: str) -> Path:
    """Where a screenshot goes (artifacts/ is gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
