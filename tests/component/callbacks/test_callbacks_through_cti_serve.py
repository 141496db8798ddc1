"""Through `cti serve`'s own wiring and the simulator: a caller gives up in the queue, the
call state lists them for a callback, the agent takes it and the server originates it; the
simulated number is busy, as 17's 13800000000 was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cti.db import create_engine, upgrade
from cti.settings import load_settings
from cti.sim import CallerSpec, PbxConfig, SimConfig, SimThread
from cti.web import create_app
from seats import SqlAgentAccounts
from tests.support.waiting import eventually

PASSWORD = "pw-callback"


@pytest.mark.timeout(60)
async def test_an_abandoned_caller_is_called_back_through_the_server(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine, "head")
    await SqlAgentAccounts(engine).add("a07", "李娜", "zh", PASSWORD, "seat07")
    await engine.dispose()
    async with SimThread(SimConfig(pbx=PbxConfig(no_answer_ratio=0.0))) as sim:
        settings = load_settings(
            database_url=url,
            ami={"port": sim.port},
            members={"interface": "Local/{seat}@agents/n"},
            callbacks={"agent_channel": "Local/{seat}@agents-callback/n"},
        )
        server = await aiohttp_server(create_app(settings))
        async with aiohttp.ClientSession() as http:
            login = {"agent": "a07", "password": PASSWORD}
            async with http.post(server.make_url("/api/login"), json=login) as resp:
                headers = {"Authorization": f"Bearer {(await resp.json())['token']}"}
            # Paused: nobody takes the call, and the caller gives up after a second.
            pause = server.make_url("/api/agent/pause")
            async with http.post(pause, json={"reason": "meal"}, headers=headers) as resp:
                assert resp.status == 200
            await sim.place_call(CallerSpec("q-zh", "13800000000", patience=1.0))

            async def listed() -> dict[str, Any] | None:
                async with http.get(server.make_url("/api/callbacks"), headers=headers) as r:
                    found = (await r.json())["callbacks"]
                return found[0] if found else None

            callback = await eventually(listed, within_s=15, what="the abandoned caller listed")
            assert (callback["number"], callback["kind"]) == ("13800000000", "other")
            base = f"/api/callbacks/{callback['id']}"
            async with http.post(server.make_url(base + "/claim"), headers=headers) as resp:
                assert resp.status == 200
            ready = server.make_url("/api/agent/ready")
            async with http.post(ready, headers=headers) as resp:
                assert resp.status == 200
            async with http.post(server.make_url(base + "/place"), headers=headers) as resp:
                assert resp.status == 200, await resp.text()

            async def duty() -> tuple[str, str | None]:
                async with http.get(server.make_url("/api/agent/duty"), headers=headers) as r:
                    got = (await r.json())["duty"]
                return (got["status"], got["reason"])

            # While the callback is on, the queues cannot ring the seat.
            assert await duty() == ("paused", "callback")

            async def result() -> str | None:
                found = await listed()
                last = found["attempts"][-1] if found else None
                return last["result"] if last and last["result"] != "placing" else None

            assert await eventually(result, within_s=15, what="the result") == "busy"
            assert (await listed() or {})["attempts"][0]["seat"] == "seat07"
            assert await duty() == ("paused", "callback")  # until the agent records it
            outcome = server.make_url(base + "/outcome")
            async with http.post(outcome, json={"outcome": "retry_later"}, headers=headers) as r:
                assert r.status == 200, await r.text()
            assert await duty() == ("ready", None)
