"""A real Chromium looks at /agent while the recordings are replayed through the stack."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from cti.state import PopDue, pop_message
from cti.web.keys import HUB
from cti.web.sockets import CLOSE_GOING_AWAY
from tests.e2e.conftest import Stack, log_in, shot
from tests.support.recordings import recording_events

pytestmark = pytest.mark.browser


async def test_pop_appears_at_ring_then_answered_completed_and_wrapup_saved(
    stack: Stack, page: Page, traces_dir: Path
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    events = recording_events(traces_dir / "03-call-answered.ami")
    ring = next(i for i, e in enumerate(events) if e.name == "AgentCalled")
    for event in events[: ring + 1]:
        await stack.state.on_event(event)

    await expect(page.locator("#call-status")).to_have_attribute("data-status", "ringing")
    await expect(page.locator("#caller-name")).to_have_text("张先生")
    await expect(page.locator("#household .person")).to_have_count(2)
    await expect(page.locator("#household .person").nth(1)).to_contain_text("空巢")
    await expect(page.locator("#resident-name")).to_have_text("张建国")
    await expect(page.locator("#resident-flags")).to_contain_text("空巢")
    await expect(page.locator("#kin-list li").first).to_contain_text("张明")
    await expect(page.locator("#kin-list li").first).to_contain_text("儿子")
    await expect(page.locator("#kin-list li").first).to_contain_text("139 5351 2345")
    await page.screenshot(path=shot("agent-pop-ringing-zh.png"))

    await page.locator("#household .person").nth(1).click()
    await expect(page.locator("#resident-name")).to_have_text("王桂兰")

    for event in events[ring + 1 :]:
        await stack.state.on_event(event)
    await expect(page.locator("#call-status")).to_have_attribute("data-status", "completed")
    await expect(page.locator("#wrapup")).to_be_visible()
    await page.locator("#outcomes input[value=handed_over]").check()
    await page.fill("#wrapup-note", "转社区网格员上门看望")
    await page.click("#wrapup button[type=submit]")
    await expect(page.locator("#wrapup-result")).to_have_text("已保存")
    await page.evaluate("window.scrollTo(0, 0)")  # the sticky bar belongs at the top
    await page.screenshot(path=shot("agent-completed-wrapup-zh.png"), full_page=True)


async def test_caller_supplied_markup_is_shown_literally_and_never_runs(
    stack: Stack, page: Page
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    evil = "<img src=x onerror=alert(1)>"
    await stack.bus.publish(
        "a07",
        {
            "type": "pop",
            "call_id": "evil-1",
            "queue": "q-zh<script>alert(2)</script>",
            "caller": {
                "number": "13800000000",
                "normalized": None,
                "name": evil,
                "kind": "domestic",
            },
            "residents": [
                {
                    "id": "X1",
                    "name": "<b onmouseover=alert(3)>王</b>",
                    "age": 80,
                    "address": "<iframe src=javascript:alert(4)>",
                    "flags": ["lives_alone"],
                    "next_of_kin": [{"name": evil, "relation": "<i>子</i>", "phones": ["<a>"]}],
                }
            ],
            "waited_s": 0,
        },
    )
    await expect(page.locator("#caller-name")).to_have_text(evil)
    await expect(page.locator("#resident-name")).to_have_text("<b onmouseover=alert(3)>王</b>")
    await expect(page.locator("#resident-address")).to_have_text("<iframe src=javascript:alert(4)>")
    await expect(page.locator(".kin-name")).to_have_text(evil)
    await page.locator("#resident-name").hover()
    assert await page.locator("main img, main iframe, main b, main script, main i").count() == 0
    assert page.dialogs == []  # type: ignore[attr-defined]
    await page.screenshot(path=shot("agent-xss-literal.png"))


async def test_foreign_korean_caller_in_korean_with_flags(stack: Stack, page: Page) -> None:
    await log_in(page, stack.url, "a31", "seat31")
    await page.click("button.lang[data-lang=ko]")
    match = stack.locator.lookup("+821012345678")
    due = PopDue("a31", "seat31", "kr-1", "q-ko", "+821012345678", "Kim", 12.0)
    await stack.bus.publish("a31", pop_message(due, match))
    await expect(page.locator("#caller-kind")).to_contain_text("+82")
    await expect(page.locator("#caller-kind")).to_contain_text("해외 번호")
    await expect(page.locator("#caller-number")).to_have_text("+82 10 1234 5678")
    await expect(page.locator("#resident-name")).to_have_text("金顺子")
    await expect(page.locator("#call-status-text")).to_have_text("전화 수신 중")
    await page.screenshot(path=shot("agent-pop-foreign-ko.png"))
    await page.click("button.lang[data-lang=en]")
    await expect(page.locator("#caller-kind")).to_contain_text("Foreign number (+82")
    await page.screenshot(path=shot("agent-pop-foreign-en.png"))


async def test_unknown_caller_state_and_lives_alone_flags(stack: Stack, page: Page) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    due = PopDue("a07", "seat07", "u-1", "q-zh", "<unknown>", None, 3.0)
    await stack.bus.publish("a07", pop_message(due, stack.locator.lookup("<unknown>")))
    await expect(page.locator("#caller-kind")).to_have_text("未知来电")
    await expect(page.locator("#no-resident")).to_contain_text("无法查询")
    await page.screenshot(path=shot("agent-unknown-caller-zh.png"))
    due = PopDue("a07", "seat07", "l-1", "q-zh", "05356891234", "刘", 3.0)
    await stack.bus.publish("a07", pop_message(due, stack.locator.lookup("05356891234")))
    for flag in ("独居", "空巢", "失独"):
        await expect(page.locator("#resident-flags")).to_contain_text(flag)
    await page.screenshot(path=shot("agent-pop-flags-zh.png"))


async def test_indicator_shows_reconnecting_then_resynced_and_misses_nothing(
    stack: Stack, page: Page
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await expect(page.locator("#conn-resynced")).to_be_hidden()
    # The server goes away (1001, as on a restart); a pop is published while the page is out.
    await stack.app[HUB].close_all(CLOSE_GOING_AWAY, "test restart")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    due = PopDue("a07", "seat07", "missed-1", "q-zh", "05356683318", "张先生", 5.0)
    await stack.bus.publish("a07", pop_message(due, stack.locator.lookup("05356683318")))
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(page.locator("#conn-resynced")).to_contain_text("已于")
    await expect(page.locator("#resident-name")).to_have_text("张建国")
    await page.screenshot(path=shot("agent-resynced-zh.png"))


async def _ring_answer_complete(stack: Stack, traces_dir: Path) -> None:
    for event in recording_events(traces_dir / "03-call-answered.ami"):
        await stack.state.on_event(event)


async def test_wrapup_gets_keyboard_focus_above_the_resident_and_keeps_the_typed_note(
    stack: Stack, page: Page, traces_dir: Path
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await _ring_answer_complete(stack, traces_dir)
    await expect(page.locator("#wrapup")).to_be_visible()
    await expect(page.locator("#outcomes input[value=resolved]")).to_be_focused()
    wrapup = await page.locator("#wrapup").bounding_box()
    household = await page.locator("#household").bounding_box()
    assert wrapup is not None and household is not None
    assert wrapup["y"] < household["y"]  # the form is in sight without scrolling
    await page.keyboard.press("ArrowRight")
    await expect(page.locator("#outcomes input[value=handed_over]")).to_be_checked()
    await page.keyboard.press("Tab")
    await expect(page.locator("#wrapup-note")).to_be_focused()
    await page.keyboard.type("转社区网格员")
    # Anything that re-renders the page (a queue state, a language switch) keeps both.
    await stack.bus.publish("a07", {"type": "state", "seat": "seat07", "queues": []})
    await page.click("button.lang[data-lang=en]")
    await expect(page.locator("#outcomes")).to_contain_text("Handed to department")
    await expect(page.locator("#outcomes input[value=handed_over]")).to_be_checked()
    await expect(page.locator("#wrapup-note")).to_have_value("转社区网格员")
    await page.click("#wrapup button[type=submit]")
    await expect(page.locator("#wrapup-result")).to_have_text("Saved")


async def test_a_retract_after_a_saved_wrapup_goes_idle_with_a_notice(
    stack: Stack, page: Page, traces_dir: Path
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await _ring_answer_complete(stack, traces_dir)
    await page.click("#wrapup button[type=submit]")
    await expect(page.locator("#wrapup-result")).to_have_text("已保存")
    due = PopDue("a07", "seat07", "l-1", "q-zh", "05356891234", "刘", 3.0)
    await stack.bus.publish("a07", pop_message(due, stack.locator.lookup("05356891234")))
    await expect(page.locator("#resident-name")).to_have_text("刘淑珍")
    await stack.bus.publish("a07", {"type": "retract", "call_id": "l-1", "reason": "no_answer"})
    await expect(page.locator("#idle-view")).to_be_visible()
    await expect(page.locator("#call-view")).to_be_hidden()
    await expect(page.locator("#notice")).to_contain_text("刘")
    await expect(page.locator("#notice")).to_contain_text("下一位坐席")


async def test_a_pop_during_an_unsaved_wrapup_leaves_a_way_back_to_it(
    stack: Stack, page: Page, traces_dir: Path
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await _ring_answer_complete(stack, traces_dir)
    await page.fill("#wrapup-note", "未写完")
    due = PopDue("a07", "seat07", "u-1", "q-zh", "<unknown>", None, 3.0)
    await stack.bus.publish("a07", pop_message(due, stack.locator.lookup("<unknown>")))
    await expect(page.locator("#call-status")).to_have_attribute("data-status", "ringing")
    other = page.locator("#other-calls-list button")
    await expect(other).to_have_count(1)
    await expect(other).to_contain_text("通话结束")
    await expect(other).to_contain_text("张先生")
    await other.click()
    await expect(page.locator("#call-status")).to_have_attribute("data-status", "completed")
    await expect(page.locator("#wrapup-note")).to_have_value("未写完")
    await expect(page.locator("#other-calls-list button")).to_contain_text("未知来电")


async def test_call_view_is_marked_out_of_date_while_reconnecting(stack: Stack, page: Page) -> None:
    await page.clock.install()
    await log_in(page, stack.url, "a07", "seat07")
    due = PopDue("a07", "seat07", "c-1", "q-zh", "05356683318", "张先生", 5.0)
    await stack.bus.publish("a07", pop_message(due, stack.locator.lookup("05356683318")))
    await expect(page.locator("#resident-name")).to_have_text("张建国")
    await expect(page.locator("#stale")).to_be_hidden()
    now_ms = await page.evaluate("Date.now()")
    await page.clock.pause_at(datetime.fromtimestamp(now_ms / 1000 + 1, tz=UTC))  # no retry fires
    await stack.app[HUB].close_all(CLOSE_GOING_AWAY, "test restart")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    await expect(page.locator("#stale")).to_be_visible()
    await expect(page.locator("#stale")).to_contain_text("可能已过时")
    await expect(page.locator("#call-timer")).to_contain_text("振铃")  # this ring, not the queue
    await expect(page.locator("#caller-wait")).to_contain_text("排队 5 秒")
    await expect(page.locator("#call-timer")).not_to_contain_text("分")
    await page.screenshot(path=shot("agent-reconnecting-zh.png"))
    await page.clock.resume()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(page.locator("#stale")).to_be_hidden()


async def test_a_seq_ahead_reset_lets_the_next_pop_through(stack: Stack, page: Page) -> None:
    """The page remembers seq 1000 but the server's stream restarted (Redis came back empty):
    the server says `seq_ahead`, the page starts again from the server's seq."""
    await log_in(page, stack.url, "a07", "seat07")
    await page.evaluate("sessionStorage.setItem('cti.last_seq', '1000')")
    await page.reload()
    await page.wait_for_selector("#conn[data-state=live], #conn[data-state=pbx_down]")
    due = PopDue("a07", "seat07", "after-reset", "q-zh", "05356683318", "张先生", 2.0)
    await stack.bus.publish("a07", pop_message(due, stack.locator.lookup("05356683318")))
    await expect(page.locator("#resident-name")).to_have_text("张建国")
