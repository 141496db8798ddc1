"""The registry from the agent page, during the agent's own call: search for a caller the
number did not find, attach the call to the resident found, and a resident's last contacts.

Every resident shown is audited like a pop view (`Locator.record_view`, on the call). Outside
the agent's own call and its unsaved wrap-up the registry is closed (`call_not_open`).
"""

from __future__ import annotations

import logging
from typing import ClassVar

from aiohttp import web

from cti.bus import Message
from cti.state import CallLog, pop_resident, recent_contacts
from cti.web.errors import APIError, BadRequest, ServiceUnavailable
from cti.web.keys import BUS, ENGINE, LOCATOR
from cti.web.requests import json_object, path_field, session_of, text_field
from locator import Locator

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

MAX_QUERY = 100
MAX_RESULTS = 10


class CallNotOpen(APIError):
    """The call is not this agent's, is over and wrapped up, or went to someone else."""

    status: ClassVar[int] = 409
    error_id: ClassVar[str] = "call_not_open"


async def own_open_call(request: web.Request, agent: str, call_id: str) -> Message:
    """The pop of `call_id` when it rang this agent and is not done with: ringing, on the
    phone, or ended with its wrap-up not saved yet. Else CallNotOpen."""
    pop: Message | None = None
    ended = False
    for message in await request.app[BUS].since(agent, 0):
        if message.get("call_id") != call_id:
            continue
        kind = message.get("type")
        if kind == "pop":
            pop, ended = message, False
        elif kind == "retract":
            pop = None
        elif kind == "completed":
            ended = True
    if pop is None:
        raise CallNotOpen("not a call of yours that is still open", call_id=call_id)
    if ended and ENGINE in request.app:
        entry = await CallLog(request.app[ENGINE]).get(call_id)
        if entry is not None and entry.wrapup_at is not None:
            raise CallNotOpen("the call is wrapped up", call_id=call_id)
    return pop


def _locator(request: web.Request) -> Locator:
    if LOCATOR not in request.app:
        raise ServiceUnavailable("the registry is not available")
    return request.app[LOCATOR]


@routes.get("/api/calls/{call_id}/residents")
async def search(request: web.Request) -> web.Response:
    """`?q=` a name, address, community, resident id or phone: the residents found, audited."""
    session = await session_of(request)
    call_id = path_field(request, "call_id", max_len=64)
    query = request.query.get("q", "").strip()
    if not query or len(query) > MAX_QUERY:
        raise BadRequest(f"`q` must be 1 to {MAX_QUERY} characters", field="q")
    await own_open_call(request, session.agent, call_id)
    locator = _locator(request)
    cards = locator.search(query, limit=MAX_RESULTS)
    await locator.record_view([c.id for c in cards], viewer=session.agent, call_id=call_id)
    log.info("registry search: call=%s agent=%s found=%d", call_id, session.agent, len(cards))
    return web.json_response({"residents": [pop_resident(c) for c in cards]})


@routes.post("/api/calls/{call_id}/resident")
async def attach(request: web.Request) -> web.Response:
    """`{"resident_id": "LS0001"}`: the call is about this resident; their card, audited."""
    session = await session_of(request)
    call_id = path_field(request, "call_id", max_len=64)
    resident_id = text_field(await json_object(request), "resident_id", max_len=32)
    await own_open_call(request, session.agent, call_id)
    locator = _locator(request)
    card = next((c for c in locator.search(resident_id, limit=50) if c.id == resident_id), None)
    if card is None:
        raise BadRequest("no such resident", field="resident_id")
    await locator.record_view([card.id], viewer=session.agent, call_id=call_id)
    log.info("call attached: call=%s agent=%s resident=%s", call_id, session.agent, card.id)
    return web.json_response({"ok": True, "call_id": call_id, "resident": pop_resident(card)})


@routes.get("/api/calls/{call_id}/residents/{resident_id}/contacts")
async def contacts(request: web.Request) -> web.Response:
    """The resident's last three contacts with the centre (date, outcome, the note's first
    line), for the agent on the call."""
    session = await session_of(request)
    call_id = path_field(request, "call_id", max_len=64)
    resident_id = path_field(request, "resident_id", max_len=32)
    await own_open_call(request, session.agent, call_id)
    if ENGINE not in request.app:
        raise ServiceUnavailable("the call log is not available")
    found = await recent_contacts(request.app[ENGINE], resident_id, exclude_call=call_id)
    return web.json_response({"resident_id": resident_id, "contacts": [c.to_json() for c in found]})
