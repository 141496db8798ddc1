"""Wrap-up form saved through the state service; health and metrics answer."""

from __future__ import annotations

from tests.component.web.conftest import MakeStack


async def test_wrapup_is_saved_for_the_agents_completed_call(make_stack: MakeStack) -> None:
    stack = await make_stack()
    s = await stack.login("a07", "seat07")
    stack.wrapups.completed["1700000000.42"] = "a07"
    resp = await stack.client.post(
        "/api/calls/1700000000.42/wrapup",
        json={"outcome": "handed_over", "note": "转供热办 <b>急</b>"},
        headers={"Authorization": f"Bearer {s['token']}"},
    )
    assert resp.status == 200, await resp.text()
    assert stack.wrapups.saved == [("1700000000.42", "a07", "handed_over", "转供热办 <b>急</b>")]


async def test_wrapup_for_someone_elses_call_is_unknown_call(make_stack: MakeStack) -> None:
    stack = await make_stack()
    s = await stack.login("a07", "seat07")
    stack.wrapups.completed["c9"] = "a21"
    resp = await stack.client.post(
        "/api/calls/c9/wrapup",
        json={"outcome": "resolved", "note": ""},
        headers={"Authorization": f"Bearer {s['token']}"},
    )
    assert resp.status == 404
    assert (await resp.json())["error"] == "unknown_call"
    assert stack.wrapups.saved == []


async def test_wrapup_rejects_unknown_outcome_and_missing_token(make_stack: MakeStack) -> None:
    stack = await make_stack()
    s = await stack.login("a07", "seat07")
    stack.wrapups.completed["c1"] = "a07"
    resp = await stack.client.post(
        "/api/calls/c1/wrapup",
        json={"outcome": "whatever"},
        headers={"Authorization": f"Bearer {s['token']}"},
    )
    assert (resp.status, (await resp.json())["details"]["field"]) == (400, "outcome")
    resp = await stack.client.post("/api/calls/c1/wrapup", json={"outcome": "resolved"})
    assert (resp.status, (await resp.json())["error"]) == (401, "invalid_token")


async def test_health_metrics_and_unknown_route_answer_json(make_stack: MakeStack) -> None:
    stack = await make_stack()
    await stack.login("a07", "seat07")
    health = await stack.client.get("/health")
    assert health.status == 200
    assert (await health.json())["seats_occupied"] == 1
    metrics = await stack.client.get("/metrics")
    assert metrics.status == 200
    assert 'cti_logins_total{result="ok"} 1.0' in await metrics.text()
    missing = await stack.client.get("/api/nothing")
    assert (missing.status, (await missing.json())["error"]) == (404, "not_found")


async def test_agent_page_is_served_with_a_strict_content_security_policy(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack()
    resp = await stack.client.get("/agent")
    assert resp.status == 200
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "<script" in await resp.text()
