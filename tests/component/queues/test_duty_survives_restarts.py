"""A pause survives a restart of the CTI server and of Asterisk (`cti serve`'s own wiring).

The duty is saved in the database: a new server process puts the seat back as it was, paused
for the same reason, before the agent logs in again; and after Asterisk forgets its members
(`persistentmembers = no`) the server adds it back paused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from cti.ami import AMIClient, ListResult
from cti.db import create_engine, upgrade
from cti.settings import AMISettings, load_settings
from cti.sim import PbxConfig, SimConfig, SimThread
from cti.web import create_app
from seats import SqlAgentAccounts
from tests.support.waiting import eventually

PASSWORD = "pw-duty"


async def _seat07(ami: AMIClient) -> tuple[str, str] | None:
    result = await ami.send("QueueStatus")
    assert isinstance(result, ListResult)
    for e in result.events:
        if e.name == "QueueMember" and e.get("Name") == "seat07" and e.get("Queue") == "q-zh":
            return (e["Paused"], e["PausedReason"])
    return None


async def test_a_pause_survives_a_server_restart_and_an_asterisk_restart(
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
        )
        probe = AMIClient(AMISettings(port=sim.port))
        await probe.start()
        try:
            first: TestServer = await aiohttp_server(create_app(settings))
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    first.make_url("/api/login"), json={"agent": "a07", "password": PASSWORD}
                ) as resp:
                    token = (await resp.json())["token"]
                headers = {"Authorization": f"Bearer {token}"}
                async with http.post(
                    first.make_url("/api/agent/pause"), json={"reason": "meal"}, headers=headers
                ) as resp:
                    assert resp.status == 200
                    assert (await resp.json())["duty"]["status"] == "paused"
            await eventually(lambda: _is(probe, ("1", "meal")), what="paused for meal")
            await first.close()  # the CTI server stops (a deploy, a crash and restart)

            await sim.restart()  # and Asterisk forgets every member meanwhile
            await eventually(lambda: _is(probe, None), what="members gone")

            second: TestServer = await aiohttp_server(create_app(settings))
            # Nobody logged in on the new server: the saved duty puts the seat back, paused.
            await eventually(lambda: _is(probe, ("1", "meal")), what="back, still paused")
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    second.make_url("/api/login"), json={"agent": "a07", "password": PASSWORD}
                ) as resp:
                    token = (await resp.json())["token"]
                async with http.get(
                    second.make_url("/api/agent/duty"),
                    headers={"Authorization": f"Bearer {token}"},
                ) as resp:
                    duty = (await resp.json())["duty"]
            assert (duty["status"], duty["reason"]) == ("paused", "meal")
            await second.close()
        finally:
            await probe.stop()


async def _is(probe: AMIClient, want: tuple[str, str] | None) -> bool:
    return await _seat07(probe) == want
