"""The project's own AMI client against the simulator: lists, errors, restart and resync.

The simulator runs on its own event loop in a thread, as Asterisk is another process: the
client then meets the greeting the way it meets Asterisk's.
"""

from __future__ import annotations

import asyncio

import pytest

from cti.ami import AMIClient, AMIError, Event, ListResult, Resync
from cti.settings import AMISettings
from cti.sim import CallerSpec, PbxConfig, SimConfig, SimThread

FAST = PbxConfig(no_answer_ratio=0.0, answer_delay=(0.05, 0.05), retry=0.05)


def client_for(port: int) -> AMIClient:
    return AMIClient(
        AMISettings(port=port, backoff_min_s=0.05, backoff_max_s=0.2, action_timeout_s=1.0)
    )


async def test_client_adds_a_member_and_reads_it_back_in_queue_status() -> None:
    async with SimThread(SimConfig(pbx=FAST)) as t:
        client = client_for(t.port)
        await client.start()
        try:
            await client.wait_connected(15)
            await client.send(
                "QueueAdd",
                {"Queue": "q-en", "Interface": "PJSIP/seat41", "MemberName": "seat41"},
            )
            with pytest.raises(AMIError, match="Already there"):
                await client.send("QueueAdd", {"Queue": "q-en", "Interface": "PJSIP/seat41"})
            status = await client.send_list("QueueStatus", {"Queue": "q-en"})
            assert isinstance(status, ListResult)
            members = [e for e in status.events if e.name == "QueueMember"]
            assert [m.get("Name") for m in members] == ["seat41"]
        finally:
            await client.stop()


async def test_client_sees_a_call_and_resyncs_after_a_restart() -> None:
    async with SimThread(SimConfig(pbx=FAST)) as t:
        client = client_for(t.port)
        seen: list[Event] = []
        resyncs: list[Resync] = []

        async def on_event(event: Event) -> None:
            seen.append(event)

        async def on_resync(resync: Resync) -> None:
            resyncs.append(resync)

        client.subscribe(on_event)
        client.on_resynced(on_resync)
        await client.start()
        try:
            await client.wait_connected(15)
            await client.send("QueueAdd", {"Queue": "q-zh", "Interface": "Local/seat07@agents/n"})
            await t.place_call(CallerSpec("q-zh", "13905351234", "李桂兰", "zh", talk=0.1))
            for _ in range(100):
                if any(e.name == "AgentComplete" for e in seen):
                    break
                await asyncio.sleep(0.05)
            assert [e.name for e in seen if e.name.startswith("Agent")] == [
                "AgentCalled",
                "AgentConnect",
                "AgentComplete",
            ]
            await t.restart()
            for _ in range(100):
                if len(resyncs) >= 2:
                    break
                await asyncio.sleep(0.05)
            assert len(resyncs) >= 2
            assert client.connections >= 2
            assert not [e for e in resyncs[-1].queue_status if e.name == "QueueMember"]
        finally:
            await client.stop()
