"""Issue 11, second round: what a busy agent needs on the second monitor, in real Chromium."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, Page, expect

from cti.state import PopDue, pop_message
from tests.e2e.conftest import Stack, log_in, shot
from tests.support.recordings import recording_events
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


def _pop(
    call_id: str, name: str | None, number: str, residents: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "type": "pop",
        "call_id": call_id,
        "queue": "q-zh",
        "seat": "seat07",
        "caller": {"number": number, "normalized": None, "name": name, "kind": "domestic"},
        "residents": residents,
        "waited_s": 4,
        "ivr": None,
    }


async def _ring_answer_complete(stack: Stack, traces_dir: Path) -> None:
    for event in recording_events(traces_dir / "03-call-answered.ami"):
        await stack.state.on_event(event)


async def test_right_to_left_override_in_caller_text_is_isolated(stack: Stack, page: Page) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    rlo = "\u202e"
    kin = [{"name": rlo + "evil", "relation": rlo + "son", "phones": ["+8613953512345"]}]
    residents = [
        {
            "id": "X1",
            "name": rlo + "evil",
            "age": 85,
            "address": rlo + "Road 17, room 402",
            "community": rlo + "east",
            "language": "zh",
            "flags": [],
            "next_of_kin": kin,
        },
        {
            "id": "X2",
            "name": rlo + "live",
            "age": 82,
            "address": "",
            "flags": [],
            "next_of_kin": [],
        },
    ]
    await stack.bus.publish("a07", _pop("rtl-1", rlo + "evil", "13800000000", residents))
    await expect(page.locator("#resident-name")).to_have_text(rlo + "evil")
    for selector in (
        "#caller-name",
        "#resident-name",
        "#resident-address",
        "#resident-community",
        ".kin-name",
        ".kin-relation",
        ".kin-phone",
        ".person-name",
    ):
        isolation = await page.locator(selector).first.evaluate(
            "n => getComputedStyle(n).unicodeBidi"
        )
        assert isolation in ("isolate", "isolate-override", "plaintext"), (selector, isolation)
    # The age is drawn after the name, not dragged inside it.
    name = await page.locator("#resident-name").bounding_box()
    age = await page.locator("#resident-age").bounding_box()
    assert name is not None and age is not None
    assert age["x"] >= name["x"] + name["width"] - 1
    await page.screenshot(path=shot("agent-rtl-isolated-en.png"))


async def test_search_attaches_an_unknown_caller_and_is_audited_and_closed_to_others(
    stack: Stack, page: Page
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await stack.bus.publish("a07", _pop("s-1", None, "<unknown>", []))
    await expect(page.locator("#search")).to_be_visible()
    await page.fill("#search-q", "滨海中路17号")
    await page.press("#search-q", "Enter")
    results = page.locator(".search-result")
    await expect(results).to_have_count(2)
    await expect(results.nth(1)).to_contain_text("王桂兰")
    await page.screenshot(path=shot("agent-search-results-zh.png"))
    await results.nth(1).locator("button.attach").click()
    await expect(page.locator("#resident-name")).to_have_text("王桂兰")
    await expect(page.locator("#resident-found")).to_be_visible()
    await expect(page.locator("#search")).to_be_hidden()
    async with stack.engine.connect() as conn:
        views = (
            await conn.execute(
                sa.text("SELECT resident_id FROM resident_view WHERE call_id = 's-1'")
            )
        ).all()
    assert sorted(r[0] for r in views) == ["LS0001", "LS0002", "LS0002"]  # two shown, one attached
    # A call that is not this agent's (or no longer open) keeps the registry closed.
    status = await page.evaluate(
        """async () => {
          const s = JSON.parse(sessionStorage.getItem("cti.session"));
          const r = await fetch("/api/calls/someone-elses/residents?q=%E7%8E%8B",
                                {headers: {Authorization: "Bearer " + s.token}});
          return [r.status, (await r.json()).error];
        }"""
    )
    assert status == [409, "call_not_open"]


async def test_who_called_is_recorded_with_the_wrapup(
    stack: Stack, page: Page, traces_dir: Path
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await _ring_answer_complete(stack, traces_dir)
    await expect(page.locator("#wrapup")).to_be_visible()
    people = page.locator("#household .person")
    # Shown first is not chosen: dashed, not pressed, until the agent picks.
    await expect(people.first).to_have_attribute("aria-pressed", "false")
    await expect(people.first).to_have_class("person shown")
    await expect(page.locator("#who-options input:checked")).to_have_count(0)
    await page.locator("#who-options label", has_text="其他人").click()
    await page.fill("#who-other-text", "邻居王阿姨")
    await page.screenshot(path=shot("agent-who-called-other-zh.png"))
    await people.nth(1).click()
    await expect(people.nth(1)).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#who-options input[value='r:LS0002']")).to_be_checked()
    await page.click("#wrapup button[type=submit]")
    await expect(page.locator("#wrapup-result")).to_have_text("已保存")
    async with stack.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.text("SELECT caller_resident, caller_other, wrapup_outcome FROM call_log")
            )
        ).one()
    assert tuple(row) == ("LS0002", None, "resolved")


async def test_pop_has_language_community_last_contacts_queue_label_ring_timer_and_copy(
    stack: Stack, browser: Browser, traces_dir: Path
) -> None:
    async with stack.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO call_log (call_id, queue, resident_ids, joined_at, ended_at,"
                " waited_s, outcome, closed_on_resync, rings, wrapup_outcome, wrapup_note)"
                " VALUES ('old-1', 'q-zh', 'LS0001 LS0002', '2026-11-02 09:00:00+00',"
                " '2026-11-02 09:04:00+00', 3, 'answered', false, '[]', 'handed_over',"
                " '转社区网格员上门看望\n第二行不显示')"
            )
        )
    context = await browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await context.new_page()
    try:
        await log_in(page, stack.url, "a07", "seat07")
        events = recording_events(traces_dir / "03-call-answered.ami")
        ring = next(i for i, e in enumerate(events) if e.name == "AgentCalled")
        for event in events[: ring + 1]:
            await stack.state.on_event(event)
        await expect(page.locator("#resident-name")).to_have_text("张建国")
        await expect(page.locator("#resident-lang")).to_contain_text("中文")
        await expect(page.locator("#resident-community")).to_have_text("黄海路街道滨海社区")
        await expect(page.locator("#contact-list li")).to_have_count(1)
        await expect(page.locator("#contact-list li")).to_contain_text("转交部门")
        await expect(page.locator("#contact-list li")).to_contain_text("转社区网格员上门看望")
        await expect(page.locator("#contact-list li")).not_to_contain_text("第二行")
        await expect(page.locator("#caller-queue")).to_have_text("队列 普通话")
        await expect(page.locator("#call-timer")).to_contain_text("振铃")
        await expect(page.locator("#caller-wait")).to_contain_text("排队")
        # Nothing from the health notes ("高血压") reaches the page.
        assert "高血压" not in await page.locator("main").inner_text()
        await page.locator(".kin-item").first.locator("button.copy").click()
        await expect(page.locator(".kin-item").first.locator("button.copy")).to_have_text("已复制")
        assert await page.evaluate("navigator.clipboard.readText()") == "13953512345"
        await page.screenshot(path=shot("agent-pop-contacts-zh.png"))
    finally:
        await context.close()


async def test_minor_items_language_favicon_us_numbers_borders_chips(
    stack: Stack, browser: Browser
) -> None:
    context = await browser.new_context(viewport={"width": 1600, "height": 900}, locale="ko-KR")
    page = await context.new_page()
    try:
        await page.goto(stack.url)
        await expect(page.locator("#login-form h1")).to_have_text("상담원 로그인")  # ko-KR
        icon = await page.evaluate(
            "fetch(document.querySelector('link[rel=icon]').href).then(r => r.status)"
        )
        assert icon == 200
        border = await page.locator("#login-agent").evaluate(
            "n => getComputedStyle(n).borderTopColor"
        )
        assert _contrast(border, "rgb(255, 255, 255)") >= 3.0
        await log_in(page, stack.url, "a07", "seat07")
        us = [{"name": "Kim", "relation": "son", "phones": ["+12125550142"]}]
        resident = {
            "id": "X1",
            "name": "A",
            "age": 80,
            "address": "",
            "flags": [],
            "next_of_kin": us,
        }
        await stack.bus.publish("a07", _pop("c-1", "김", "13800000000", [resident]))
        await expect(page.locator(".kin-phone")).to_have_text("+1 212-555-0142")
        await stack.bus.publish("a07", _pop("c-2", "김", "13800000000", [resident]))
        chip = page.locator("#other-calls-list button")
        await expect(chip).to_contain_text("김")
        await expect(chip.locator(".other-call-at")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    finally:
        await context.close()


def _contrast(a: str, b: str) -> float:
    def luminance(css: str) -> float:
        r, g, b_ = (int(x) / 255 for x in re.findall(r"\d+", css)[:3])

        def lin(c: float) -> float:
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b_)

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


SIZES = {"1920": {"width": 1920, "height": 1080}, "1366": {"width": 1366, "height": 768}}


async def _every_view(page: Page, state: str) -> None:
    for size, viewport in SIZES.items():
        await page.set_viewport_size(viewport)
        for lang in ("zh", "en", "ko"):
            await page.click(f"button.lang[data-lang={lang}]")
            await expect(page.locator("html")).to_have_attribute(
                "lang", {"zh": "zh-CN", "en": "en", "ko": "ko"}[lang]
            )
            await page.evaluate("window.scrollTo(0, 0)")
            await page.screenshot(path=shot(f"round2-{state}-{lang}-{size}.png"))
    await page.click("button.lang[data-lang=zh]")


async def test_screenshots_of_every_state_in_three_languages_at_two_sizes(
    stack: Stack, page: Page, traces_dir: Path
) -> None:
    async with stack.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO call_log (call_id, queue, resident_ids, joined_at, ended_at,"
                " waited_s, outcome, closed_on_resync, rings, wrapup_outcome, wrapup_note)"
                " VALUES ('old-1', 'q-zh', 'LS0001 LS0002', '2026-11-02 09:00:00+00',"
                " '2026-11-02 09:04:00+00', 3, 'answered', false, '[]', 'handed_over',"
                " '转社区网格员上门看望')"
            )
        )
    await log_in(page, stack.url, "a07", "seat07")
    await _every_view(page, "idle")
    events = recording_events(traces_dir / "03-call-answered.ami")
    ring = next(i for i, e in enumerate(events) if e.name == "AgentCalled")
    answer = next(i for i, e in enumerate(events) if e.name == "AgentConnect")
    for event in events[: ring + 1]:
        await stack.state.on_event(event)
    await expect(page.locator("#contact-list li")).to_have_count(1)
    await _every_view(page, "ringing-household")
    for event in events[ring + 1 : answer + 1]:
        await stack.state.on_event(event)
    await expect(page.locator("#call-status")).to_have_attribute("data-status", "answered")
    await page.locator("#household .person").nth(1).click()
    await _every_view(page, "answered-chosen")
    for event in events[answer + 1 :]:
        await stack.state.on_event(event)
    await expect(page.locator("#wrapup")).to_be_visible()
    await page.locator("#outcomes input[value=handed_over]").check()
    await page.fill("#wrapup-note", "转社区网格员上门看望")
    await _every_view(page, "wrapup")
    # A new caller nobody knows rings while the wrap-up is still open: search beside it.
    await stack.bus.publish("a07", _pop("u-9", None, "<unknown>", []))
    await expect(page.locator("#search")).to_be_visible()
    await page.fill("#search-q", "王")
    await page.press("#search-q", "Enter")
    await expect(page.locator(".search-result")).to_have_count(1)
    await _every_view(page, "unknown-search-beside-wrapup")
    await page.locator(".search-result button.attach").click()
    await expect(page.locator("#resident-found")).to_be_visible()
    await _every_view(page, "attached")
    await page.locator("#other-calls-list button").click()
    await page.click("#wrapup button[type=submit]")
    await expect(page.locator("#wrapup-result")).to_have_text("已保存")
    await _every_view(page, "wrapup-saved")
