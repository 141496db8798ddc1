"""`cti serve`'s own wiring end to end: ReplayPeer (03-call-answered.ami) → AMIClient →
StateService (real Locator over the imported sample) → bus → /ws/agent → Chromium."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from cti.ami import ReplayPeer
from cti.db import create_engine, upgrade
from cti.settings import LocatorSettings, load_settings
from cti.web import create_app
from cti.web.keys import BUS
from locator import parse_file, save_residents
from seats import SqlAgentAccounts
from tests.e2e.conftest import PASSWORD, log_in, shot

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def served(
    tmp_path: Path, registry_sample: Path, aiohttp_server: Any
) -> AsyncIterator[tuple[str, int, web.Application]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine, "head")
    parsed = parse_file(registry_sample, LocatorSettings())
    await save_residents(engine, parsed.records)
    await SqlAgentAccounts(engine).add("a07", "李娜", "zh,en", PASSWORD, "seat07")
    await engine.dispose()
    ami_port = _free_port()
    settings = load_settings(
        database_url=url, ami={"port": ami_port, "backoff_min_s": 0.1, "backoff_max_s": 0.3}
    )
    app = create_app(settings)  # no injected services: the production cleanup context
    server: TestServer = await aiohttp_server(app)
    yield str(server.make_url("/agent")), ami_port, app


async def test_replayed_call_pops_on_the_agents_page_then_completes(
    served: tuple[str, int, web.Application], page: Page, traces_dir: Path
) -> None:
    url, ami_port, app = served
    await log_in(page, url, "a07", "seat07")
    # Asterisk "comes up" only now: the client has been retrying; the call plays at once.
    async with ReplayPeer(
        traces_dir / "03-call-answered.ami", port=ami_port, wait_for_actions=False
    ):
        await expect(page.locator("#call-status")).to_have_attribute(
            "data-status", "completed", timeout=15_000
        )
        await expect(page.locator("#household .person")).to_have_count(2)
        await expect(page.locator("#resident-name")).to_have_text("张建国")
        await expect(page.locator("#kin-list li")).to_have_count(2)
        await expect(page.locator("#wrapup")).to_be_visible()
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=shot("agent-full-stack-replay.png"), full_page=True)
        kinds = [m["type"] for m in await app[BUS].since("a07", 0)]
        calls = [k for k in kinds if k in ("pop", "retract", "answered", "completed")]
        assert calls == ["pop", "answered", "completed"]
        await page.click("#wrapup button[type=submit]")
        await expect(page.locator("#wrapup-result")).to_have_text("已保存")
