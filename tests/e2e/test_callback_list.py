"""The callback list on the agent page, in real Chromium at 1920×1080: emergency and elderly
first with their deadlines; the agent takes one and calls back from the page through the
replay peer playing 17 (answered, then a resident living alone is busy and the next of kin
are offered); outcomes recorded; zh, en and ko screenshots kept in artifacts/."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, expect

from cti import stop_task
from cti.ami import AMIClient, ReplayPeer
from cti.bus import InProcessBus
from cti.callbacks import CallbackService, CallbackStore, Seat
from cti.callbacks.http import CALLBACKS
from cti.db import create_engine, upgrade
from cti.settings import AMISettings, CallbacksSettings, Settings
from cti.web import WebServices, create_app
from seats import MemoryAgentAccounts, SeatDirectory
from tests.component.callbacks.conftest import ALONE, WITH_FAMILY, Registry, record
from tests.e2e.conftest import PASSWORD, log_in, shot


class _NoWrapups:
    async def save_wrapup(self, call_id: str, agent: str, outcome: str, note: str) -> None:
        raise LookupError(call_id)


async def test_an_agent_calls_back_from_the_list(
    browser: Browser, traces_dir: Path, tmp_path: Path, aiohttp_server: Any
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}")
    await upgrade(engine)
    peer = ReplayPeer(traces_dir / "17-originate-callback.ami")
    ami = AMIClient(AMISettings(port=await peer.start(), action_timeout_s=3.0))
    service = CallbackService(
        CallbackStore(engine),
        None,
        CallbacksSettings(agent_channel="Local/{seat}@agents-callback/n"),
        locator=Registry({"05356683318": [WITH_FAMILY], "13800000000": [ALONE]}),
        seat_of=lambda agent: Seat("seat07", busy=False),
    )
    service.attach(ami, ami)
    runner = asyncio.create_task(service.run())
    await ami.start()
    service.on_call_finished(record("c-other", "13512345678"), [])
    service.on_call_finished(record("c-family", "05356683318"), ["R002"])
    service.on_call_finished(record("c-alone", "13800000000"), ["R001"])
    service.on_call_finished(record("c-duty", "13600000000", queue="q-duty"), [])
    await service.flush()
    accounts = MemoryAgentAccounts()
    accounts.add("a07", "李娜", "zh,en", PASSWORD)
    app = create_app(
        Settings(), WebServices(accounts, InProcessBus(), _NoWrapups(), SeatDirectory())
    )
    app[CALLBACKS] = service
    server = await aiohttp_server(app)
    context = await browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = await context.new_page()
    try:
        await log_in(page, str(server.make_url("/agent")), "a07", "seat07")
        items = page.locator("#cb-list > li")
        await expect(items).to_have_count(4)
        kinds = [await items.nth(i).get_attribute("data-kind") for i in range(4)]
        assert kinds == ["emergency", "elderly", "elderly", "other"]
        await expect(items.nth(1)).to_contain_text(re.compile(r"\b(10:00|9:\d\d) 内回拨"))
        await page.screenshot(path=str(shot("callbacks-zh-1920x1080.png")))

        family = page.locator('#cb-list > li:has-text("王建国")')
        await family.locator(".cb-claim").click()
        await family.locator(".cb-call").first.click()  # attempt 1: 17's answered callback
        await expect(family.locator(".cb-attempt")).to_contain_text("已接通")
        await family.locator(".cb-outcome-btn", has_text="已联系上").click()
        await expect(family).to_have_attribute("data-status", "done")

        alone = page.locator('#cb-list > li:has-text("张桂英")')
        await alone.locator(".cb-claim").click()
        await alone.locator(".cb-call").first.click()  # attempt 2: 17's busy number
        await expect(alone.locator(".cb-attempt")).to_contain_text("对方忙")
        # Lives alone and not reached: the next of kin, in calling order.
        kin = alone.locator(".cb-call-kin")
        await expect(kin).to_have_count(3)
        await expect(kin.first).to_contain_text("李强")
        await expect(alone.locator(".cb-flag")).to_have_text("独居")
        await page.screenshot(path=str(shot("callbacks-kin-zh-1920x1080.png")))
        await page.click("button.lang[data-lang=en]")
        await expect(alone.locator(".cb-kin-offered")).to_contain_text("next of kin")
        await page.screenshot(path=str(shot("callbacks-kin-en-1920x1080.png")))
        await page.click("button.lang[data-lang=ko]")
        await expect(page.locator("#cb-title")).to_have_text(re.compile("콜백"))
        await page.screenshot(path=str(shot("callbacks-kin-ko-1920x1080.png")))
    finally:
        await context.close()
        await ami.stop()
        await stop_task(runner)
        await peer.stop()
        await engine.dispose()
    assert len(peer.actions("Originate")) == 2
