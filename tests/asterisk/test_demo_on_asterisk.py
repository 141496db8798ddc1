"""`cti demo --pbx asterisk`: the demo's own wiring on the real Asterisk, headless. Demo
agents log in (their seats join their queues), callers arrive by Originate, pops reach the
agents' sockets, and `core restart now` (the demo's SIGUSR1) comes back as `resynced`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cti.demo import DEMO_AGENTS, DEMO_PASSWORD, DemoOptions, running_demo
from tests.support.waiting import eventually

pytestmark = pytest.mark.asterisk


async def test_demo_on_asterisk_pops_calls_and_resyncs_after_a_restart(tmp_path: Path) -> None:
    options = DemoOptions(
        rate=3600, port=0, residents=300, dir=tmp_path, talk=(1.0, 3.0), pbx="asterisk"
    )
    async with running_demo(options) as demo, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{demo.http_port}"
        messages: list[dict[str, Any]] = []

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    messages.append(json.loads(msg.data))

        readers = []
        for agent in DEMO_AGENTS:
            login = {"agent": agent.agent_id, "password": DEMO_PASSWORD}
            async with http.post(f"{base}/api/login", json=login) as resp:
                assert resp.status == 200, await resp.text()
                session = await resp.json()
            ws = await http.ws_connect(
                f"{base}/ws/agent?token={session['token']}&last_seq={session['last_seq']}"
            )
            readers.append(asyncio.create_task(read(ws)))
        try:
            pops = await eventually(
                lambda: [m for m in messages if m["type"] == "pop"], within_s=40, what="a pop"
            )
            assert pops[0]["seat"] in {a.seat for a in DEMO_AGENTS}
            assert await demo.sim.placed() >= 1

            await demo.sim.restart()
            await eventually(
                lambda: any(m["type"] == "resynced" for m in messages),
                within_s=20,
                what="resynced after core restart now",
            )
        finally:
            for task in readers:
                task.cancel()
