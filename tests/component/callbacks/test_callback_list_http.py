"""The callback list over a real aiohttp server and SQLite: its order, one claimant, a caller
who calls in again, a repeat abandon, and the typed refusals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cti import stop_task
from cti.bus import InProcessBus
from cti.callbacks import CallbackService, CallbackStore, Seat
from cti.callbacks.http import CALLBACKS
from cti.settings import CallbacksSettings, Settings
from cti.web import WebServices, create_app
from seats import MemoryAgentAccounts, SeatDirectory
from tests.component.callbacks.conftest import ALONE, WITH_FAMILY, Registry, record

PASSWORD = "correct horse 7"


class _NoWrapups:
    async def save_wrapup(self, call_id: str, agent: str, outcome: str, note: str) -> None:
        raise LookupError(call_id)


SENT: list[tuple[str, list[Any], bool]] = []


class _Recording:
    """An AMI client that takes the Originate and never reports a result (the test ends)."""

    async def send(self, name: str, fields: Any, *, idempotent: bool = True) -> object:
        SENT.append((name, list(fields), idempotent))
        return object()


@pytest.fixture
async def service(engine: AsyncEngine) -> AsyncIterator[CallbackService]:
    made = CallbackService(
        CallbackStore(engine),
        _Recording(),
        CallbacksSettings(),
        locator=Registry({"05356683318": [WITH_FAMILY], "13800000000": [ALONE]}),
        seat_of=lambda agent: Seat({"a07": "seat07", "a08": "seat08"}[agent], busy=False),
    )
    runner = asyncio.create_task(made.run())
    SENT.clear()
    yield made
    await stop_task(runner)


async def _client(aiohttp_client: Any, service: CallbackService) -> TestClient[Any, Any]:
    accounts = MemoryAgentAccounts()
    accounts.add("a07", "李娜", "zh", PASSWORD)
    accounts.add("a08", "张伟", "zh", PASSWORD)
    app = create_app(
        Settings(), WebServices(accounts, InProcessBus(), _NoWrapups(), SeatDirectory())
    )
    app[CALLBACKS] = service
    client: TestClient[Any, Any] = await aiohttp_client(app)
    return client


async def _login(client: TestClient[Any, Any], agent: str, seat: str) -> dict[str, str]:
    body = {"agent": agent, "password": PASSWORD, "seat": seat}
    resp = await client.post("/api/login", json=body)
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def test_emergency_then_elderly_then_others_each_with_its_deadline(
    aiohttp_client: Any, service: CallbackService
) -> None:
    client = await _client(aiohttp_client, service)
    a07 = await _login(client, "a07", "seat07")
    now = time.time()
    service.on_call_finished(record("c-other", "13512345678", at=now - 60), [])
    service.on_call_finished(record("c-elderly", "05356683318", at=now - 30), ["R002"])
    service.on_call_finished(record("c-duty", "13600000000", queue="q-duty", at=now), [])
    await service.flush()
    listing = await (await client.get("/api/callbacks", headers=a07)).json()
    kinds = [(c["call_id"], c["kind"]) for c in listing["callbacks"]]
    assert kinds == [("c-duty", "emergency"), ("c-elderly", "elderly"), ("c-other", "other")]
    elderly = listing["callbacks"][1]
    assert elderly["residents"] == [{"id": "R002", "name": "王建国", "age": 75, "flags": []}]
    promised = _ts(elderly["deadline_at"]) - _ts(elderly["abandoned_at"])
    assert promised == pytest.approx(600)
    other = listing["callbacks"][2]
    assert _ts(other["deadline_at"]) - _ts(other["abandoned_at"]) == pytest.approx(7200)


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def test_only_the_claimant_can_place_and_a_second_claim_is_refused(
    aiohttp_client: Any, service: CallbackService
) -> None:
    client = await _client(aiohttp_client, service)
    a07 = await _login(client, "a07", "seat07")
    a08 = await _login(client, "a08", "seat08")
    service.on_call_finished(record("c1", "05356683318"), ["R002"])
    await service.flush()
    (cb,) = (await (await client.get("/api/callbacks", headers=a07)).json())["callbacks"]
    claims = await asyncio.gather(
        client.post(f"/api/callbacks/{cb['id']}/claim", headers=a07),
        client.post(f"/api/callbacks/{cb['id']}/claim", headers=a08),
    )
    statuses = sorted(r.status for r in claims)
    assert statuses == [200, 409]
    loser = next(r for r in claims if r.status == 409)
    assert (await loser.json())["error"] == "callback_taken"
    winner_headers = a07 if claims[0].status == 200 else a08
    other = a08 if winner_headers is a07 else a07
    resp = await client.post(f"/api/callbacks/{cb['id']}/place", headers=other)
    assert resp.status == 409 and (await resp.json())["error"] == "callback_taken"
    view = (await (await client.get("/api/callbacks", headers=other)).json())["callbacks"][0]
    assert view["numbers"] == [] and view["mine"] is False  # nothing to dial for others
    resp = await client.post(
        f"/api/callbacks/{cb['id']}/place", headers=winner_headers, json={"number": "110"}
    )
    assert resp.status == 409 and (await resp.json())["error"] == "cannot_place"
    resp = await client.post(f"/api/callbacks/{cb['id']}/place", headers=winner_headers)
    assert resp.status == 200, await resp.text()
    placed = (await resp.json())["callback"]
    assert placed["placing"] is True and placed["attempts"][0]["number"] == "05356683318"
    # While it is being placed, nothing else may be sent for it.
    resp = await client.post(f"/api/callbacks/{cb['id']}/place", headers=winner_headers)
    assert resp.status == 409
    assert [(name, idempotent) for name, _, idempotent in SENT] == [("Originate", False)]


async def test_a_caller_who_calls_in_again_clears_their_callback_and_repeats_count_once(
    aiohttp_client: Any, service: CallbackService
) -> None:
    client = await _client(aiohttp_client, service)
    a07 = await _login(client, "a07", "seat07")
    service.on_call_finished(record("c1", "13800000000"), ["R001"])
    service.on_call_finished(record("c2", "13800000000"), ["R001"])
    await service.flush()
    (cb,) = (await (await client.get("/api/callbacks", headers=a07)).json())["callbacks"]
    assert cb["repeats"] == 1
    service.on_call_finished(record("c3", "13800000000", outcome="answered"), ["R001"])
    await service.flush()
    (cb,) = (await (await client.get("/api/callbacks", headers=a07)).json())["callbacks"]
    assert (cb["status"], cb["outcome"]) == ("cleared", "called_in")


async def test_an_outcome_closes_it_or_hands_it_back(
    aiohttp_client: Any, service: CallbackService
) -> None:
    client = await _client(aiohttp_client, service)
    a07 = await _login(client, "a07", "seat07")
    a08 = await _login(client, "a08", "seat08")
    service.on_call_finished(record("c1", "05356683318"), ["R002"])
    await service.flush()
    (cb,) = (await (await client.get("/api/callbacks", headers=a07)).json())["callbacks"]
    url = f"/api/callbacks/{cb['id']}"
    assert (await client.post(url + "/claim", headers=a07)).status == 200
    resp = await client.post(url + "/outcome", headers=a07, json={"outcome": "bogus"})
    assert resp.status == 409
    resp = await client.post(url + "/outcome", headers=a07, json={"outcome": "retry_later"})
    assert (await resp.json())["callback"]["status"] == "pending"
    assert (await client.post(url + "/claim", headers=a08)).status == 200
    resp = await client.post(
        url + "/outcome", headers=a08, json={"outcome": "reached", "note": "已回电"}
    )
    done = (await resp.json())["callback"]
    assert (done["status"], done["outcome"], done["note"]) == ("done", "reached", "已回电")
    assert (await client.post("/api/callbacks/999/claim", headers=a07)).status == 404
    assert (await client.get("/api/callbacks")).status == 401


async def test_a_long_poll_returns_when_the_list_changes(
    aiohttp_client: Any, service: CallbackService
) -> None:
    client = await _client(aiohttp_client, service)
    a07 = await _login(client, "a07", "seat07")
    first = await (await client.get("/api/callbacks", headers=a07)).json()
    waiting = asyncio.create_task(
        client.get(f"/api/callbacks?after={first['version']}", headers=a07)
    )
    await asyncio.sleep(0.1)
    assert not waiting.done()
    service.on_call_finished(record("c1", "05356683318"), ["R002"])
    resp = await asyncio.wait_for(waiting, 5)
    body = await resp.json()
    assert body["version"] > first["version"] and len(body["callbacks"]) == 1
