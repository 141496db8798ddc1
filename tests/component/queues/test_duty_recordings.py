"""The duty service and the AMI client against real Asterisk answers (replay peer, simulator).

10a/10b: a restart loses every dynamic member; the server puts each seat back as its duty
says, pause and reason included. 02: an action Asterisk refuses is reported with its own
Message and retried later, not in a storm.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from cti import stop_task
from cti.ami import AMIClient, ReplayPeer
from cti.settings import AMISettings
from cti.sim import PbxConfig, SimConfig, SimThread
from queues import MemberInterfaces, MembershipService, MemoryDutyStore
from seats import parse_skills
from tests.support.waiting import eventually


class Nowhere:
    async def publish(self, agent_id: str, message: dict[str, Any]) -> int:
        return 0


@asynccontextmanager
async def duty_over(port: int, retry_s: float = 5.0) -> AsyncIterator[MembershipService]:
    ami = AMIClient(AMISettings(port=port, action_timeout_s=2.0))
    duty = MembershipService(
        ami,
        Nowhere(),
        MemoryDutyStore(),
        interfaces=MemberInterfaces("Local/{seat}@agents/n"),
        retry_s=retry_s,
    )
    ami.subscribe(duty.on_event)
    ami.on_resynced(duty.on_resynced)
    ami.on_link(duty.on_link)
    runner = asyncio.create_task(duty.run())
    await ami.start()
    try:
        yield duty
    finally:
        await stop_task(runner)
        await ami.stop()


def fields(action: Any) -> dict[str, str]:
    return {k: v for k, v in action.headers if k not in ("Action", "ActionID")}


async def test_10a_10b_every_seat_goes_back_with_its_pause_after_the_restart(
    traces_dir: Path,
) -> None:
    before = ReplayPeer(traces_dir / "10a-restart-before.ami")
    port = await before.start()
    async with duty_over(port) as duty:
        duty.login("a01", "seat01", parse_skills("zh"))
        duty.login("a21", "seat21", parse_skills("en"))
        duty.pause("a01", "meal")
        # What 10a's CTI server sent, ours sends too: the two adds, then the recorded
        # QueueMemberAdded says "not paused" and the pause for meal follows.
        await eventually(lambda: before.actions("QueuePause"), what="the pause for meal")
        assert [fields(a)["Interface"] for a in before.actions("QueueAdd")][:2] == [
            "Local/seat01@agents/n",
            "Local/seat21@agents/n",
        ]
        assert fields(before.actions("QueuePause")[0])["Reason"] == "meal"
        await before.stop()  # `core restart now`: the socket closes with no goodbye
        await eventually(lambda: not duty.pbx.live, what="pbx down")

        after = ReplayPeer(traces_dir / "10b-restart-after.ami", port=port)
        await after.start()
        try:
            await eventually(lambda: duty.pbx.live, what="live after the resync")
            live_at = time.monotonic()
            adds = await eventually(
                lambda: after.actions("QueueAdd") if len(after.actions("QueueAdd")) >= 2 else None
            )
            assert time.monotonic() - live_at < 1.0
            sent = sorted((fields(a) for a in adds[:2]), key=lambda f: f["MemberName"])
            assert sent == [
                {
                    "Queue": "q-zh",
                    "Interface": "Local/seat01@agents/n",
                    "MemberName": "seat01",
                    "Penalty": "0",
                    "Paused": "true",
                    "Reason": "meal",
                },
                {
                    "Queue": "q-en",
                    "Interface": "Local/seat21@agents/n",
                    "MemberName": "seat21",
                    "Penalty": "0",
                    "Paused": "false",
                },
            ]
        finally:
            await after.stop()


async def test_02_a_refused_add_is_reported_with_asterisks_words_and_retried_not_stormed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="queues.membership.reconciler")
    # This Asterisk has no Korean queue: QueueAdd q-ko is refused ("No such queue", as 02).
    pbx = PbxConfig(queues=("q-zh", "q-en"), no_answer_ratio=0.0)
    async with SimThread(SimConfig(pbx=pbx)) as sim, duty_over(sim.port, retry_s=0.3) as duty:
        duty.login("a47", "seat47", parse_skills("ko,zh"))
        await eventually(lambda: duty.reconciler.errors, what="a refused action")
        assert duty.reconciler.errors == [
            "QueueAdd q-ko seat47: Unable to add interface to queue: No such queue"
        ]
        assert "QueueAdd q-ko seat47: Unable to add interface to queue: No such queue" in (
            caplog.text
        )
        # The seat still serves the queue that exists.
        assert duty.reconciler.member("q-zh", "seat47") is not None
        sent_before = duty.reconciler.sent
        passes_before = duty.reconciler.passes
        await asyncio.sleep(1.0)  # a window to count retries in: three, not hundreds
        retries = duty.reconciler.passes - passes_before
        assert 1 <= retries <= 8, retries
        assert duty.reconciler.sent == sent_before  # nothing else was re-sent
