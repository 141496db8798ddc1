"""`POST /api/login` and `POST /api/logout`: an agent takes or leaves a seat."""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime

from aiohttp import web
from redis.exceptions import RedisError

from cti.admin.keys import ADMIN
from cti.web.errors import AccountEnded, BadRequest, InvalidCredentials, StoreUnavailable
from cti.web.keys import ACCOUNTS, BUS, DUTY, LOGIN_GUARD, METRICS, SEATS, SESSIONS, SETTINGS
from cti.web.requests import json_object, session_of, text_field
from cti.web.throttle import authenticate
from seats import seat_of_interface

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.post("/api/login")
async def login(request: web.Request) -> web.Response:
    """Check the password, put the agent at the seat, hand back a session token.

    The answer's `last_seq` is where the agent's stream stands now: the page connects with
    it, so a pop published between login and connect is not missed and old ones are not
    replayed.
    """
    app = request.app
    body = await json_object(request)
    agent_id = text_field(body, "agent", max_len=64)
    password = text_field(body, "password", max_len=256)
    seat = text_field(body, "seat", max_len=64, required=False).lower()
    if seat and seat_of_interface(seat) != seat:
        raise BadRequest("`seat` must name a seat such as seat07", field="seat")

    # 429 with Retry-After when this agent or address failed too often, before any check
    profile = await authenticate(request, app[LOGIN_GUARD], app[ACCOUNTS], agent_id, password)
    if profile is None:
        app[METRICS].logins.labels("rejected").inc()
        # %r: a CR/LF in the id is shown escaped, it cannot start a forged log line
        log.info("login rejected: agent=%r seat=%s", agent_id, seat)
        raise InvalidCredentials("unknown agent or wrong password")
    if profile.ended(datetime.now(UTC)):
        log.info("login refused: agent=%s ended on %s", profile.id, profile.ends_on)
        raise AccountEnded(f"this account ended on {profile.ends_on}", ends_on=str(profile.ends_on))
    seat = seat or profile.home_seat or ""
    if not seat:
        raise BadRequest("`seat` is required (this agent has no home seat)", field="seat")
    if not seat_exists(app, seat):
        raise BadRequest(f"there is no seat {seat} on this hotline", field="seat")

    try:
        change = await app[SEATS].claim(profile.id, seat)
        # Ends the older sessions of this agent and of whoever sat here; their pages, on
        # whichever node, are closed by the sessions' on_ended handler (see app.py).
        session = await app[SESSIONS].login(profile.id, seat)
    except (RedisError, OSError):
        # Degraded mode: who sits where is shared through Redis, so no seat changes hands
        # until it is back; agents already at their seats are still served.
        log.warning("login refused, Redis unreachable: agent=%s seat=%s", profile.id, seat)
        raise StoreUnavailable(
            "logins are paused: the shared store (Redis) is unreachable; "
            "agents already logged in keep working",
            2,
            store="redis",
        ) from None
    if DUTY in app:  # the seat joins the agent's queues (after any call it is on)
        await app[DUTY].login(profile.id, seat, profile.skills)
        if ADMIN in app:  # an administrator's override, or the duty queue of a duty officer
            await app[ADMIN].on_login(profile)
    last_seq = await app[BUS].head(profile.id)
    app[METRICS].logins.labels("ok").inc()
    log.info("login: agent=%s seat=%s displaced=%s", profile.id, seat, change.displaced_agent)
    return web.json_response(
        {
            "token": session.token,
            "agent": {"id": profile.id, "name": profile.name, "languages": profile.languages},
            "seat": seat,
            "last_seq": last_seq,
        }
    )


def seat_exists(app: web.Application, seat: str) -> bool:
    """Whether agents may log in at `seat` (lower case, as `seat_of_interface` gives it).

    Today the configured seats `seat01`…`seatNN` (`CTI_SEATS__COUNT`, default 52), named as
    `queues.model.default_seats` names them. When administrators edit the seat model, ask
    it here: this is the one place the login learns which seats exist.
    """
    return seat in _configured_seats(app[SETTINGS].seats.count)


@functools.cache
def _configured_seats(count: int) -> frozenset[str]:
    return frozenset(f"seat{n:02d}" for n in range(1, count + 1))


@routes.post("/api/logout")
async def logout(request: web.Request) -> web.Response:
    """End the session and free the seat; the agent's sockets close."""
    session = await session_of(request)
    app = request.app
    await app[SESSIONS].logout(session.token)  # its sockets close through on_ended
    if await app[SEATS].release(session.agent, session.seat) and DUTY in app:
        await app[DUTY].logout(session.agent)
    log.info("logout: agent=%s seat=%s", session.agent, session.seat)
    return web.json_response({"ok": True})
