"""The web app factory: routes, middleware, state on typed keys, owned background work."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from cti.admin import http as admin_http
from cti.bus import Bus
from cti.callbacks import http as callbacks_http
from cti.settings import Settings
from cti.wallboard import http as wallboard_http
from cti.web import agent_ws, duty, login, ops, pages, residents, wrapup
from cti.web.degraded import DEGRADED, DegradedState, watch_shared_store
from cti.web.errors import error_middleware
from cti.web.keys import (
    ACCOUNTS,
    BUS,
    HUB,
    LIMITS,
    LOGIN_GUARD,
    METRICS,
    SEATS,
    SESSIONS,
    SETTINGS,
    TICKETS,
    WRAPUPS,
    SocketLimits,
)
from cti.web.metrics import WebMetrics
from cti.web.ports import WrapupSink
from cti.web.sessions import AgentSession, Sessions, SessionStore
from cti.web.sockets import CLOSE_GOING_AWAY, CLOSE_SESSION_ENDED, SocketHub
from cti.web.throttle import LoginGuard
from cti.web.tickets import TicketBook
from seats import AgentAccounts, SeatDirectory

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WebServices:
    """The collaborators the web side talks to, when the caller builds them (tests, demo)."""

    accounts: AgentAccounts
    bus: Bus
    wrapups: WrapupSink
    seats: SeatDirectory
    sessions: Sessions | None = None  # None: in-process SessionStore


def create_app(
    settings: Settings,
    services: WebServices | None = None,
    *,
    limits: SocketLimits | None = None,
) -> web.Application:
    """The agent web app.

    With `services` the app uses them as given (their owner starts and stops them). Without,
    the app builds and owns the real ones in its cleanup context (database, bus, AMI client,
    state machine, locator) — see `cti.server`, the composition root.
    """
    app = web.Application(middlewares=[error_middleware], client_max_size=64 * 1024)
    metrics = WebMetrics()
    app[SETTINGS] = settings
    app[LIMITS] = limits or SocketLimits()
    app[METRICS] = metrics
    app[SESSIONS] = (services.sessions if services else None) or SessionStore()
    app[HUB] = SocketHub(metrics)
    app[LOGIN_GUARD] = LoginGuard(settings.login)
    app[TICKETS] = TicketBook()
    app[DEGRADED] = DegradedState()
    if services is not None:
        app[ACCOUNTS] = services.accounts
        app[BUS] = services.bus
        app[WRAPUPS] = services.wrapups
        app[SEATS] = services.seats
    else:
        from cti.server import add_services  # imports the whole server: only when serving

        add_services(app)
    app.on_startup.append(_close_ended_sessions)  # after cleanup_ctx set the real SESSIONS
    app.on_startup.append(watch_shared_store)  # Redis away or back empty: sockets told
    app.on_shutdown.append(_close_sockets)
    for table in (
        login.routes,
        agent_ws.routes,
        wrapup.routes,
        residents.routes,
        duty.routes,
        ops.routes,
        pages.routes,
    ):
        app.add_routes(table)
    pages.add_static(app)
    wallboard_http.setup(app)  # /wallboard, its API and socket (supervisors only)
    admin_http.setup(app)  # /api/admin, /api/openapi.json, /admin (administrators only)
    callbacks_http.setup(app)  # /api/callbacks: the abandoned callers to call back
    return app


async def _close_ended_sessions(app: web.Application) -> None:
    hub = app[HUB]

    async def close(session: AgentSession, reason: str) -> None:
        await hub.close_session(session.key, CLOSE_SESSION_ENDED, reason)

    app[SESSIONS].on_ended(close)


async def _close_sockets(app: web.Application) -> None:
    # Tell every page to reconnect (with its last seq) rather than hold the shutdown open.
    await app[HUB].close_all(CLOSE_GOING_AWAY, "server stopping")
