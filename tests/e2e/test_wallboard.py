"""The wallboard in real Chromium at 1920×1080: a supervisor logs in and reads the room of
recording 08 in the middle of its 60-call burst (41 seats talking, callers waiting)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, expect

from cti.ami import Event
from cti.bus import InProcessBus
from cti.settings import Settings
from cti.wallboard import WallboardService
from cti.wallboard.http import WALLBOARD
from cti.web import WebServices, create_app
from queues import SeatDuty, Wanted
from seats import MemoryAgentAccounts, SeatDirectory
from tests.e2e.conftest import PASSWORD, shot
from tests.support.recordings import recording_events

_NAMES = ["李娜", "王芳", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄丽", "周杰", "吴婷"]


class _NoWrapups:
    async def save_wrapup(self, call_id: str, agent: str, outcome: str, note: str) -> None:
        raise LookupError(call_id)


def _pause(seat: str, reason: str) -> Event:
    headers = (
        ("Queue", "q-zh"),
        ("Interface", f"Local/{seat}@agents/n"),
        ("MemberName", seat),
        ("Status", "1"),
        ("Paused", "1"),
        ("PausedReason", reason),
    )
    return Event(name="QueueMemberPause", headers=headers)


async def test_supervisor_reads_the_room_mid_burst(
    browser: Browser, traces_dir: Path, aiohttp_server: Any
) -> None:
    accounts = MemoryAgentAccounts()
    accounts.add("s01", "王组长", "zh", PASSWORD, role="supervisor")
    duties = []
    for n in range(1, 53):
        seat, agent = f"seat{n:02d}", f"a{n:02d}"
        accounts.add(agent, f"{_NAMES[n % 10]}{n}", "zh", PASSWORD)
        duties.append(SeatDuty(seat, agent, (Wanted("q-zh", 0),)))
    service = WallboardService(lambda: duties)
    events = recording_events(traces_dir / "08-burst-60-calls.ami")
    for event in events[:4006]:  # 59 callers joined, 51 answered, 10 completed
        if not event.action_id:
            service.on_event(event)
    # Nobody paused in 08; pause a few seats that are free at this moment.
    free = [a["seat"] for a in service.board()["agents"] if a["state"] == "available"]
    for seat, reason in zip(free, ["meal", "break", "training"], strict=False):
        service.on_event(_pause(seat, reason))
    app = create_app(
        Settings(), WebServices(accounts, InProcessBus(), _NoWrapups(), SeatDirectory())
    )
    app[WALLBOARD] = service
    server = await aiohttp_server(app)
    context = await browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = await context.new_page()
    try:
        await page.goto(str(server.make_url("/wallboard")))
        await page.fill("#login-agent", "s01")
        await page.fill("#login-password", PASSWORD)
        await page.click("#login button[type=submit]")
        await page.wait_for_selector("body[data-ready=true]")
        board = service.board()
        zh = next(q for q in board["queues"] if q["queue"] == "q-zh")
        card = page.locator('[data-queue="q-zh"]')
        await expect(card.locator("[data-field=waiting] .v")).to_have_text(str(zh["waiting"]))
        await expect(card.locator("[data-field=answered] .v")).to_have_text(str(zh["answered"]))
        talking = sum(1 for a in board["agents"] if a["state"] == "talking")
        await expect(page.locator("#agents li[data-state=talking]")).to_have_count(talking)
        await expect(page.locator("#agents li")).to_have_count(52)
        await expect(card.locator("[data-field=paused]")).to_contain_text("用餐")
        # Everything fits the wall screen: no scrolling on a 1920×1080 display.
        await page.screenshot(path=str(shot("wallboard-zh-1920x1080.png")))
        last = await page.locator("#agents li").last.bounding_box()
        assert last is not None and last["y"] + last["height"] <= 1080  # no seat cut off
        assert last["height"] >= 80  # still readable across the room
        # Live: a caller abandons and the page follows without a reload.
        abandoned_before = zh["abandoned"]
        service.on_event(
            Event(name="QueueCallerAbandon", headers=(("Queue", "q-zh"), ("Uniqueid", "x.1")))
        )
        await expect(card.locator("[data-field=abandoned] .v")).to_have_text(
            str(abandoned_before + 1)
        )
        await page.click("#langs button[data-lang=ko]")
        await expect(page.locator("#title")).to_have_text(re.compile("핫라인"))
        await page.screenshot(path=str(shot("wallboard-ko-1920x1080.png")))
        await page.click("#langs button[data-lang=en]")
        await expect(card.locator("[data-field=paused]")).to_contain_text("meal")
        await page.screenshot(path=str(shot("wallboard-en-1920x1080.png")))
    finally:
        await context.close()


async def test_an_agent_account_is_told_it_is_not_a_supervisor(
    browser: Browser, aiohttp_server: Any
) -> None:
    accounts = MemoryAgentAccounts()
    accounts.add("a07", "李娜", "zh", PASSWORD)
    app = create_app(
        Settings(), WebServices(accounts, InProcessBus(), _NoWrapups(), SeatDirectory())
    )
    app[WALLBOARD] = WallboardService()
    server = await aiohttp_server(app)
    context = await browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = await context.new_page()
    try:
        await page.goto(str(server.make_url("/wallboard")))
        await page.fill("#login-agent", "a07")
        await page.fill("#login-password", PASSWORD)
        await page.click("#login button[type=submit]")
        await expect(page.locator("#login-error")).to_have_text("此账号不是班长账号")
        assert await page.locator("#board").is_hidden()
    finally:
        await context.close()
