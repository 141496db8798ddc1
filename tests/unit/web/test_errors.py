"""The error middleware: typed errors and surprises both leave as JSON with a stable id."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cti.web.errors import InvalidCredentials, error_middleware


async def _typed(request: web.Request) -> web.Response:
    raise InvalidCredentials("nope", hint="x")


async def _bug(request: web.Request) -> web.Response:
    raise ZeroDivisionError


async def test_typed_error_and_unexpected_exception_become_json(aiohttp_client: Any) -> None:
    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/typed", _typed)
    app.router.add_get("/bug", _bug)
    client = await aiohttp_client(app)
    resp = await client.get("/typed")
    assert resp.status == 401
    assert await resp.json() == {
        "error": "invalid_credentials",
        "message": "nope",
        "details": {"hint": "x"},
    }
    resp = await client.get("/bug")
    assert resp.status == 500
    body = await resp.json()
    assert body["error"] == "internal_error" and "ZeroDivision" not in body["message"]
    resp = await client.post("/typed")
    assert (resp.status, (await resp.json())["error"]) == (405, "method_not_allowed")
