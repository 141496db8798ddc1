"""Callbacks on the real Asterisk (issues 14 and 16): `cti serve` places the Originate that 17
recorded (the agent's own seat first, then the number through `[callback]`), and the result
comes from Asterisk's own events, not from the recording or the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cti.settings import CallbacksSettings
from cti.testbed import Asterisk
from cti.web import create_app
from tests.asterisk.conftest import AgentConsole, Cti, Pbx, server_settings
from tests.asterisk.test_local_seats import on_queue
from tests.support.waiting import eventually


@pytest.fixture
async def cti_callbacks(
    asterisk: Asterisk, pbx: Pbx, database: Path, aiohttp_client: Any
) -> AsyncIterator[Cti]:
    """`cti serve` whose callbacks ring the seat as the recordings' bed does."""
    settings = server_settings(asterisk, database)
    settings = settings.model_copy(
        update={"callbacks": CallbacksSettings(agent_channel="Local/{seat}@agents-callback/n")}
    )
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    server = Cti(client, settings)
    try:
        yield server
    finally:
        for console in server.consoles:
            await console.close()


async def _get(cti: Cti, agent: AgentConsole, path: str) -> Any:
    resp = await cti.client.get(path, headers={"Authorization": f"Bearer {agent.token}"})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _post(cti: Cti, agent: AgentConsole, path: str, body: Any = None) -> Any:
    resp = await cti.client.post(
        path, json=body, headers={"Authorization": f"Bearer {agent.token}"}
    )
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_a_caller_who_gave_up_is_called_back_and_the_busy_line_is_asterisks_word(
    pbx: Pbx, cti_callbacks: Cti
) -> None:
    cti = cti_callbacks
    agent = await cti.login("a07", "seat07")
    await on_queue(agent, "q-zh")
    await _post(cti, agent, "/api/agent/pause", {"reason": "meal"})  # nobody takes the call
    # 13800000000 is busy in the recordings' `[residents]`; the caller gives up after 4 s.
    await pbx.originate("13800000000", caller_context="caller-short")

    async def listed() -> dict[str, Any] | None:
        found = (await _get(cti, agent, "/api/callbacks"))["callbacks"]
        return next((c for c in found if c["number"] == "13800000000"), None)

    callback = await eventually(listed, within_s=30, what="the caller listed for a callback")
    base = f"/api/callbacks/{callback['id']}"
    await _post(cti, agent, base + "/claim")
    await _post(cti, agent, "/api/agent/ready")
    await _post(cti, agent, base + "/place")
    duty = (await _get(cti, agent, "/api/agent/duty"))["duty"]
    assert (duty["status"], duty["reason"]) == ("paused", "callback")  # no queue call now

    async def result() -> str | None:
        found = await listed()
        last = found["attempts"][-1] if found else None
        return last["result"] if last and last["result"] != "placing" else None

    # Asterisk rang seat07 (it answers), then dialled the number: Busy.
    assert await eventually(result, within_s=40, what="Asterisk's result") == "busy"
    await _post(cti, agent, base + "/outcome", {"outcome": "retry_later"})
    duty = (await _get(cti, agent, "/api/agent/duty"))["duty"]
    assert duty["status"] == "ready"
