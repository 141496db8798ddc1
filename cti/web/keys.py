"""Typed application keys: the web app's state, never string keys or globals."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.ami import AMIClient
from cti.bus import Bus
from cti.cluster import ClusterDuty, Lease
from cti.settings import Settings
from cti.state import StateService
from cti.web.metrics import WebMetrics
from cti.web.ports import WrapupSink
from cti.web.sessions import Sessions
from cti.web.sockets import SocketHub
from cti.web.throttle import LoginGuard
from cti.web.tickets import TicketBook
from ivr import IvrServer
from locator import Locator
from seats import AgentAccounts, SeatDirectory


@dataclass(frozen=True, slots=True)
class SocketLimits:
    """How long one write to an agent socket may wait before the socket is dropped.

    How many messages may pile up meanwhile is the bus's per-subscriber queue bound.
    """

    send_timeout_s: float = 10.0
    per_agent: int = 8  # sockets one agent may hold on this node (tabs, reconnect overlap)
    session_check_s: float = 30.0  # an expired session's sockets close within this
    heartbeat_s: float = 15.0  # WebSocket ping frames (the server's check of the client)
    app_heartbeat_s: float = 5.0  # `heartbeat` messages (the page's check of the link)


SETTINGS = web.AppKey("settings", Settings)
LIMITS = web.AppKey("socket_limits", SocketLimits)
ACCOUNTS = web.AppKey[AgentAccounts]("accounts")
BUS = web.AppKey[Bus]("bus")
WRAPUPS = web.AppKey[WrapupSink]("wrapups")
SEATS = web.AppKey("seats", SeatDirectory)
SESSIONS = web.AppKey[Sessions]("sessions")
HUB = web.AppKey("socket_hub", SocketHub)
TICKETS = web.AppKey("ws_tickets", TicketBook)  # single-use tickets for /ws/agent
METRICS = web.AppKey("metrics", WebMetrics)
LOGIN_GUARD = web.AppKey("login_guard", LoginGuard)  # failed logins, waiting password checks
LOCATOR = web.AppKey("locator", Locator)  # set only when the app owns its services
AMI = web.AppKey("ami", AMIClient)  # set when the app owns its AMI client (or a test gives one)
DUTY = web.AppKey("duty", ClusterDuty)  # queue membership, pauses, after-call work
ENGINE = web.AppKey("engine", AsyncEngine)  # the database, when the app owns its services
IVR = web.AppKey("ivr", IvrServer)  # the FastAGI language menu, when the app owns it
LEASE = web.AppKey[Lease]("lease")  # whether this node acts for the cluster (always, alone)
STATE = web.AppKey("state", StateService)  # the call tracker's shell (pops, call log)
