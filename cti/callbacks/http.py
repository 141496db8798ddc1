"""The callback list over HTTP, for agents (their session token, as the agent page uses).

- `GET /api/callbacks[?after=VERSION]` → `{"version", "now", "callbacks": [...]}`; with
  `after` it waits (at most 10 s) until the list changes past that version.
- `POST /api/callbacks/{id}/claim`, `/release`, `/place` `{"number"?}`,
  `/outcome` `{"outcome", "note"?}` → `{"callback": {...}}`.

Errors: 404 `unknown_callback`, 409 `callback_taken` (another agent's, or not claimed),
409 `cannot_place`, 502 `placement_failed` (Asterisk refused it; nothing is re-sent).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, ClassVar

from aiohttp import web

from cti.callbacks.events import callback_view
from cti.callbacks.models import MAX_NOTE, Callback
from cti.callbacks.service import (
    CallbackNotFound,
    CallbackService,
    CannotPlace,
    NotYours,
    PlacementFailed,
    Seat,
)
from cti.web.errors import APIError, BadRequest, ServiceUnavailable
from cti.web.keys import DUTY
from cti.web.requests import json_object, path_field, session_of, text_field

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
LONG_POLL_S = 10.0

CALLBACKS = web.AppKey("callbacks", CallbackService)


class UnknownCallback(APIError):
    """No callback with this id."""

    status: ClassVar[int] = 404
    error_id: ClassVar[str] = "unknown_callback"


class CallbackTaken(APIError):
    """Claimed by someone else, or not claimed by this agent."""

    status: ClassVar[int] = 409
    error_id: ClassVar[str] = "callback_taken"


class CannotPlaceError(APIError):
    """Not now: no seat, on a call, a placement in progress, a number not offered."""

    status: ClassVar[int] = 409
    error_id: ClassVar[str] = "cannot_place"


class PlacementFailedError(APIError):
    """Asterisk refused the Originate or the link failed with it in flight."""

    status: ClassVar[int] = 502
    error_id: ClassVar[str] = "placement_failed"


def seat_of(app: web.Application, agent: str) -> Seat | None:
    """Where `agent` sits now (the duty service), and whether they are on a call."""
    if DUTY not in app:
        return None
    duty = app[DUTY].duty_of(agent)
    if duty is None:
        return None
    return Seat(duty.seat, busy=duty.status == "on_call" or bool(duty.calls))


def setup(app: web.Application) -> None:
    """Add the callback routes to the web app."""
    app.add_routes(routes)


def _service(request: web.Request) -> CallbackService:
    if CALLBACKS not in request.app:
        raise ServiceUnavailable("the callback list is not running on this server")
    return request.app[CALLBACKS]


def _id(request: web.Request) -> int:
    raw = path_field(request, "id", max_len=12)
    if not raw.isdigit():
        raise BadRequest("`id` must be a number", field="id")
    return int(raw)


def _view(service: CallbackService, callback: Callback, agent: str) -> dict[str, Any]:
    locator = service.locator
    match = locator.lookup(callback.number) if locator and callback.resident_ids else None
    numbers = service.numbers(callback) if callback.claimed_by == agent else None
    return callback_view(callback, agent=agent, now=datetime.now(UTC), match=match, numbers=numbers)


async def _acting(request: web.Request) -> tuple[str, CallbackService, int]:
    session = await session_of(request)
    if request.query.get("token"):
        raise BadRequest("send the token in the Authorization header", field="token")
    return session.agent, _service(request), _id(request)


def _answer(service: CallbackService, callback: Callback, agent: str) -> web.Response:
    return web.json_response({"callback": _view(service, callback, agent)})


@routes.get("/api/callbacks")
async def list_callbacks(request: web.Request) -> web.Response:
    """The list: open callbacks first (emergency, elderly, others; by deadline)."""
    session = await session_of(request)
    service = _service(request)
    after = request.query.get("after")
    if after is not None:
        if not after.lstrip("-").isdigit():
            raise BadRequest("`after` must be a version number", field="after")
        await service.changed(int(after), LONG_POLL_S)
    version = service.version
    found = await service.listing()
    return web.json_response(
        {
            "version": version,
            "now": datetime.now(UTC).isoformat(),
            "callbacks": [_view(service, c, session.agent) for c in found],
        }
    )


@routes.post("/api/callbacks/{id}/claim")
async def claim(request: web.Request) -> web.Response:
    """Take a callback (nobody else can place it)."""
    agent, service, callback_id = await _acting(request)
    return await _do(service, agent, service.claim(callback_id, agent))


@routes.post("/api/callbacks/{id}/release")
async def release(request: web.Request) -> web.Response:
    """Hand a callback back to the list."""
    agent, service, callback_id = await _acting(request)
    return await _do(service, agent, service.release(callback_id, agent))


@routes.post("/api/callbacks/{id}/place")
async def place(request: web.Request) -> web.Response:
    """Ring the agent's seat, then the number (`number`: one of the offered numbers)."""
    agent, service, callback_id = await _acting(request)
    body = await json_object(request) if request.can_read_body else {}
    number = body.get("number")
    if number is not None and not isinstance(number, str):
        raise BadRequest("`number` must be a string", field="number")
    return await _do(service, agent, service.place(callback_id, agent, number))


@routes.post("/api/callbacks/{id}/outcome")
async def outcome(request: web.Request) -> web.Response:
    """Record how the callback went (closes it, or `retry_later` hands it back)."""
    agent, service, callback_id = await _acting(request)
    body = await json_object(request)
    chosen = text_field(body, "outcome", max_len=32)
    note = text_field(body, "note", max_len=MAX_NOTE, required=False)
    return await _do(service, agent, service.record(callback_id, agent, chosen, note))


async def _do(service: CallbackService, agent: str, work: Awaitable[Callback]) -> web.Response:
    """Carry out an agent's action; the service's refusals become typed HTTP errors."""
    try:
        callback = await work
    except CallbackNotFound as exc:
        raise UnknownCallback(str(exc)) from None
    except NotYours as exc:
        raise CallbackTaken(str(exc)) from None
    except CannotPlace as exc:
        raise CannotPlaceError(str(exc)) from None
    except PlacementFailed as exc:
        raise PlacementFailedError(str(exc)) from None
    return _answer(service, callback, agent)
