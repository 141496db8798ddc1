"""Issue 13's end to end: `cti serve`'s own wiring (`create_app(settings)`, no injected
services) in front of the PBX simulator. An administrator on /admin moves an agent to the
group working now and gives them the duty queue, sees the dry-run diff, applies; the agent,
logged in on /agent in a second page, sees the new queues in their `duty` message, and the
simulated Asterisk has the seat in them (q-duty appears through the queues.conf the apply
wrote and its QueueReload)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from cti.ami import ListResult
from cti.db import create_engine, upgrade
from cti.settings import load_settings
from cti.sim import PbxConfig, SimConfig, SimThread
from cti.sim.queues import DEFAULT_QUEUES
from cti.web import create_app
from cti.web.keys import AMI
from queues import registry
from queues.model import default_queues
from seats import SqlAgentAccounts
from seats.shifts import default_plan, next_change, on_duty
from tests.e2e.conftest import PASSWORD, log_in, shot
from tests.support.waiting import eventually

pytestmark = pytest.mark.browser


@dataclass
class Served:
    base: str
    ami_port: int
    etc: Path
    app: web.Application

    def sim(self) -> SimThread:
        """A simulated Asterisk on the port the server dials, started with the rendered
        configuration's queues (q-duty too) and reading the applied queues.conf on reload."""
        pbx = PbxConfig(
            queues=(*DEFAULT_QUEUES, "q-duty"),
            no_answer_ratio=0.0,
            answer_delay=(0.05, 0.05),
            retry=0.05,
            conf_dir=self.etc,
        )
        return SimThread(SimConfig(port=self.ami_port, pbx=pbx))

    async def queues_of(self, seat: str) -> list[str]:
        """The queues Asterisk (the simulator) has `seat` in, asked over AMI."""
        result = await self.app[AMI].send("QueueStatus")
        assert isinstance(result, ListResult)
        return sorted(
            e.get("Queue") or ""
            for e in result.events
            if e.name == "QueueMember" and e.get("Name") == seat
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def served(tmp_path: Path, aiohttp_server: Any) -> AsyncIterator[Served]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine, "head")
    accounts = SqlAgentAccounts(engine)
    await accounts.add("boss", "管理员", "zh", PASSWORD, role="administrator")
    await accounts.add("a07", "李娜", "zh,en", PASSWORD, "seat07")
    await engine.dispose()
    port = _free_port()
    etc = tmp_path / "etc"
    settings = load_settings(
        database_url=url,
        ami={"port": port, "backoff_min_s": 0.1, "backoff_max_s": 0.3},
        members={"interface": "Local/{seat}@agents/n", "retry_s": 0.2},
        conf={"asterisk_dir": str(etc)},
        ivr={"port": _free_port()},
    )
    app = create_app(settings)  # no injected services: the production cleanup contexts
    server: TestServer = await aiohttp_server(app)
    try:
        yield Served(str(server.make_url("/")), port, etc, app)
    finally:
        registry.install(default_queues())  # the apply installed its queues process-wide


def _group_working_now() -> str:
    """A rotating group working now and for the next minutes (the real clock drives both
    the dry-run and the shift-change task)."""
    plan = default_plan()
    now = datetime.now(UTC)
    if next_change(plan, now) - now < timedelta(minutes=3):
        pytest.skip("a shift boundary within three minutes")  # pragma: no cover
    return next(s.group for s in on_duty(plan, now) if s.group != "L")


async def _admin_log_in(page: Page, url: str) -> None:
    await page.goto(url)
    await page.fill("#agent", "boss")
    await page.fill("#password", PASSWORD)
    await page.click("#login button[type=submit]")
    await expect(page.locator("#version-line")).to_contain_text("0")


async def test_admin_moves_an_agent_and_their_page_shows_the_new_queues(
    served: Served, page: Page, browser: Browser
) -> None:
    group = _group_working_now()
    async with served.sim():
        # The agent at seat07, in a second browser: their languages' queues.
        agent_ctx = await browser.new_context(
            viewport={"width": 1366, "height": 768}, locale="zh-CN"
        )
        agent = await agent_ctx.new_page()
        await log_in(agent, served.base + "agent", "a07", "seat07")
        await expect(agent.locator("#conn")).to_have_attribute("data-state", "live", timeout=15_000)
        names = agent.locator("#queue-rows .queue-name")
        await expect(names).to_have_text(["q-zh", "q-en"], timeout=10_000)
        await expect(agent.locator("#queue-rows .queue-member")).to_have_text(["已加入", "已加入"])
        await agent.screenshot(path=shot("admin-full-stack-agent-before.png"))

        await page.set_viewport_size({"width": 1400, "height": 1100})
        await _admin_log_in(page, served.base + "admin")
        await page.fill("#move-agent", "a07")
        await page.select_option("#move-group", group)
        await page.click("#move")
        await expect(page.locator(f"[data-group={group}] .members")).to_have_text("a07")
        await page.fill("#ov-agent", "a07")
        await page.fill("#ov-queues", "q-duty:0,q-zh:1")
        await page.click("#ov-set")
        await page.fill("input[name='q-zh.service_level_s']", "20")
        await page.locator("input[name='q-zh.service_level_s']").dispatch_event("change")
        await page.click("#dry-run")
        await expect(page.locator("#plan-changes")).to_contain_text("agent a07: group - →")
        await expect(page.locator("#plan-changes")).to_contain_text(f"→ {group}")
        await expect(page.locator("#plan-diff")).to_contain_text("+servicelevel = 20")
        await expect(page.locator("#plan-actions")).to_contain_text("QueueReload")
        await expect(page.locator("#plan-actions")).to_contain_text("QueueAdd Queue: q-duty")
        await expect(page.locator("#plan-actions")).to_contain_text("QueueRemove Queue: q-en")
        await expect(page.locator("#plan-requeues")).to_contain_text(
            "a07 @ seat07: q-zh:0, q-en:1 → q-duty:0, q-zh:1"
        )
        await page.screenshot(path=shot("admin-full-stack-dry-run.png"), full_page=True)
        assert await served.queues_of("seat07") == ["q-en", "q-zh"]  # a dry-run sends nothing

        await page.fill("#comment", f"a07 to group {group}, duty queue")
        await page.click("#apply")
        await expect(page.locator("#version-line")).to_contain_text("1")
        await expect(page.locator("#versions tbody tr").first).to_contain_text("a07 to group")
        await page.screenshot(path=shot("admin-full-stack-applied.png"), full_page=True)
        assert "servicelevel = 20" in (served.etc / "queues.conf").read_text()

        # The agent's own page: the duty message's new queues, joined in Asterisk.
        await expect(names).to_have_text(["q-duty", "q-zh"], timeout=10_000)
        await expect(agent.locator("#queue-rows .queue-member")).to_have_text(
            ["已加入", "已加入"], timeout=10_000
        )
        assert await eventually(
            lambda: _equals(served.queues_of("seat07"), ["q-duty", "q-zh"]),
            what="seat07 in q-duty and q-zh in the simulated Asterisk",
        )
        await agent.screenshot(path=shot("admin-full-stack-agent-after.png"))
        await agent_ctx.close()


async def _equals(value: Any, expected: object) -> bool:
    return bool(await value == expected)
