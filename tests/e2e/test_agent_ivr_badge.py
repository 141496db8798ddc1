"""What the language menu learnt shows on the pop (issue 12), the server's callback hold reads
as words, and a lost seat names who took it (issue 11), in a real Chromium."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import pytest
from playwright.async_api import Page, expect

from cti.state import PopDue, pop_message
from tests.e2e.conftest import PASSWORD, Stack, log_in, shot
from tests.e2e.test_agent_duty import duty

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Learnt:
    language: str
    how: str
    emergency: bool
    recognised: bool


async def _pop(stack: Stack, call_id: str, learnt: Learnt | None) -> None:
    due = PopDue("a07", "seat07", call_id, "q-zh", "05356683318", "张先生", 4.0)
    match = stack.locator.lookup("05356683318")
    await stack.bus.publish("a07", pop_message(due, match, learnt))


async def test_an_emergency_from_the_menu_is_said_first_and_loudest(
    stack: Stack, page: Page
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await _pop(stack, "c-9", Learnt("zh", "emergency", True, False))
    badge = page.locator("#caller-ivr")
    await expect(badge).to_be_visible()
    await expect(badge).to_have_text("紧急求助（按9）")
    await expect(badge).to_have_class("caller-ivr emergency")
    await page.screenshot(path=shot("agent-ivr-emergency-zh.png"))


async def test_how_the_language_was_settled_reads_in_the_agents_language(
    stack: Stack, page: Page
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await page.click("button.lang[data-lang=en]")
    await _pop(stack, "c-3", Learnt("ko", "chosen", False, False))
    await expect(page.locator("#caller-ivr")).to_have_text("Chose 한국어 in the menu")
    await _pop(stack, "c-r", Learnt("zh", "recognised", False, True))
    await expect(page.locator("#caller-ivr")).to_have_text(
        "Registered resident recognised · 普通话"
    )
    await _pop(stack, "c-none", None)  # not through this server's menu: no badge
    await expect(page.locator("#caller-ivr")).to_be_hidden()


async def test_a_callback_hold_reads_as_calling_back(stack: Stack, page: Page) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await page.click("button.lang[data-lang=en]")
    await stack.bus.publish("a07", duty("paused", "callback"))
    await expect(page.locator("#duty-state")).to_contain_text("Calling back")


async def test_a_seat_taken_by_another_agent_says_who(stack: Stack, page: Page) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await page.click("button.lang[data-lang=en]")
    base = stack.url.rsplit("/agent", 1)[0]
    async with aiohttp.ClientSession() as http:
        body = {"agent": "a31", "password": PASSWORD, "seat": "seat07"}
        async with http.post(f"{base}/api/login", json=body) as resp:
            assert resp.status == 200
    await expect(page.locator("#login-error")).to_have_text(
        "Agent a31 logged in at this seat. Please log in again."
    )
