"""The agent page's duty controls, the PBX-down banner, retract reasons and a wrap-up that
stays until saved, driven by crafted bus messages (docs/protocol.md) in a real Chromium."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, ViewportSize, expect

from cti.state import PopDue, pop_message
from cti.web.keys import HUB
from cti.web.sockets import CLOSE_GOING_AWAY
from tests.e2e.conftest import Stack, log_in, shot
from tests.support.recordings import recording_events

pytestmark = pytest.mark.browser

SIZES: dict[str, ViewportSize] = {
    "1920": {"width": 1920, "height": 1080},
    "1366": {"width": 1366, "height": 768},
}
LANGS = ("zh", "en", "ko")


def _iso(seconds_from_now: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds_from_now)).isoformat(timespec="seconds")


def _queues(*, ko_member: bool = True, paused: bool = False) -> list[dict[str, Any]]:
    return [
        {"queue": "q-zh", "language": "zh", "penalty": 0, "member": True, "paused": paused,
         "status": "not_in_use"},
        {"queue": "q-en", "language": "en", "penalty": 1, "member": True, "paused": paused,
         "status": "not_in_use"},
        {"queue": "q-ko", "language": "ko", "penalty": 2, "member": ko_member, "paused": paused,
         "status": None if not ko_member else "not_in_use"},
    ]  # fmt: skip


def duty(
    status: str,
    reason: str | None = None,
    *,
    since_s: float = 192,
    acw_left_s: float | None = None,
    queues: list[dict[str, Any]] | None = None,
    pbx: str = "live",
) -> dict[str, Any]:
    """A `duty` message as the server sends it (without seq: the bus adds it)."""
    return {
        "type": "duty",
        "agent": "a07",
        "seat": "seat07",
        "status": status,
        "reason": reason,
        "since": _iso(-since_s),
        "acw_until": None if acw_left_s is None else _iso(acw_left_s),
        "acw_call_id": None,
        "queues": _queues() if queues is None else queues,
        "pbx": {"status": pbx, "since": _iso(-3600), "reason": None},
    }


async def _pop(stack: Stack, call_id: str, number: str, name: str | None) -> None:
    due = PopDue("a07", "seat07", call_id, "q-zh", number, name, 4.0)
    await stack.bus.publish("a07", pop_message(due, stack.locator.lookup(number)))


async def _lang(page: Page, lang: str) -> None:
    await page.click(f"button.lang[data-lang={lang}]")


async def test_ready_with_queues_state_time_and_a_queue_asterisk_lacks(
    stack: Stack, page: Page
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await expect(page.locator("#duty")).to_be_hidden()  # nothing said yet: nothing shown
    await stack.bus.publish("a07", duty("ready", queues=_queues(ko_member=False)))
    await expect(page.locator("#duty-state")).to_have_attribute("data-status", "ready")
    await expect(page.locator("#duty-status")).to_have_text("就绪")
    await expect(page.locator("#duty-time")).to_contain_text("3 分 1")
    await expect(page.locator("#ready-btn")).to_have_attribute("aria-pressed", "true")
    rows = page.locator("#queue-rows tr")
    await expect(rows).to_have_count(3)
    await expect(rows.nth(0)).to_contain_text("q-zh")
    await expect(rows.nth(0)).to_contain_text("中文")
    await expect(rows.nth(0)).to_contain_text("空闲")
    await expect(rows.nth(0)).to_contain_text("已加入")
    await expect(rows.nth(2)).to_have_class("queue-missing")
    await expect(rows.nth(2).locator(".queue-member")).to_have_text("尚未加入")
    await expect(page.locator("#duty-warn")).to_contain_text("q-ko")
    for size, viewport in SIZES.items():
        await page.set_viewport_size(viewport)
        for lang in LANGS:
            await _lang(page, lang)
            await page.screenshot(path=shot(f"duty-ready-queues-{lang}-{size}.png"))
    await expect(rows.nth(1)).to_contain_text("영어")
    await expect(page.locator("#duty-status")).to_have_text("수신 가능")


async def test_paused_for_a_meal_reads_the_reason_in_each_language(
    stack: Stack, page: Page
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await stack.bus.publish("a07", duty("paused", "meal", since_s=75, queues=_queues(paused=True)))
    await expect(page.locator("#duty-state")).to_have_attribute("data-status", "paused")
    await expect(page.locator("#idle-text")).to_contain_text("已暂停")
    await expect(page.locator("#pause-btn")).to_have_class("duty-btn duty-pause current")
    expected = {"zh": "暂停：用餐", "en": "Paused: Meal", "ko": "일시정지: 식사"}
    for size, viewport in SIZES.items():
        await page.set_viewport_size(viewport)
        for lang in LANGS:
            await _lang(page, lang)
            await expect(page.locator("#duty-status")).to_have_text(expected[lang])
            await page.screenshot(path=shot(f"duty-paused-meal-{lang}-{size}.png"))
    await expect(page.locator("#queue-rows tr").first.locator(".queue-pause")).to_have_text(
        "일시정지"
    )
    # A reason this page does not know is still shown, as the server spelled it.
    await stack.bus.publish("a07", duty("paused", "supervisor_hold"))
    await expect(page.locator("#duty-status")).to_have_text("일시정지: supervisor_hold")
    await stack.bus.publish("a07", duty("on_call", "after-call-work"))
    await expect(page.locator("#duty-status")).to_have_text("통화 중")
    await stack.bus.publish("a07", duty("paused", "after-call-work"))
    await expect(page.locator("#duty-status")).to_have_text("일시정지: 통화 후 처리")


async def test_pause_menu_is_keyboard_operable_and_escape_closes_it(
    stack: Stack, page: Page
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await stack.bus.publish("a07", duty("ready"))
    await page.focus("#ready-btn")
    await page.keyboard.press("Tab")
    await expect(page.locator("#pause-btn")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#pause-btn")).to_have_attribute("aria-expanded", "true")
    reasons = page.locator("#pause-reasons button")
    await expect(reasons).to_have_text(["小休", "用餐", "培训", "会议"])
    await expect(reasons.first).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(reasons.nth(1)).to_be_focused()
    await page.screenshot(path=shot("duty-pause-menu-keyboard-zh.png"))
    box = await reasons.first.bounding_box()
    assert box is not None and box["height"] >= 44  # a target a busy hand hits
    await page.keyboard.press("Escape")
    await expect(page.locator("#pause-reasons")).to_be_hidden()
    await expect(page.locator("#pause-btn")).to_be_focused()


async def test_a_refused_pause_says_so_and_keeps_the_state(stack: Stack, page: Page) -> None:
    # This stack has no duty service: the real route answers 409 not_on_duty.
    await log_in(page, stack.url, "a07", "seat07")
    await stack.bus.publish("a07", duty("ready"))
    await page.click("#pause-btn")
    async with page.expect_response("**/api/agent/pause") as answered:
        await page.click("#pause-reasons button[data-reason=break]")
    assert (await answered.value).status == 409
    await expect(page.locator("#duty-error")).to_contain_text("状态未能更改")
    await expect(page.locator("#duty-status")).to_have_text("就绪")
    await expect(page.locator("#pause-reasons")).to_be_hidden()
    await expect(page.locator("#pause-btn")).to_be_focused()


async def test_telephone_system_unreachable_replaces_live_until_the_resync(
    stack: Stack, page: Page
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await stack.bus.publish("a07", duty("ready"))
    await _pop(stack, "c-1", "05356683318", "张先生")
    await expect(page.locator("#resident-name")).to_have_text("张建国")
    down_at = _iso(-65)
    await stack.bus.publish(
        "a07", {"type": "pbx", "status": "down", "since": down_at, "reason": "ami: down since …"}
    )
    conn = page.locator("#conn")
    await expect(conn).to_have_attribute("data-state", "pbx_down")
    await expect(conn).to_have_text("电话系统无法连接")
    banner = page.locator("#pbx-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("电话系统无法连接")
    local = await page.evaluate(
        "s => { const d = new Date(s); const p = n => String(n).padStart(2, '0');"
        " return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds()); }",
        down_at,
    )
    await expect(banner).to_contain_text(f"自 {local} 起")
    await expect(page.locator("#stale")).to_be_hidden()  # the banner says it, once
    await expect(banner).to_contain_text("可能已过时")
    await expect(page.locator("#duty")).to_have_attribute("data-pbx", "down")
    texts = {
        "zh": "电话系统无法连接",
        "en": "Telephone system unreachable",
        "ko": "전화 시스템에 연결할 수 없음",
    }
    for size, viewport in SIZES.items():
        await page.set_viewport_size(viewport)
        for lang in LANGS:
            await _lang(page, lang)
            await expect(banner).to_contain_text(texts[lang])
            kin = await page.locator("#kin-list").bounding_box()
            assert kin is not None and kin["y"] + kin["height"] <= viewport["height"], (lang, size)
            await page.screenshot(path=shot(f"pbx-unreachable-{lang}-{size}.png"))
    await _lang(page, "zh")

    # Back: the server says `live` only after its login and resync (cti.ami.LinkState).
    await stack.bus.publish(
        "a07", {"type": "pbx", "status": "live", "since": _iso(0), "reason": None}
    )
    await expect(banner).to_be_hidden()
    await expect(conn).to_have_attribute("data-state", "live")
    await expect(page.locator("#duty")).to_have_attribute("data-pbx", "live")


async def test_a_page_that_connects_during_an_outage_says_so_at_once(
    stack: Stack, page: Page
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await stack.bus.publish("a07", duty("ready", pbx="down"))
    await expect(page.locator("#conn")).to_have_attribute("data-state", "pbx_down")
    await expect(page.locator("#idle-text")).to_have_text("电话系统恢复前不会有来电")


async def test_the_pages_own_reconnect_is_not_told_as_the_pbx(stack: Stack, page: Page) -> None:
    await page.clock.install()
    await log_in(page, stack.url, "a07", "seat07")
    await stack.bus.publish("a07", duty("ready"))
    await expect(page.locator("#duty")).to_be_visible()
    now_ms = await page.evaluate("Date.now()")
    await page.clock.pause_at(datetime.fromtimestamp(now_ms / 1000 + 1, tz=UTC))  # no retry
    await stack.app[HUB].close_all(CLOSE_GOING_AWAY, "test restart")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    await expect(page.locator("#pbx-banner")).to_be_hidden()
    await expect(page.locator("#conn-text")).to_have_text("重新连接中…")
    await expect(page.locator("#stale")).to_be_hidden()  # no call on screen: nothing stale
    await page.clock.resume()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")


RETRACTS = [
    ("no_answer", "moved", "张先生 未接，已转给下一位坐席"),
    ("answered_elsewhere", "moved", "张先生 已由其他坐席接听"),
    ("cancelled", "neutral", "张先生 的振铃已停止"),
    ("ended", "neutral", "张先生 在电话系统无法连接期间已结束"),
    ("made_up_reason", "neutral", "张先生 的振铃已停止"),
]


@pytest.mark.parametrize(("reason", "tone", "text"), RETRACTS)
async def test_each_retract_reason_reads_distinctly(
    stack: Stack, page: Page, reason: str, tone: str, text: str
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await _pop(stack, "r-1", "05356683318", "张先生")
    await expect(page.locator("#call-view")).to_be_visible()
    await stack.bus.publish("a07", {"type": "retract", "call_id": "r-1", "reason": reason})
    notice = page.locator("#notice")
    await expect(notice).to_contain_text(text)
    await expect(notice).to_have_attribute("data-tone", tone)
    await expect(page.locator("#idle-view")).to_be_visible()
    await page.click("#notice-close")
    await expect(notice).to_be_hidden()


@pytest.mark.parametrize("reason", ["abandoned", "caller_hung_up"])
async def test_caller_hung_up_names_the_resident(stack: Stack, page: Page, reason: str) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await _pop(stack, "h-1", "05356891234", "刘")
    await expect(page.locator("#resident-name")).to_have_text("刘淑珍")
    await stack.bus.publish("a07", {"type": "retract", "call_id": "h-1", "reason": reason})
    notice = page.locator("#notice")
    await expect(notice).to_contain_text("来电人已挂机：刘淑珍")
    await expect(notice).not_to_contain_text("下一位坐席")
    await expect(notice).to_have_attribute("data-tone", "hung_up")
    await _lang(page, "en")
    await expect(notice).to_contain_text("caller hung up: 刘淑珍")
    await page.screenshot(path=shot(f"retract-{reason}-en.png"))


async def _completed_call(stack: Stack, traces_dir: Path) -> None:
    """A real call through the state machine (so its wrap-up can really be saved)."""
    for event in recording_events(traces_dir / "03-call-answered.ami"):
        await stack.state.on_event(event)


async def test_after_call_work_counts_down_and_the_wrapup_stays_beside_a_new_pop(
    stack: Stack, page: Page, traces_dir: Path
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await stack.bus.publish("a07", duty("ready"))
    await _completed_call(stack, traces_dir)
    await stack.bus.publish(
        "a07", duty("after_call_work", "after-call-work", since_s=12, acw_left_s=48)
    )
    await expect(page.locator("#duty-state")).to_have_attribute("data-status", "after_call_work")
    await expect(page.locator("#duty-status")).to_have_text("话后处理")
    await expect(page.locator("#duty-acw")).to_contain_text("剩余 4")
    await expect(page.locator("#wrapup")).to_be_visible()
    await expect(page.locator("#wrapup-call")).to_contain_text("张先生")
    await page.locator("#outcomes input[value=callback]").check()
    await page.click("#wrapup-note")
    await page.keyboard.type("明天上午回电")
    for size, viewport in SIZES.items():
        await page.set_viewport_size(viewport)
        for lang in LANGS:
            await _lang(page, lang)
            await page.screenshot(path=shot(f"acw-wrapup-{lang}-{size}.png"))
    await _lang(page, "zh")
    await page.focus("#wrapup-note")
    await page.keyboard.press("End")

    # The next caller rings while the agent types (the ring won the race with the pause,
    # or after-call work ran out).
    await _pop(stack, "n-1", "05356891234", "刘")
    await expect(page.locator("#call-status")).to_have_attribute("data-status", "ringing")
    await expect(page.locator("#resident-name")).to_have_text("刘淑珍")
    await expect(page.locator("#wrapup")).to_be_visible()
    await expect(page.locator("#wrapup")).to_have_attribute("data-other", "true")
    await expect(page.locator("#wrapup-call")).to_contain_text("张先生")
    await expect(page.locator("#wrapup-note")).to_be_focused()  # the typing was not taken over
    await page.keyboard.type("，已告知家属")
    await expect(page.locator("#wrapup-note")).to_have_value("明天上午回电，已告知家属")
    # The agent picks up the new call (another phone, a headset button): still not taken over.
    await stack.bus.publish(
        "a07", {"type": "answered", "call_id": "n-1", "queue": "q-zh", "waited_s": 6, "ring_s": 2}
    )
    await expect(page.locator("#call-status")).to_have_attribute("data-status", "answered")
    await expect(page.locator("#wrapup-note")).to_be_focused()
    await page.keyboard.type("。")
    await expect(page.locator("#wrapup-note")).to_have_value("明天上午回电，已告知家属。")
    await expect(page.locator("#outcomes input[value=callback]")).to_be_checked()

    for size, viewport in SIZES.items():
        await page.set_viewport_size(viewport)
        resident = await page.locator("#resident").bounding_box()
        form = await page.locator("#wrapup").bounding_box()
        assert resident is not None and form is not None
        assert form["x"] > resident["x"] + resident["width"] - 1  # beside, not on top
        assert resident["y"] < viewport["height"]  # the ringing resident is above the fold
        for lang in LANGS:
            await _lang(page, lang)
            # The ringing resident's address and kin stay above the fold beside the form.
            for part in ("#resident-address", "#kin-list"):
                box = await page.locator(part).bounding_box()
                assert box is not None and box["y"] + box["height"] <= viewport["height"], (
                    part,
                    lang,
                    size,
                )
            await page.screenshot(path=shot(f"acw-wrapup-and-new-pop-{lang}-{size}.png"))
    await _lang(page, "zh")
    await expect(page.locator("#wrapup-title")).to_have_text("上一通来电的小结（未保存）")
    await stack.bus.publish("a07", duty("ready", since_s=0))
    await expect(page.locator("#duty-status")).to_have_text("就绪")
    await expect(page.locator("#wrapup")).to_be_visible()

    await page.click("#wrapup-save")
    await expect(page.locator("#wrapup")).to_be_hidden()
    await expect(page.locator("#notice")).to_contain_text("已保存 张先生 的通话小结")
    await expect(page.locator("#call-status")).to_have_attribute("data-status", "answered")
    await expect(page.locator("#other-calls")).to_be_hidden()


async def test_a_saved_wrapup_cannot_be_sent_twice(
    stack: Stack, page: Page, traces_dir: Path
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await _completed_call(stack, traces_dir)
    save = page.locator("#wrapup-save")
    await expect(save).to_be_enabled()
    await save.click()
    await expect(page.locator("#wrapup-result")).to_have_text("已保存")
    await expect(save).to_be_disabled()


async def test_saving_one_wrapup_brings_up_the_other_still_unsaved(
    stack: Stack, page: Page, traces_dir: Path
) -> None:
    await log_in(page, stack.url, "a07", "seat07")
    await _pop(stack, "old-1", "05356891234", "刘")
    await stack.bus.publish(
        "a07", {"type": "answered", "call_id": "old-1", "queue": "q-zh", "waited_s": 3, "ring_s": 1}
    )
    await stack.bus.publish(
        "a07", {"type": "completed", "call_id": "old-1", "talk_s": 40, "hung_up_by": "caller"}
    )
    await expect(page.locator("#wrapup-call")).to_contain_text("刘")
    await _completed_call(stack, traces_dir)  # a second call, ended: its form is on screen
    await expect(page.locator("#wrapup-call")).to_contain_text("张先生")
    await page.click("#wrapup-save")
    await expect(page.locator("#notice")).to_contain_text("已保存 张先生 的通话小结")
    await expect(page.locator("#wrapup")).to_be_visible()
    await expect(page.locator("#wrapup-call")).to_contain_text("刘")
    await expect(page.locator("#wrapup-save")).to_be_enabled()
