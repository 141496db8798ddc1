"""Asterisk going away under a live server: `core restart now`, a 20 s stop, and an AMI user
that lacks a class. Timings are printed (run with `-s` to see them)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.asterisk.conftest import AgentConsole, Cti, Pbx
from tests.asterisk.test_local_seats import on_queue
from tests.support.waiting import eventually

pytestmark = pytest.mark.asterisk

OUTAGE_S = 20.0


@dataclass
class AmiWatch:
    """When the AMI port stopped and started accepting connections (monotonic seconds)."""

    down_at: float | None = None
    up_at: float | None = None


async def watch_ami(pbx: Pbx, watch: AmiWatch, *, expect_down: bool = True) -> None:
    """Poll the AMI port every 10 ms: note when it refuses, then when it accepts again."""
    while True:
        accepting = await pbx.ami_accepting()
        now = time.monotonic()
        if not accepting and watch.down_at is None:
            watch.down_at = now
        if accepting and (watch.down_at is not None or not expect_down):
            watch.up_at = now
            return
        await asyncio.sleep(0.01)


async def arrival(
    console: AgentConsole, after_seq: int, match: Callable[[dict[str, Any]], bool], what: str
) -> float:
    """When (monotonic) the agent's socket got the first message after `after_seq` that
    `match`es (waiting up to 30 s for it)."""
    message = await console.next(
        lambda m: m["seq"] > after_seq and match(m), within_s=30, what=what
    )
    return console.received_at[console.messages.index(message)]


def resynced(m: dict[str, Any]) -> bool:
    return bool(m["type"] == "resynced")


def in_q_zh(m: dict[str, Any]) -> bool:
    return m["type"] == "state" and any(q["queue"] == "q-zh" for q in m["queues"])


def last_seq(console: AgentConsole) -> int:
    return max((m["seq"] for m in console.messages), default=0)


async def call_pops(pbx: Pbx, console: AgentConsole) -> None:
    """A call to q-zh rings the agent's seat: pop, answered, completed."""
    await pbx.originate('"张先生" <05356683318>', talk_s=1)
    pop = await console.pop("05356683318")
    await console.next(lambda m: m["type"] == "completed" and m["call_id"] == pop["call_id"])
    assert console.types_of_call(pop["call_id"]) == ["pop", "answered", "completed"]


async def test_core_restart_now_under_a_live_server_reconnects_resyncs_and_re_adds_members(
    pbx: Pbx, cti: Cti
) -> None:
    agent = await cti.login("a07", "seat07")
    await on_queue(agent, "q-zh")
    before = last_seq(agent)

    watch = AmiWatch()
    watcher = asyncio.create_task(watch_ami(pbx, watch))
    started = time.monotonic()
    await pbx.restart_now()
    resynced_at = await arrival(agent, before, resynced, "`resynced` after the restart")
    await asyncio.wait_for(watcher, 30)
    assert watch.up_at is not None
    # persistentmembers = no: the restarted Asterisk has no members; the server adds the
    # logged-in agent's seat again and the agent sees it.
    back_at = await arrival(agent, before, in_q_zh, "seat07 back on q-zh")
    print(
        f"\n[core restart now] AMI accepting again {watch.up_at - started:.2f} s after the "
        f"command; server resynced {resynced_at - watch.up_at:.2f} s and seat07 back on q-zh "
        f"{back_at - watch.up_at:.2f} s after AMI accepted"
    )
    assert back_at - watch.up_at < 5.0  # issue 9 asks for 1 s; margin for a busy CI machine
    await asyncio.to_thread(pbx.asterisk.wait_fully_booted)
    await call_pops(pbx, agent)


async def test_asterisk_stopped_for_20_s_then_started_resyncs_and_pops_again(
    pbx: Pbx, cti: Cti
) -> None:
    agent = await cti.login("a07", "seat07")
    await on_queue(agent, "q-zh")
    before = last_seq(agent)

    await pbx.stop()
    await asyncio.sleep(OUTAGE_S)  # the outage itself, not a wait for a result
    watch = AmiWatch()
    watcher = asyncio.create_task(watch_ami(pbx, watch, expect_down=False))
    await pbx.start()
    await asyncio.wait_for(watcher, 30)
    assert watch.up_at is not None
    resynced_at = await arrival(agent, before, resynced, "`resynced` after the outage")
    back_at = await arrival(agent, before, in_q_zh, "seat07 back on q-zh")
    print(
        f"\n[stopped {OUTAGE_S:.0f} s] server resynced {resynced_at - watch.up_at:.2f} s and "
        f"seat07 back on q-zh {back_at - watch.up_at:.2f} s after Asterisk's AMI accepted again"
    )
    assert resynced_at - watch.up_at < 5.0  # issue 9 asks for 1 s; margin for CI
    await call_pops(pbx, agent)


async def test_health_says_the_telephone_system_is_down_while_asterisk_is_stopped(
    pbx: Pbx, cti: Cti
) -> None:
    agent = await cti.login("a07", "seat07")
    await on_queue(agent, "q-zh")
    status, _ = await cti.health()
    assert status == 200
    await pbx.stop()
    try:

        async def unhealthy() -> dict[str, Any] | None:
            status, body = await cti.health()
            return body if status == 503 else None

        body = await eventually(unhealthy, within_s=2, what="/health 503")  # issue 9: 2 s
        assert "ami" in str(body).lower()
    finally:
        await pbx.start()
