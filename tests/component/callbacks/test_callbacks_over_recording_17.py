"""A callback placed against the replay peer playing 17-originate-callback.ami: the server's
Originates are the recorded ones, and every result comes from Asterisk's own events —
answered, number busy, agent never answers (Reason 3), number never answers, and
`Originate failed`. Nothing is sent twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cti import stop_task
from cti.ami import AMIClient, ReplayPeer
from cti.callbacks import CallbackService, CallbackStore, PlacementFailed, Seat
from cti.settings import AMISettings, CallbacksSettings
from tests.component.callbacks.conftest import ALONE, WITH_FAMILY, Registry, record
from tests.support.waiting import eventually

SETTINGS = CallbacksSettings(agent_channel="Local/{seat}@agents-callback/n")
REGISTRY = Registry({"05356683318": [WITH_FAMILY], "13800000000": [ALONE]})


@asynccontextmanager
async def callbacks_over(
    engine: AsyncEngine, port: int, seat: str = "seat07"
) -> AsyncIterator[CallbackService]:
    ami = AMIClient(AMISettings(port=port, action_timeout_s=3.0))
    service = CallbackService(
        CallbackStore(engine),
        None,
        SETTINGS,
        locator=REGISTRY,
        seat_of=lambda agent: Seat(seat, busy=False),
    )
    service.attach(ami, ami)
    runner = asyncio.create_task(service.run())
    await ami.start()
    try:
        yield service
    finally:
        await ami.stop()
        await stop_task(runner)


async def _listed(service: CallbackService, call_id: str) -> int:
    async def find() -> int | None:
        return next((c.id for c in await service.listing() if c.call_id == call_id), None)

    return await eventually(find, what=f"callback for {call_id}")


async def _result(service: CallbackService, callback_id: int) -> str:
    async def done() -> str | None:
        attempt = (await service.get(callback_id)).attempts[-1]
        return attempt.result if attempt.result != "placing" else None

    return await eventually(done, within_s=20, what="the attempt's result")


@pytest.mark.timeout(90)
async def test_17_results_come_from_asterisk_and_nothing_is_repeated(
    engine: AsyncEngine, traces_dir: Path
) -> None:
    peer = ReplayPeer(traces_dir / "17-originate-callback.ami")
    port = await peer.start()
    try:
        async with callbacks_over(engine, port) as service:
            service.on_call_finished(record("c1", "05356683318"), ["R002"])
            first = await _listed(service, "c1")
            await service.claim(first, "a07")
            await service.place(first, "a07")
            assert await _result(service, first) == "answered"
            await service.record(first, "a07", "reached", "已回电，问题已解决")

            service.on_call_finished(record("c2", "13800000000"), ["R001"])
            alone = await _listed(service, "c2")
            await service.claim(alone, "a07")
            before = service.numbers(await service.get(alone))
            assert [n["target"] for n in before] == ["caller"]  # kin only after a failure
            await service.place(alone, "a07")
            assert await _result(service, alone) == "busy"

            # The caller abandons again after their callback was closed: a new one.
            service.on_call_finished(record("c3", "05356683318"), ["R002"])
            third = await _listed(service, "c3")
            await service.claim(third, "a07")
            await service.place(third, "a07")
            assert await _result(service, third) == "agent_no_answer"

            service.on_call_finished(record("c4", "13912345678"), [])
            fourth = await _listed(service, "c4")
            await service.claim(fourth, "a07")
            await service.place(fourth, "a07")
            assert await _result(service, fourth) == "no_answer"

            # 13800000000 lives alone and was busy: their next of kin are offered, in
            # calling order; the first is placed and Asterisk refuses it (recorded cb-5).
            offered = service.numbers(await service.get(alone))
            assert [(n["target"], n["dial"]) for n in offered] == [
                ("caller", "13800000000"),
                ("kin", "13912345678"),
                ("kin", "05356000001"),
                ("kin", "13700000002"),
            ]
            with pytest.raises(PlacementFailed, match="Originate failed"):
                await service.place(alone, "a07", "13912345678")
            last = (await service.get(alone)).attempts[-1]
            assert (last.target, last.result, last.detail) == ("kin", "failed", "Originate failed")
    finally:
        await peer.stop()

    sent = peer.actions("Originate")
    assert len(sent) == 5  # one per placement, never repeated
    steps = json.loads((traces_dir / "scripts/17-originate-callback.json").read_text("utf-8"))
    recorded = [s["action"] for s in steps if s["action"]["Action"] == "Originate"]
    first_sent = {k: v for k, v in sent[0].headers if k not in ("Action", "ActionID")}
    assert first_sent == {k: v for k, v in recorded[0].items() if k not in ("Action", "ActionID")}
    assert [a.get("ChannelId") for a in sent] == [f"cb{n}-agent" for n in range(1, 6)]


@pytest.mark.timeout(60)
async def test_an_originate_in_flight_when_the_link_drops_is_lost_not_repeated(
    engine: AsyncEngine, traces_dir: Path
) -> None:
    # Asterisk takes the Originate and the connection dies before any answer.
    peer = ReplayPeer(traces_dir / "17-originate-callback.ami", unanswered=("originate",))
    port = await peer.start()
    try:
        async with callbacks_over(engine, port) as service:
            service.on_call_finished(record("c1", "05356683318"), ["R002"])
            first = await _listed(service, "c1")
            await service.claim(first, "a07")
            placing = asyncio.create_task(service.place(first, "a07"))
            await eventually(lambda: peer.actions("Originate"), what="the Originate sent")
            await peer.drop_connections()
            with pytest.raises(PlacementFailed, match="may or may not"):
                await placing
            attempt = (await service.get(first)).attempts[-1]
            assert attempt.result == "lost"
            # The client reconnects; nothing is sent again by itself.
            await eventually(lambda: peer.connections >= 2, what="reconnected")
            await asyncio.sleep(0.5)  # a re-send would follow the reconnect at once
            assert len(peer.actions("Originate")) == 1
    finally:
        await peer.stop()
