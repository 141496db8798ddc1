"""Ready / pause and the PBX-down truth through `cti serve`'s own wiring: Chromium → the
duty routes → MembershipService → AMIClient → the PBX simulator (which, like Asterisk, keeps
the members and their pauses) → `duty` / `pbx` back on the page."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, Request, expect

from cti.ami import ListResult
from cti.db import create_engine, upgrade
from cti.settings import LocatorSettings, load_settings
from cti.sim import CallerSpec, PbxConfig, SimConfig, SimThread
from cti.web import create_app
from cti.web.keys import AMI
from locator import parse_file, save_residents
from seats import SqlAgentAccounts
from tests.e2e.conftest import PASSWORD, log_in, shot
from tests.support.waiting import eventually

pytestmark = pytest.mark.browser

FAST = PbxConfig(no_answer_ratio=0.0, answer_delay=(0.05, 0.05), retry=0.05)


@dataclass
class Served:
    url: str
    ami_port: int
    app: web.Application

    def sim(self) -> SimThread:
        """A simulated Asterisk on the port the server dials (not started)."""
        return SimThread(SimConfig(port=self.ami_port, pbx=FAST))

    async def member(self, queue: str, seat: str) -> dict[str, str] | None:
        """Asterisk's (the simulator's) own view of one member, asked over AMI."""
        result = await self.app[AMI].send("QueueStatus")
        assert isinstance(result, ListResult)
        for e in result.events:
            if e.name == "QueueMember" and (e.get("Queue"), e.get("Name")) == (queue, seat):
                return {"paused": e.get("Paused") or "", "reason": e.get("PausedReason") or ""}
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def served(
    tmp_path: Path, registry_sample: Path, aiohttp_server: Any
) -> AsyncIterator[Served]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine, "head")
    await save_residents(engine, parse_file(registry_sample, LocatorSettings()).records)
    await SqlAgentAccounts(engine).add("a07", "李娜", "zh,en", PASSWORD, "seat07")
    await engine.dispose()
    port = _free_port()
    settings = load_settings(
        database_url=url,
        ami={"port": port, "backoff_min_s": 0.1, "backoff_max_s": 0.3},
        members={"interface": "Local/{seat}@agents/n", "retry_s": 0.2},
    )
    app = create_app(settings)  # no injected services: the production cleanup context
    server: TestServer = await aiohttp_server(app)
    yield Served(str(server.make_url("/agent")), port, app)


def _posted(path: str) -> Any:
    def match(request: Request) -> bool:
        return request.method == "POST" and request.url.endswith(path)

    return match


async def test_pause_for_a_meal_from_the_page_pauses_the_seat_in_asterisk_then_ready(
    served: Served, page: Page
) -> None:
    async with served.sim():
        await log_in(page, served.url, "a07", "seat07")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=15_000)
        await expect(page.locator("#duty-status")).to_have_text("就绪")
        members = page.locator("#queue-rows .queue-member")
        await expect(members).to_have_text(["已加入", "已加入"], timeout=10_000)
        await expect(page.locator("#queue-rows .queue-name")).to_have_text(["q-zh", "q-en"])
        await page.screenshot(path=shot("duty-full-stack-ready-zh.png"))

        await page.click("#pause-btn")
        async with page.expect_request(_posted("/api/agent/pause")) as posted:
            await page.click("#pause-reasons button[data-reason=meal]")
        assert (await posted.value).post_data_json == {"reason": "meal"}
        await expect(page.locator("#duty-status")).to_have_text("暂停：用餐")
        await expect(page.locator("#duty-error")).to_have_text("")
        assert await eventually(
            lambda: _is(served.member("q-zh", "seat07"), {"paused": "1", "reason": "meal"}),
            what="seat07 paused for a meal in Asterisk",
        )
        await expect(page.locator("#queue-rows .queue-pause")).to_have_text(["暂停", "暂停"])
        await page.screenshot(path=shot("duty-full-stack-paused-meal-zh.png"))

        async with page.expect_request(_posted("/api/agent/ready")):
            await page.click("#ready-btn")
        await expect(page.locator("#duty-status")).to_have_text("就绪")
        assert await eventually(
            lambda: _is(served.member("q-zh", "seat07"), {"paused": "0", "reason": ""}),
            what="seat07 ready in Asterisk",
        )


async def test_asterisk_down_shows_unreachable_and_live_returns_with_the_members(
    served: Served, page: Page
) -> None:
    # Nothing listens on the AMI port: the page must not say "live".
    await log_in(page, served.url, "a07", "seat07")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "pbx_down")
    await expect(page.locator("#pbx-banner")).to_be_visible()
    await expect(page.locator("#pbx-banner")).to_contain_text("电话系统无法连接")
    await expect(page.locator("#queue-rows .queue-member")).to_have_text(["尚未加入", "尚未加入"])
    await expect(page.locator("#idle-text")).to_have_text("电话系统恢复前不会有来电")
    await page.screenshot(path=shot("pbx-unreachable-full-stack-zh.png"))
    async with served.sim():
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=15_000)
        await expect(page.locator("#pbx-banner")).to_be_hidden()
        await expect(page.locator("#queue-rows .queue-member")).to_have_text(
            ["已加入", "已加入"], timeout=10_000
        )
    # Asterisk goes away again: the page says so within 2 s (issue 9).
    await expect(page.locator("#conn")).to_have_attribute("data-state", "pbx_down", timeout=2_000)


async def _is(value: Any, expected: object) -> bool:
    return bool(await value == expected)


async def test_after_call_work_keeps_the_next_caller_off_until_the_wrapup_is_saved(
    served: Served, page: Page
) -> None:
    async with served.sim() as sim:
        await log_in(page, served.url, "a07", "seat07")
        await expect(page.locator("#queue-rows .queue-member")).to_have_text(
            ["已加入", "已加入"], timeout=10_000
        )
        await sim.place_call(CallerSpec("q-zh", "05356683318", "张先生", talk=1.0))
        await expect(page.locator("#call-status")).to_have_attribute(
            "data-status", "completed", timeout=10_000
        )
        await expect(page.locator("#duty-status")).to_have_text("话后处理")
        await expect(page.locator("#duty-acw")).to_contain_text("剩余")
        assert await eventually(
            lambda: _is(
                served.member("q-zh", "seat07"), {"paused": "1", "reason": "after-call-work"}
            ),
            what="seat07 paused for after-call work in Asterisk",
        )
        # The next caller waits: Asterisk does not ring a seat in after-call work.
        await sim.place_call(CallerSpec("q-zh", "05356891234", "刘", talk=30.0))
        await page.fill("#wrapup-note", "已回答")
        await page.screenshot(path=shot("acw-full-stack-zh.png"))
        await expect(page.locator("#other-calls")).to_be_hidden()
        await page.click("#wrapup-save")
        # Saved: ready again, and the waiting caller rings this seat at once (the "saved"
        # stays in sight as a line above the new pop).
        await expect(page.locator("#call-status")).to_have_attribute(
            "data-status", "ringing", timeout=10_000
        )
        await expect(page.locator("#resident-name")).to_have_text("刘淑珍")
        await expect(page.locator("#notice")).to_contain_text("已保存 张先生 的通话小结")
        await expect(page.locator("#duty-status")).not_to_have_text("话后处理")
        await page.screenshot(path=shot("acw-full-stack-saved-next-pop-zh.png"))
