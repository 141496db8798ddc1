"""`/api/agent/*`: an agent's duty (ready, paused with a reason, after-call work).

The routes only translate HTTP; the rules live in `queues.MembershipService`, reached through
`cti.cluster.ClusterDuty` (carried out by the acting node, whichever node this is).
"""

from __future__ import annotations

import logging

from aiohttp import web

from cti.cluster import ClusterDuty
from cti.web.errors import BadRequest, NotOnDuty
from cti.web.keys import DUTY
from cti.web.requests import json_object, session_of, text_field
from queues import BadPauseReason
from queues import NotOnDuty as ServiceNotOnDuty

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
# How long an answer waits for the duty to be saved (the database is slow, not the rule).
SAVE_WAIT_S = 2.0


def _service(request: web.Request) -> ClusterDuty:
    if DUTY not in request.app:
        raise NotOnDuty("this server does not drive queue membership")
    return request.app[DUTY]


@routes.get("/api/agent/duty")
async def get_duty(request: web.Request) -> web.Response:
    """The agent's duty as the `duty` message carries it."""
    session = await session_of(request)
    duties = _service(request)
    duty = duties.duty_of(session.agent)
    if duty is None:
        raise NotOnDuty("not logged in at a seat")
    return web.json_response({"duty": duties.view(duty)})


@routes.post("/api/agent/pause")
async def pause(request: web.Request) -> web.Response:
    """Pause in every queue of the seat: `{"reason": "break|meal|training|meeting"}`."""
    session = await session_of(request)
    if request.query.get("token"):
        raise BadRequest("send the token in the Authorization header", field="token")
    body = await json_object(request)
    reason = text_field(body, "reason", max_len=32)
    duties = _service(request)
    try:
        duty = await duties.pause(session.agent, reason)
    except BadPauseReason as exc:
        raise BadRequest(str(exc), field="reason") from None
    except ServiceNotOnDuty as exc:
        raise NotOnDuty(str(exc)) from None
    await duties.drained(timeout_s=SAVE_WAIT_S)  # a pause answered 200 is a pause saved
    log.info("pause: agent=%s seat=%s reason=%s", session.agent, duty.seat, reason)
    return web.json_response({"ok": True, "duty": duties.view(duty)})


@routes.post("/api/agent/ready")
async def ready(request: web.Request) -> web.Response:
    """Ready in every queue of the seat (ends a pause or after-call work)."""
    session = await session_of(request)
    if request.query.get("token"):
        raise BadRequest("send the token in the Authorization header", field="token")
    duties = _service(request)
    try:
        duty = await duties.ready(session.agent)
    except ServiceNotOnDuty as exc:
        raise NotOnDuty(str(exc)) from None
    await duties.drained(timeout_s=SAVE_WAIT_S)
    log.info("ready: agent=%s seat=%s", session.agent, duty.seat)
    return web.json_response({"ok": True, "duty": duties.view(duty)})
