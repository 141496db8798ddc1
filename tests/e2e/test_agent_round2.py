"""Issue 11, second round: what a busy agent needs on the second monitor, in real Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, expect

from cti.state import PopDue, pop_message
from tests.e2e.conftest import Stack, log_in, shot
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.browser


@pytest.fixture
async def proxy(stack: Stack) -> AsyncIterator[TcpProxy]:
    where = urlsplit(stack.url)
    assert where.hostname is not None and where.port is not None
    proxy = TcpProxy(where.hostname, where.port)
    await proxy.start()
    try:
        yield proxy
    finally:
        proxy.release()
        await proxy.stop()


async def test_a_silent_link_reads_stale_then_reconnects_and_replays(
    stack: Stack, page: Page, proxy: TcpProxy
) -> None:
    await log_in(page, f"http://127.0.0.1:{proxy.port}/agent", "a07", "seat07")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    due = PopDue("a07", "seat07", "hb-1", "q-zh", "05356683318", "张先生", 5.0)
    await stack.bus.publish("a07", pop_message(due, stack.locator.lookup("05356683318")))
    await expect(page.locator("#call-status")).to_have_attribute("data-status", "ringing")

    proxy.hold()  # packets held: no FIN, no RST, the socket looks open to the browser
    await stack.bus.publish(
        "a07", {"type": "answered", "call_id": "hb-1", "queue": "q-zh", "waited_s": 5, "ring_s": 2}
    )
    await stack.bus.publish(
        "a07", {"type": "completed", "call_id": "hb-1", "talk_s": 9, "hung_up_by": "caller"}
    )
    # Heartbeats every second: two missed and the page says so (never "live" for a minute).
    await expect(page.locator("#conn")).to_have_attribute("data-state", "stale", timeout=5000)
    await expect(page.locator("#stale")).to_be_visible()
    await expect(page.locator("#call-status")).to_have_attribute("data-status", "ringing")
    await page.screenshot(path=shot("agent-stale-zh.png"))

    proxy.release()  # the network is back: the page reconnects with its last_seq
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=15000)
    await expect(page.locator("#call-status")).to_have_attribute("data-status", "completed")
    await expect(page.locator("#wrapup")).to_be_visible()
    await expect(page.locator("#stale")).to_be_hidden()
    # The token never went into a URL: the socket opened with a ticket.
    urls: list[str] = await page.evaluate(
        "performance.getEntriesByType('resource').map((e) => e.name)"
    )
    assert not any("token=" in u for u in urls)
