"""`cti demo` end to end, headless: simulated calls pop on logged-in demo agents' sockets,
and when the calls are over the server's view of calls equals the simulator's."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from cti.demo import DEMO_AGENTS, DEMO_PASSWORD, DemoOptions, running_demo
from cti.web.keys import WRAPUPS


async def login(http: aiohttp.ClientSession, base: str, agent: str) -> dict[str, Any]:
    async with http.post(
        f"{base}/api/login", json={"agent": agent, "password": DEMO_PASSWORD}
    ) as resp:
        assert resp.status == 200, await resp.text()
        body: dict[str, Any] = await resp.json()
        return body


async def sim_calls(demo: Any) -> set[str]:
    async def read() -> set[str]:
        return set(demo.sim.server.pbx.calls)

    result: set[str] = await demo.sim.call(read())
    return result


async def test_demo_pops_calls_on_agent_pages_and_ends_in_agreement(tmp_path: Path) -> None:
    options = DemoOptions(rate=2400, port=0, residents=300, dir=tmp_path, talk=(1.0, 3.0))
    async with running_demo(options) as demo, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{demo.http_port}"
        sockets = []
        for agent in DEMO_AGENTS:
            session = await login(http, base, agent.agent_id)
            ws = await http.ws_connect(
                f"{base}/ws/agent?token={session['token']}&last_seq={session['last_seq']}"
            )
            sockets.append(ws)
        pops: list[dict[str, Any]] = []
        popped = asyncio.Event()

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if data.get("type") == "pop":
                        pops.append(data)
                        popped.set()

        readers = [asyncio.create_task(read(ws)) for ws in sockets]
        await asyncio.wait_for(popped.wait(), 30)
        assert pops[0]["seat"] in {a.seat for a in DEMO_AGENTS}
        assert pops[0]["caller"]["number"]

        async def stop_arrivals() -> None:
            assert demo.sim.server.arrivals is not None
            demo.sim.server.arrivals.stop()

        await demo.sim.call(stop_arrivals())
        for _ in range(300):  # up to 60 s for the last calls to end
            if not await sim_calls(demo):
                break
            await asyncio.sleep(0.2)
        assert await sim_calls(demo) == set()
        await asyncio.sleep(0.5)  # the last events cross the socket
        tracker = demo.app[WRAPUPS].tracker  # type: ignore[attr-defined]
        assert set(tracker.calls) == set()
        for ws in sockets:
            await ws.close()
        for task in readers:
            task.cancel()


async def test_simulator_restart_reaches_agent_pages_as_resynced(tmp_path: Path) -> None:
    options = DemoOptions(rate=60, port=0, residents=50, dir=tmp_path)
    async with running_demo(options) as demo, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{demo.http_port}"
        session = await login(http, base, "agent01")
        ws = await http.ws_connect(
            f"{base}/ws/agent?token={session['token']}&last_seq={session['last_seq']}"
        )
        await demo.sim.restart()
        resynced = None
        async with asyncio.timeout(30):
            async for msg in ws:
                data = json.loads(msg.data)
                if data.get("type") == "resynced":
                    resynced = data
                    break
        assert resynced is not None
        await ws.close()
