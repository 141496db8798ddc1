"""The wallboard over HTTP: supervisors log in, read the board, and follow it live.

- `POST /api/supervisor/login` `{"agent", "password"}` → `{"token", "supervisor": {…}}`;
  an account without the supervisor role gets 403 `supervisor_required`.
- `GET /api/wallboard` (Bearer token) → the board; `GET /ws/wallboard?token=…` → the board
  at once, then again at every change (at most twice a second) and every 5 s.
- `GET /wallboard` → the wall-screen page.

Supervisor tokens are held by this node, or in Redis with `redis_url` so every node reads
them (`cti.wallboard.sessions`); they never take a seat. A wallboard socket closes (4001
'session expired') within `session_check_s` of its token's end.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

from aiohttp import WSMsgType, web

from cti import stop_task
from cti.wallboard.service import WallboardService
from cti.wallboard.sessions import (
    RedisSupervisorSessions,
    SupervisorSession,
    SupervisorSessions,
    SupervisorStore,
)
from cti.web.errors import APIError, InvalidCredentials, InvalidToken, ServiceUnavailable
from cti.web.keys import ACCOUNTS, DUTY, ENGINE, LIMITS, LOGIN_GUARD, SESSIONS, SETTINGS
from cti.web.redis_sessions import RedisSessionStore
from cti.web.requests import json_object, text_field
from cti.web.sockets import CLOSE_SESSION_ENDED
from cti.web.throttle import authenticate

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
STATIC_DIR = Path(__file__).parent / "static"
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PUSH_MIN_INTERVAL_S = 0.5  # a busy room is drawn at most twice a second
PUSH_EVERY_S = 5.0  # and at least every 5 s, so the page knows the server is there


class SupervisorRequired(APIError):
    """The account is valid but is not a supervisor's."""

    status: ClassVar[int] = 403
    error_id: ClassVar[str] = "supervisor_required"


WALLBOARD = web.AppKey("wallboard", WallboardService)
SUPERVISORS = web.AppKey[SupervisorStore]("supervisor_sessions")
_SOCKETS = web.AppKey("wallboard_sockets", weakref.WeakSet[web.WebSocketResponse])


async def wallboard_context(app: web.Application) -> AsyncIterator[None]:
    """`cti serve`'s wallboard: today's counts from the call log, then fed by the PBX link
    (which attaches it to the AMI client when it starts)."""
    service = WallboardService(lambda: app[DUTY].duties() if DUTY in app else [])
    await service.seed(app[ENGINE])
    app[WALLBOARD] = service
    redis_url = app[SETTINGS].redis_url
    if not redis_url:
        yield
        return
    # Every node reads every supervisor's token, as agents' sessions are shared, and the
    # node's keeper writes back the tokens it holds with its sessions when Redis lost them.
    sessions = app[SESSIONS]
    keeper = sessions.keeper if isinstance(sessions, RedisSessionStore) else None
    store = RedisSupervisorSessions.from_url(
        redis_url, prefix=app[SETTINGS].redis_prefix, keeper=keeper
    )
    app[SUPERVISORS] = store
    try:
        yield
    finally:
        await store.close()


def setup(app: web.Application) -> None:
    """Add the wallboard's routes, page and static files to the web app."""
    app[SUPERVISORS] = SupervisorSessions()
    app[_SOCKETS] = weakref.WeakSet()
    app.add_routes(routes)
    app.router.add_static("/wallboard/static/", STATIC_DIR, append_version=False)
    app.on_shutdown.append(_close_sockets)


async def _supervisor(request: web.Request) -> SupervisorSession:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.startswith("Bearer ") else request.query.get("token")
    session = await request.app[SUPERVISORS].resolve(token)
    if session is None:
        raise InvalidToken("log in again")
    return session


def _service(request: web.Request) -> WallboardService:
    if WALLBOARD not in request.app:
        raise ServiceUnavailable("the wallboard is not running on this server")
    return request.app[WALLBOARD]


