"""The wallboard through `cti serve`'s wiring, driven by the simulator in accelerated time:
after a few simulated minutes of calls, drained, its counts per queue equal the call log's
and the simulator's own (what its QueueParams report, and the model's counters)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from cti.ami import AMIParser, Event, encode_action
from cti.db import create_engine, upgrade
from cti.settings import load_settings
from cti.sim import LoadConfig, PbxConfig, QueueCounts, SimConfig, SimThread
from cti.state import CallLogEntry
from cti.web import create_app
from seats import SqlAgentAccounts
from tests.support.waiting import eventually

PASSWORD = "pw-wallboard"
AGENTS = (("a07", "李娜", "seat07"), ("a08", "Grace Lee", "seat08"), ("a09", "김민지", "seat09"))
TIME_SCALE = 30.0  # simulated seconds per real second
ACW_S = 1.0
SIMULATED_S = 420.0  # seven minutes of calls...
LOAD = LoadConfig(
    rate_per_hour=200.0,  # ...about 23 callers, at times more than three agents take
    abandon_ratio=0.2,
    patience=(5.0, 40.0),
    talk=(15.0, 60.0),
    longest_wait=90.0,  # so the run drains in a few simulated minutes
    seed=14,
)


async def _call_log(url: str) -> dict[str, tuple[int, int, int, int]]:
    """(offered, answered, abandoned, answered within 15 s) per queue, from the call log."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(CallLogEntry.queue, CallLogEntry.outcome, CallLogEntry.waited_s)
            )
            counts: dict[str, list[int]] = {}
            for queue, outcome, waited_s in rows:
                c = counts.setdefault(queue, [0, 0, 0, 0])
                c[0] += 1
                c[1] += outcome == "answered"
                c[2] += outcome == "abandoned"
                c[3] += outcome == "answered" and waited_s <= 15.0
    finally:
        await engine.dispose()
    return {queue: (c[0], c[1], c[2], c[3]) for queue, c in counts.items()}


def _truth(counts: QueueCounts) -> tuple[int, int, int, int]:
    return (counts.joined, counts.answered, counts.abandoned, counts.answered_in_level)


@pytest.mark.timeout(90)
async def test_wallboard_equals_call_log_and_simulator_after_accelerated_minutes(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine, "head")
    accounts = SqlAgentAccounts(engine)
    for agent, name, seat in AGENTS:
        await accounts.add(agent, name, "zh,en,ko", PASSWORD, seat)
    await accounts.add("s01", "王组长", "zh", PASSWORD, role="supervisor")
    await engine.dispose()
    config = SimConfig(pbx=PbxConfig(seed=14), time_scale=TIME_SCALE)
    async with SimThread(config) as sim:
        settings = load_settings(
            database_url=url,
            ami={"port": sim.port},
            # The server's after-call work runs on the real clock: 1 s is 30 simulated.
            members={"interface": "Local/{seat}@agents/n", "acw_timeout_s": ACW_S},
        )
        server = await aiohttp_server(create_app(settings))
        async with aiohttp.ClientSession() as http:
            for agent, _, _ in AGENTS:
                login = {"agent": agent, "password": PASSWORD}
                async with http.post(server.make_url("/api/login"), json=login) as resp:
                    assert resp.status == 200, await resp.text()
            login = {"agent": "s01", "password": PASSWORD}
            async with http.post(server.make_url("/api/supervisor/login"), json=login) as resp:
                assert resp.status == 200, await resp.text()
                headers = {"Authorization": f"Bearer {(await resp.json())['token']}"}

            async def board() -> dict[str, tuple[int, int, int, int]]:
                async with http.get(server.make_url("/api/wallboard"), headers=headers) as r:
                    assert r.status == 200, await r.text()
                    rows = (await r.json())["queues"]
                return {
                    q["queue"]: (
                        q["offered"],
                        q["answered"],
                        q["abandoned"],
                        q["answered_in_target"],
                    )
                    for q in rows
                    if q["offered"]
                }

            async def members_in() -> bool:
                async with http.get(server.make_url("/api/wallboard"), headers=headers) as r:
                    rows = (await r.json())["queues"]
                return all(q["members"]["available"] == len(AGENTS) for q in rows)

            await eventually(members_in, within_s=10, what="three agents in every queue")
            started = time.monotonic()
            await sim.start_arrivals(LOAD)
            await eventually(
                lambda: _elapsed(started, SIMULATED_S / TIME_SCALE), within_s=30, what="the run"
            )
            await sim.stop_arrivals()
            await eventually(sim.drained, within_s=30, what="every call over in the simulator")
            truth = {q: _truth(c) for q, c in (await sim.counts()).items() if c.joined}
            offered = sum(t[0] for t in truth.values())

            async def logged() -> dict[str, tuple[int, int, int, int]] | None:
                log = await _call_log(url)
                return log if sum(c[0] for c in log.values()) == offered else None

            call_log = await eventually(logged, within_s=15, what="every call in the call log")
            wallboard = await board()
            real_s = time.monotonic() - started
            params = await _queue_params(sim.port)

    assert offered >= 20, truth  # minutes of a busy centre, not a handful of calls
    # Some gave up, some were answered within 15 s and some after: every count is exercised.
    abandoned, answered, in_target = (sum(t[i] for t in truth.values()) for i in (2, 1, 3))
    assert abandoned > 0 and 0 < in_target < answered, truth
    assert wallboard == call_log == truth
    assert real_s < 45, f"{real_s:.1f} s of real time"
    # What the simulated Asterisk's QueueStatus reports: Completed (every answered call's
    # talk is over once drained) and Abandoned, per queue.
    assert {q: p for q, p in params.items() if q in truth} == {
        q: (t[1], t[2]) for q, t in truth.items()
    }


async def _elapsed(since: float, seconds: float) -> bool:
    return time.monotonic() - since >= seconds


async def _queue_params(port: int) -> dict[str, tuple[int, int]]:
    """(Completed, Abandoned) per queue from the simulator's QueueStatus, over AMI."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    parser = AMIParser()
    params: dict[str, tuple[int, int]] = {}
    try:
        writer.write(encode_action("Login", {"Username": "cti", "Secret": "ctisecret"}, "l-1"))
        writer.write(encode_action("Events", {"EventMask": "off"}, "e-1"))
        writer.write(encode_action("QueueStatus", {}, "qs-1"))
        async with asyncio.timeout(5):
            while data := await reader.read(65536):
                parser.feed(data)
                for msg in parser.messages():
                    if isinstance(msg, Event) and msg.name == "QueueParams":
                        completed, abandoned = msg.get("Completed"), msg.get("Abandoned")
                        params[msg.get("Queue") or ""] = (int(completed or 0), int(abandoned or 0))
                    if isinstance(msg, Event) and msg.name == "QueueStatusComplete":
                        return params
    finally:
        writer.close()
    raise AssertionError("no QueueStatusComplete")
