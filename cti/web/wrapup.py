"""`POST /api/calls/{call_id}/wrapup`: the short form an agent fills after a call."""

from __future__ import annotations

import logging

from aiohttp import web

from cti.cluster import NoActingNode
from cti.state import MAX_CALLER_OTHER, save_caller
from cti.web.errors import BadRequest, ServiceUnavailable, UnknownCall, WrapupRejected
from cti.web.keys import DUTY, ENGINE, METRICS, WRAPUPS
from cti.web.requests import json_object, path_field, session_of, text_field

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

# What the agent can pick; the call log stores the id, the page shows the words.
OUTCOMES = ("resolved", "handed_over", "callback", "emergency", "other")
MAX_NOTE = 2000


@routes.post("/api/calls/{call_id}/wrapup")
async def save_wrapup(request: web.Request) -> web.Response:
    """Save outcome + note for one of the agent's completed calls through the state service."""
    session = await session_of(request)
    call_id = path_field(request, "call_id", max_len=64)
    body = await json_object(request)
    outcome = text_field(body, "outcome", max_len=32)
    if outcome not in OUTCOMES:
        raise BadRequest(f"`outcome` must be one of {', '.join(OUTCOMES)}", field="outcome")
    note = text_field(body, "note", max_len=MAX_NOTE, required=False)
    # Who called (a household shares a number): a resident id, or someone else in words.
    resident = text_field(body, "caller_resident", max_len=32, required=False) or None
    other = text_field(body, "caller_other", max_len=MAX_CALLER_OTHER, required=False) or None
    if resident is not None and other is not None:
        raise BadRequest("give `caller_resident` or `caller_other`, not both", field="caller_other")
    try:
        await request.app[WRAPUPS].save_wrapup(call_id, session.agent, outcome, note)
    except LookupError:
        raise UnknownCall("no such call for this agent", call_id=call_id) from None
    except ValueError as exc:
        raise WrapupRejected(str(exc), call_id=call_id) from None
    except ConnectionError:
        # The call log cannot be written now (database down; the call's row is kept and
        # written when it is back): the page may try again.
        raise ServiceUnavailable(
            "the call log is unavailable; try again", call_id=call_id
        ) from None
    if ENGINE in request.app:
        try:
            await save_caller(request.app[ENGINE], call_id, session.agent, resident, other)
        except LookupError:
            raise UnknownCall("no such call for this agent", call_id=call_id) from None
        except ConnectionError:
            raise ServiceUnavailable(
                "the call log is unavailable; try again", call_id=call_id
            ) from None
    request.app[METRICS].wrapups.labels(outcome).inc()
    if DUTY in request.app:  # the form is done: after-call work for this call ends
        try:
            await request.app[DUTY].wrapup_saved(session.agent, call_id)
        except NoActingNode:
            # The wrap-up is saved; after-call work ends at its own deadline instead.
            log.warning("wrap-up saved, after-call work not ended now: agent=%s", session.agent)
    log.info("wrap-up saved: call=%s agent=%s outcome=%s", call_id, session.agent, outcome)
    return web.json_response({"ok": True, "call_id": call_id, "outcome": outcome})
