"""A callback placed against the simulator (its own event loop in a thread, as Asterisk is
another process): the agent's seat rings first, then the number; each result as 17 shows."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cti import stop_task
from cti.ami import AMIClient
from cti.callbacks import CallbackService, CallbackStore, Seat
from cti.settings import AMISettings, CallbacksSettings
from cti.sim import SimConfig, SimThread
from tests.component.callbacks.conftest import ALONE, Registry, record
from tests.support.waiting import eventually


@pytest.mark.timeout(60)
async def test_a_callback_placed_against_the_simulator_gets_each_result(
    engine: AsyncEngine,
) -> None:
    seats = {"a07": "seat07", "a21": "seat21"}
    async with SimThread(SimConfig()) as sim:
        ami = AMIClient(AMISettings(port=sim.port, action_timeout_s=3.0))
        service = CallbackService(
            CallbackStore(engine),
            None,
            CallbacksSettings(agent_channel="Local/{seat}@agents-callback/n"),
            locator=Registry({"13800000000": [ALONE]}),
            seat_of=lambda agent: Seat(seats[agent], busy=False),
        )
        service.attach(ami, ami)
        runner = asyncio.create_task(service.run())
        await ami.start()
        try:
            await ami.wait_connected(10)
            results = {}
            for call_id, number in (("s1", "05356683318"), ("s2", "13800000000")):
                service.on_call_finished(
                    record(call_id, number), ["R001"] if "138" in number else []
                )
                await service.flush()
                found = next(c for c in await service.listing() if c.call_id == call_id)
                await service.claim(found.id, "a07")
                await service.place(found.id, "a07")

                async def result(callback_id: int = found.id) -> str | None:
                    last = (await service.get(callback_id)).attempts[-1]
                    return None if last.result == "placing" else last.result

                results[number] = await eventually(result, within_s=15)
            assert results == {"05356683318": "answered", "13800000000": "busy"}
            # The busy resident lives alone: the next of kin are offered now.
            alone = next(c for c in await service.listing() if c.call_id == "s2")
            assert [n["target"] for n in service.numbers(alone)][:2] == ["caller", "kin"]
        finally:
            await ami.stop()
            await stop_task(runner)