@routes.post("/api/supervisor/login")
async def supervisor_login(request: web.Request) -> web.Response:
    """A supervisor's password → a wallboard token (no seat is taken)."""
    body = await json_object(request)
    agent_id = text_field(body, "agent", max_len=64)
    password = text_field(body, "password", max_len=256)
    app = request.app  # the agents' throttle: one budget of guesses per account and address
    profile = await authenticate(request, app[LOGIN_GUARD], app[ACCOUNTS], agent_id, password)
    if profile is None:
        log.info("supervisor login rejected: agent=%r", agent_id)
        raise InvalidCredentials("unknown agent or wrong password")
    if not profile.is_supervisor:  # supervisors, and administrators (seats.AgentProfile)
        log.info("supervisor login refused (role %s): agent=%s", profile.role, agent_id)
        raise SupervisorRequired("this account is not a supervisor's")
    session = await request.app[SUPERVISORS].issue(profile.id)
    log.info("supervisor login: %s", profile.id)
    return web.json_response(
        {"token": session.token, "supervisor": {"id": profile.id, "name": profile.name}}
    )


async def _board(request: web.Request, service: WallboardService) -> dict[str, object]:
    agents = [d.agent for d in service.duties()]
    names = await service.names(request.app[ACCOUNTS], agents)
    return service.board(names)


@routes.get("/api/wallboard")
async def wallboard_json(request: web.Request) -> web.Response:
    """The board now (see docs/protocol.md, Wallboard)."""
    await _supervisor(request)
    service = _service(request)
    return web.json_response(await _board(request, service))


@routes.get("/ws/wallboard")
async def wallboard_ws(request: web.Request) -> web.StreamResponse:
    """The board at once, then at every change (≤ 2/s) and every 5 s."""
    session = await _supervisor(request)  # before the upgrade: a bad token is a JSON 401
    service = _service(request)
    ws = web.WebSocketResponse(heartbeat=15.0, max_msg_size=4096)
    await ws.prepare(request)
    request.app[_SOCKETS].add(ws)
    log.info("wallboard socket open: supervisor=%s", session.supervisor)
    pump = asyncio.create_task(_push(request, service, ws), name="wallboard-push")
    check_s = request.app[LIMITS].session_check_s
    expiry = asyncio.create_task(
        _close_when_expired(ws, request.app[SUPERVISORS], session, check_s),
        name="wallboard-expiry",
    )
    try:
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        await stop_task(expiry)
        await stop_task(pump)
    log.info("wallboard socket closed: supervisor=%s", session.supervisor)
    return ws


async def _close_when_expired(
    ws: web.WebSocketResponse, store: SupervisorStore, session: SupervisorSession, check_s: float
) -> None:
    """Close the socket (4001, as an agent's) once its token is gone: the shift is over."""
    while True:
        await asyncio.sleep(check_s)
        try:
            alive = await store.resolve(session.token) is not None
        except Exception:  # Redis unreachable: keep the screen, ask again next time
            log.warning(
                "supervisor session check failed: supervisor=%s", session.supervisor, exc_info=True
            )
            continue
        if not alive:
            log.info("wallboard socket closed: supervisor=%s session expired", session.supervisor)
            await ws.close(code=CLOSE_SESSION_ENDED, message=b"session expired")
            return


async def _push(request: web.Request, service: WallboardService, ws: web.WebSocketResponse) -> None:
    version = -1
    try:
        while not ws.closed:
            version = service.version
            async with asyncio.timeout(10.0):  # a wall screen that stops reading is cut
                await ws.send_json(await _board(request, service))
            await asyncio.sleep(PUSH_MIN_INTERVAL_S)
            await service.changed(version, PUSH_EVERY_S)
    except (ConnectionResetError, TimeoutError):
        await ws.close()
    except Exception:
        log.exception("wallboard push failed")
        await ws.close()


@routes.get("/wallboard")
async def wallboard_page(request: web.Request) -> web.StreamResponse:
    """The wall-screen page (it logs in by itself; the data needs a supervisor)."""
    return web.FileResponse(
        STATIC_DIR / "wallboard.html",
        headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-cache"},
    )


async def _close_sockets(app: web.Application) -> None:
    sockets: weakref.WeakSet[web.WebSocketResponse] = app[_SOCKETS]
    for ws in list(sockets):
        await ws.close(code=1001, message=b"server stopping")
