"""The wallboard over a real aiohttp server: supervisors only, the board, live over WebSocket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from cti.bus import InProcessBus
from cti.settings import Settings
from cti.wallboard import WallboardService
from cti.wallboard.http import WALLBOARD
from cti.web import WebServices, create_app
from queues import SeatDuty, Wanted
from seats import MemoryAgentAccounts, SeatDirectory
from tests.support.recordings import recording_events

PASSWORD = "correct horse 7"


class _NoWrapups:
    async def save_wrapup(self, call_id: str, agent: str, outcome: str, note: str) -> None:
        raise LookupError(call_id)


async def _client(aiohttp_client: Any, service: WallboardService) -> TestClient[Any, Any]:
    accounts = MemoryAgentAccounts()
    accounts.add("a07", "李娜", "zh", PASSWORD)
    accounts.add("s01", "王组长", "zh", PASSWORD, role="supervisor")
    app = create_app(
        Settings(), WebServices(accounts, InProcessBus(), _NoWrapups(), SeatDirectory())
    )
    app[WALLBOARD] = service
    client: TestClient[Any, Any] = await aiohttp_client(app)
    return client


async def _token(client: TestClient[Any, Any], agent: str) -> str:
    resp = await client.post("/api/supervisor/login", json={"agent": agent, "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    token: str = (await resp.json())["token"]
    return token


async def test_an_agent_account_cannot_open_the_wallboard(aiohttp_client: Any) -> None:
    client = await _client(aiohttp_client, WallboardService())
    resp = await client.post("/api/supervisor/login", json={"agent": "a07", "password": PASSWORD})
    assert resp.status == 403
    assert (await resp.json())["error"] == "supervisor_required"
    resp = await client.post("/api/supervisor/login", json={"agent": "s01", "password": "nope!!"})
    assert resp.status == 401 and (await resp.json())["error"] == "invalid_credentials"
    assert (await client.get("/api/wallboard")).status == 401
    assert (await client.get("/ws/wallboard?token=forged")).status == 401
    # An agent's own session token is not a supervisor's.
    login = {"agent": "a07", "password": PASSWORD, "seat": "seat07"}
    agent_token = (await (await client.post("/api/login", json=login)).json())["token"]
    resp = await client.get("/api/wallboard", headers={"Authorization": f"Bearer {agent_token}"})
    assert resp.status == 401


async def test_the_board_shows_recording_18_and_follows_it_live(
    aiohttp_client: Any, traces_dir: Path
) -> None:
    duty = SeatDuty("seat08", "a07", (Wanted("q-zh", 0),), status="paused", reason="meal")
    service = WallboardService(lambda: [duty])
    client = await _client(aiohttp_client, service)
    token = await _token(client, "s01")
    events = recording_events(traces_dir / "18-wallboard-queue-stats.ami")
    live = [e for e in events if not e.action_id]
    first_join = next(i for i, e in enumerate(live) if e.name == "QueueCallerJoin")
    for event in live[:first_join]:  # the two members added, seat08 paused for meal
        service.on_event(event)
    async with client.ws_connect(f"/ws/wallboard?token={token}") as ws:
        board = await ws.receive_json(timeout=5)
        zh = next(q for q in board["queues"] if q["queue"] == "q-zh")
        assert zh["waiting"] == 0 and zh["members"]["available"] == 1
        assert zh["members"]["paused"] == 1 and zh["paused_reasons"] == {"meal": 1}
        agents = {a["seat"]: a for a in board["agents"]}
        assert agents["seat08"]["agent"] == "a07" and agents["seat08"]["name"] == "李娜"
        assert (agents["seat08"]["state"], agents["seat08"]["reason"]) == ("paused", "meal")
        service.on_event(live[first_join])  # a caller joins q-zh
        board = await ws.receive_json(timeout=5)
        zh = next(q for q in board["queues"] if q["queue"] == "q-zh")
        assert zh["waiting"] == 1 and zh["offered"] == 1 and zh["oldest_since"]
    for event in live[first_join + 1 :]:
        service.on_event(event)
    resp = await client.get("/api/wallboard", headers={"Authorization": f"Bearer {token}"})
    zh = next(q for q in (await resp.json())["queues"] if q["queue"] == "q-zh")
    assert (zh["offered"], zh["answered"], zh["abandoned"]) == (3, 2, 1)
    assert (zh["answered_in_target_pct"], zh["service_level_pct"]) == (100.0, 66.7)


async def test_the_page_is_served_with_its_content_security_policy(aiohttp_client: Any) -> None:
    client = await _client(aiohttp_client, WallboardService())
    resp = await client.get("/wallboard")
    assert resp.status == 200
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert (await client.get("/wallboard/static/wallboard.js")).status == 200
