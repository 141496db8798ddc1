"""/admin in a real Chromium: log in as an administrator, move an agent to another shift
group and give them the duty queue, see the dry-run diff (configuration lines, AMI actions,
the agent's queues before → after), apply, see the new version; a second administrator's
stale edit is refused and reloaded. Screenshots in artifacts/admin-*.png."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from cti.admin.keys import ADMIN
from cti.admin.service import AdminService
from cti.bus import InProcessBus
from cti.settings import AsteriskConfSettings, Settings
from cti.web import WebServices, create_app
from queues import registry
from queues.membership.models import SeatDuty, Wanted
from seats import MemoryAgentAccounts, SeatDirectory
from seats.shifts import CHINA
from tests.component.admin.test_admin_api import FakeDuty, RecordedAMI
from tests.component.web.conftest import RecordedWrapups
from tests.e2e.conftest import PASSWORD, shot

pytestmark = pytest.mark.browser


@pytest.fixture
async def admin_url(aiohttp_server: Any, tmp_path: Path) -> AsyncIterator[tuple[str, FakeDuty]]:
    accounts = MemoryAgentAccounts()
    accounts.add("boss", "管理员", "zh", PASSWORD, role="administrator")
    accounts.add("a07", "李娜", "zh,en", PASSWORD, home_seat="seat07")
    settings = Settings(conf=AsteriskConfSettings(asterisk_dir=tmp_path / "etc"))
    services = WebServices(
        accounts=accounts, bus=InProcessBus(), wrapups=RecordedWrapups(), seats=SeatDirectory()
    )
    app = create_app(settings, services)
    duty = FakeDuty({"a07": SeatDuty("seat07", "a07", (Wanted("q-zh", 0), Wanted("q-en", 1)))})
    # Queues follow the shifts: the groups are set up on a day group A works (2026-01-05,
    # the rotation start), the page is used on a day group C works the day shift.
    now = [datetime(2026, 1, 5, 10, 0, tzinfo=CHINA)]
    service = AdminService(
        settings, accounts, duty=duty, sender=RecordedAMI(), clock=lambda: now[0]
    )
    config = service.current.config
    groups = list(config.shifts.groups)
    groups[0] = groups[0].model_copy(update={"members": ("a07", "a08")})
    await service.apply(
        0,
        config.model_copy(
            update={"shifts": config.shifts.model_copy(update={"groups": tuple(groups)})}
        ),
        "setup",
    )
    now[0] = datetime(2026, 1, 8, 10, 0, tzinfo=CHINA)
    app[ADMIN] = service
    server = await aiohttp_server(app)
    yield str(server.make_url("/admin")), duty
    registry.install(AdminService(Settings(), accounts).current.config.queues)


async def _log_in(page: Page, url: str) -> None:
    await page.goto(url)
    await page.fill("#agent", "boss")
    await page.fill("#password", PASSWORD)
    await page.click("#login button[type=submit]")
    await expect(page.locator("#version-line")).to_contain_text("1")


async def test_move_an_agent_preview_apply_and_see_the_new_version(
    page: Page, admin_url: tuple[str, FakeDuty]
) -> None:
    url, duty = admin_url
    await page.set_viewport_size({"width": 1400, "height": 1100})
    await _log_in(page, url)
    await expect(page.locator("[data-group=A] .members")).to_have_text("a07, a08")

    await page.fill("#move-agent", "a07")
    await page.select_option("#move-group", "C")
    await page.click("#move")
    await expect(page.locator("[data-group=C] .members")).to_have_text("a07")
    await expect(page.locator("[data-group=C]")).to_have_class("group changed")
    await page.fill("#ov-agent", "a07")
    await page.fill("#ov-queues", "q-duty:0,q-zh:1")
    await page.click("#ov-set")
    await page.fill("input[name='q-zh.service_level_s']", "20")
    await page.locator("input[name='q-zh.service_level_s']").dispatch_event("change")

    await page.click("#dry-run")
    await expect(page.locator("#plan-changes")).to_contain_text("agent a07: group A → C")
    await expect(page.locator("#plan-changes")).to_contain_text(
        "queue q-zh: service_level_s 15 → 20"
    )
    await expect(page.locator("#plan-diff")).to_contain_text("+servicelevel = 20")
    await expect(page.locator("#plan-actions")).to_contain_text("QueueReload")
    await expect(page.locator("#plan-actions")).to_contain_text("QueueAdd Queue: q-duty")
    await expect(page.locator("#plan-requeues")).to_contain_text(
        "a07 @ seat07: q-zh:0, q-en:1 → q-duty:0, q-zh:1"
    )
    await page.screenshot(path=shot("admin-dry-run.png"), full_page=True)
    assert duty.requeued == []  # a dry-run sends nothing

    await page.fill("#comment", "a07 to group C, duty queue")
    await page.click("#apply")
    await expect(page.locator("#message")).to_contain_text("2")
    await expect(page.locator("#version-line")).to_contain_text("2")
    await expect(page.locator("#versions tbody tr").first).to_contain_text("a07 to group C")
    await expect(page.locator("[data-group=C] .members")).to_have_text("a07")
    assert duty.seats["a07"].queues == (Wanted("q-duty", 0), Wanted("q-zh", 1))
    await page.screenshot(path=shot("admin-applied.png"), full_page=True)

    await page.select_option("#lang", "ko")
    await expect(page.locator("h1")).to_have_text("핫라인 관리")
    await page.select_option("#lang", "en")
    await expect(page.locator("#dry-run")).to_have_text("Preview change")
    await page.screenshot(path=shot("admin-en.png"), full_page=True)


async def test_a_stale_edit_is_refused_and_the_page_reloads(
    page: Page, admin_url: tuple[str, FakeDuty], browser: Any
) -> None:
    url, _ = admin_url
    await _log_in(page, url)
    other = await browser.new_page()
    await _log_in(other, url)
    await other.fill("#move-agent", "a08")
    await other.select_option("#move-group", "B")
    await other.click("#move")
    await other.click("#apply")
    await expect(other.locator("#version-line")).to_contain_text("2")

    await page.fill("#move-agent", "a07")
    await page.select_option("#move-group", "E")
    await page.click("#move")
    await page.click("#apply")
    await expect(page.locator("#message")).to_have_class("error")
    await expect(page.locator("#version-line")).to_contain_text("2")
    await expect(page.locator("[data-group=B] .members")).to_have_text("a08")
    await expect(page.locator("[data-group=A] .members")).to_have_text("a07")
    await page.screenshot(path=shot("admin-conflict.png"), full_page=True)
    await other.close()
