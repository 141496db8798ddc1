"""Degraded mode on the agent page (issue 15): the server lost Redis and says so; the page shows
an amber banner in the agent's language, still shows the pop the server delivered without a
seq, and takes the next sequenced message as if nothing happened."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from cti.state import PopDue, pop_message
from cti.web.degraded import message
from cti.web.keys import HUB
from tests.e2e.conftest import Stack, log_in, shot

pytestmark = pytest.mark.browser


async def test_degraded_banner_in_three_languages_and_a_degraded_pop_shows(
    stack: Stack, page: Page
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    hub = stack.app[HUB]
    banner = page.locator("#degraded-banner")
    await expect(banner).to_be_hidden()

    await hub.send_all(message(True))  # what the node's keeper sends when Redis stops answering
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("降级运行")
    await expect(banner).to_contain_text("Redis")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "degraded")
    await expect(page.locator("#conn-text")).to_have_text("降级运行")

    # A pop the node published while Redis was down: delivered from the node, no seq.
    due = PopDue("a07", "seat07", "d-1", "q-zh", "05356683318", "张先生", 4.0)
    degraded_pop = {**pop_message(due, stack.locator.lookup("05356683318")), "degraded": True}
    await hub.send_all(degraded_pop)
    await expect(page.locator("#caller-name")).to_have_text("张先生")
    await expect(page.locator("#resident-name")).to_have_text("张建国")
    await page.screenshot(path=shot("agent-degraded-zh.png"))
    assert await page.evaluate("sessionStorage.getItem('cti.last_seq')") in ("0", None)

    await page.click("button.lang[data-lang=en]")
    await expect(banner).to_contain_text("Degraded mode")
    await expect(banner).to_contain_text("Do not reload")
    await page.screenshot(path=shot("agent-degraded-en.png"))
    await page.click("button.lang[data-lang=ko]")
    await expect(banner).to_contain_text("비상 운영")
    await page.screenshot(path=shot("agent-degraded-ko.png"))

    await hub.send_all(message(False))  # Redis is back
    await expect(banner).to_be_hidden()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    # The next sequenced message is not mistaken for one already seen.
    due = PopDue("a07", "seat07", "n-1", "q-zh", "05356891234", "刘", 2.0)
    await stack.bus.publish("a07", pop_message(due, stack.locator.lookup("05356891234")))
    await expect(page.locator("#caller-name")).to_have_text("刘")
