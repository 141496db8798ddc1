"""`GET /ws/agent?ticket=…&last_seq=N`: one agent's messages, replayed then live.

The bus's `subscribe(agent, after=last_seq)` yields what the agent missed and then live
messages with no gap and no duplicate; this module only moves them into the socket's bounded
queue and cuts the socket when it falls behind. A `heartbeat` (no seq, not on the bus) goes
out every `app_heartbeat_s`: a browser cannot see ping frames, so that is how the page learns
that a silent link is dead (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import WSMsgType, web
from redis.exceptions import RedisError

from cti import stop_task
from cti.bus import Bus, HistoryLost, Message, SlowSubscriber
from cti.cluster import NoActingNode
from cti.state import CallLog
from cti.web.degraded import DEGRADED
from cti.web.degraded import message as degraded_message
from cti.web.errors import BadRequest, InvalidToken, TooManySockets
from cti.web.keys import BUS, DUTY, ENGINE, HUB, LIMITS, METRICS, SESSIONS, TICKETS
from cti.web.requests import session_of
from cti.web.sessions import AgentSession, Sessions
from cti.web.sockets import CLOSE_SESSION_ENDED, AgentSocket

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


def _last_seq(request: web.Request) -> int | None:
    raw = request.query.get("last_seq")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest("`last_seq` must be a non-negative integer", field="last_seq")
    return int(raw)


@routes.post("/api/agent/ticket")
async def socket_ticket(request: web.Request) -> web.Response:
    """A single-use ticket for `GET /ws/agent?ticket=…`, and the heartbeat interval."""
    session = await session_of(request)
    tickets = request.app[TICKETS]
    return web.json_response(
        {
            "ticket": tickets.issue(session.token),
            "expires_in_s": tickets.ttl_s,
            "heartbeat_s": request.app[LIMITS].app_heartbeat_s,
        }
    )


async def _socket_session(request: web.Request) -> AgentSession:
    ticket = request.query.get("ticket")
    if ticket is None:
        return await session_of(request)  # `?token=`: clients from before the tickets
    session = await request.app[SESSIONS].validate(request.app[TICKETS].redeem(ticket))
    if session is None:
        raise InvalidToken("ticket unknown, spent or expired; ask for another")
    return session


@routes.get("/ws/agent")
async def agent_ws(request: web.Request) -> web.StreamResponse:
    """Stream the agent's messages; see docs/protocol.md for the message shapes."""
    session = await _socket_session(request)  # before the upgrade: a bad one is a JSON 401
    last_seq = _last_seq(request)
    app = request.app
    limits = app[LIMITS]
    bus = app[BUS]
    notice = await _truncation_notice(bus, session.agent, last_seq)
    head = await bus.head(session.agent)
    if last_seq is None:
        # "From now" made explicit, so the duty announced below is in the stream for sure.
        last_seq = head
    elif notice is None and last_seq > head:
        notice = _ahead_notice(session.agent, last_seq, head)
    withheld = await _closed_calls(request.app, bus, session.agent, last_seq, head)
    hub = app[HUB]
    if hub.count_of(session.agent) >= limits.per_agent:
        log.warning(
            "agent socket refused: agent=%s already has %s", session.agent, limits.per_agent
        )
        raise TooManySockets(f"at most {limits.per_agent} sockets per agent", 5)
    # No permessage-deflate: a pop is a few hundred bytes on a LAN, and deflate costs CPU per
    # frame and a compressor per socket (52 to 1,000 of them) for nothing.
    ws = web.WebSocketResponse(heartbeat=limits.heartbeat_s, max_msg_size=4096, compress=False)
    socket = AgentSocket(
        ws,
        request,
        session.agent,
        app[METRICS],
        send_timeout_s=limits.send_timeout_s,
        token=session.token,
    )
    # Counted from before the upgrade, with no await between the check and this: upgrades
    # racing each other cannot pass the cap.
    with hub.attached(socket):
        await ws.prepare(request)
        log.info(
            "agent socket open: agent=%s seat=%s last_seq=%s", session.agent, session.seat, last_seq
        )
        if notice is not None:
            last_seq = int(notice["seq"])
        if app[DEGRADED].on:  # before the feed: the page shows the banner from the start
            await socket.send(degraded_message(True))
        feed = bus.subscribe(session.agent, after=last_seq, direct=socket.send_now)
        pump = asyncio.create_task(
            _forward(notice, feed, socket, withheld, head), name=f"ws-{session.agent}"
        )
        beat = asyncio.create_task(
            _heartbeat(socket, limits.app_heartbeat_s), name=f"ws-beat-{session.agent}"
        )
        expiry = asyncio.create_task(
            _close_when_ended(socket, app[SESSIONS], limits.session_check_s),
            name=f"ws-expiry-{session.agent}",
        )
        # The page shows the agent's state and queues from the start; on a node that does not
        # act the duty is asked of the acting one, and during a failover that waits seconds:
        # the socket's reads (and the client's pongs) never wait for it.
        announce = asyncio.create_task(_announce(app, session.agent), name="ws-announce")
        try:
            await _read_until_closed(ws)
        finally:
            await stop_task(announce)
            await stop_task(expiry)
            await stop_task(beat)
            await stop_task(pump)
            await socket.stop()  # after the feed: no publisher's write can start after it
    log.info("agent socket closed: agent=%s dropped=%s", session.agent, socket.dropped)
    return ws


async def _announce(app: web.Application, agent: str) -> None:
    if DUTY in app:
        with contextlib.suppress(NoActingNode):  # a failover: the next change shows it
            await app[DUTY].announce(agent)


def _ahead_notice(agent: str, last_seq: int, head: int) -> Message:
    """A `resynced` for a client whose `last_seq` the server never reached (a bus that
    lost its history, a client's bug). It carries the server's newest seq, below the
    client's: the page takes it as its new last seq and clears what it shows, instead of
    ignoring every message until the server catches up with a number it made up."""
    log.warning("last_seq ahead of the server: agent=%s last_seq=%s head=%s", agent, last_seq, head)
    return {"seq": head, "type": "resynced", "reason": "seq_ahead"}


async def _close_when_ended(socket: AgentSocket, sessions: Sessions, check_s: float) -> None:
    """Close the socket (4001) once its session is gone: it expired (a shift is 13 h), or
    it ended where no `on_ended` reached this node."""
    while True:
        await asyncio.sleep(check_s)
        try:
            alive = await sessions.validate(socket.token) is not None
        except Exception:  # Redis unreachable: keep the page, ask again next time
            log.warning("session check failed: agent=%s", socket.agent, exc_info=True)
            continue
        if not alive:
            log.info("agent socket closed: agent=%s session expired", socket.agent)
            await socket.close(CLOSE_SESSION_ENDED, "session expired")
            return


async def _truncation_notice(bus: Bus, agent: str, last_seq: int | None) -> Message | None:
    """A `resynced` message when the bus no longer holds everything the client missed.

    It carries the seq just before the oldest one held (a seq the client never saw and
    never will), so it sorts before the replay: the page clears what it shows, then applies
    the replayed messages. None when nothing was lost.
    """
    if last_seq is None:
        return None
    history = await bus.since(agent, last_seq)
    if not history.truncated:
        return None
    oldest = history.oldest_seq
    seq = oldest - 1 if oldest is not None else last_seq + 1
    log.warning("replay truncated: agent=%s last_seq=%s oldest=%s", agent, last_seq, oldest)
    return {"seq": seq, "type": "resynced", "reason": "history_truncated"}


async def _closed_calls(
    app: web.Application, bus: Bus, agent: str, last_seq: int, head: int
) -> frozenset[str]:
    """Calls in the replay (after `last_seq`) that are over for this agent: the ring went
    elsewhere (retracted), or the call ended and its wrap-up is saved. Their replayed pops
    go out without residents: an agent sees a resident only during their own call and its
    wrap-up, not by reconnecting with `last_seq=0`."""
    if last_seq >= head:
        return frozenset()
    state: dict[str, str] = {}  # call id -> the last of pop / retract / completed
    for message in await bus.since(agent, last_seq):
        call_id, kind = message.get("call_id"), message.get("type")
        if isinstance(call_id, str) and kind in ("pop", "retract", "completed"):
            state[call_id] = str(kind)
    closed = {call_id for call_id, kind in state.items() if kind == "retract"}
    ended = [call_id for call_id, kind in state.items() if kind == "completed"]
    if ended and ENGINE in app:
        calls = CallLog(app[ENGINE])
        try:
            for call_id in ended:
                entry = await calls.get(call_id)
                if entry is not None and entry.wrapup_at is not None:
                    closed.add(call_id)
        except Exception:  # the call log is down: the page may still owe these wrap-ups
            log.warning("replay: wrap-ups unknown (call log unavailable): agent=%s", agent)
    return frozenset(closed)


def _without_residents(message: Message) -> Message:
    return {**message, "residents": [], "residents_withheld": True}


async def _forward(
    notice: Message | None,
    feed: AsyncIterator[Message],
    socket: AgentSocket,
    withheld: frozenset[str] = frozenset(),
    replay_upto: int = 0,
) -> None:
    """Write the feed to the socket in order; any hold-up drops the socket. Replayed pops
    (seq up to `replay_upto`) of the `withheld` calls go out without their residents."""
    try:
        if notice is not None and not await socket.send(notice):
            return
        async for message in feed:
            if (
                withheld
                and message.get("type") == "pop"
                and message.get("call_id") in withheld
                and int(message.get("seq", 0)) <= replay_upto
            ):
                message = _without_residents(message)
            if not await socket.send(message):
                return
        socket.drop("feed_ended")  # the bus is closing: the page reconnects and replays
    except HistoryLost:
        socket.drop("bus_history_lost")  # the page reconnects and is told to reset
    except SlowSubscriber:
        socket.drop("bus_slow_subscriber")
    except (RedisError, OSError) as exc:  # Redis went away mid-replay: the page retries
        log.warning("agent feed lost Redis: agent=%s (%s)", socket.agent, type(exc).__name__)
        socket.drop("bus_unreachable")
    except Exception:
        log.exception("agent feed failed: agent=%s", socket.agent)
        socket.drop("bus_error")
    finally:
        aclose = getattr(feed, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


async def _heartbeat(socket: AgentSocket, interval_s: float) -> None:
    """`{"type": "heartbeat", "interval_s": …}` every `interval_s` until the socket is gone."""
    message = {"type": "heartbeat", "interval_s": interval_s}
    while True:
        await asyncio.sleep(interval_s)
        if not await socket.send(message):
            return


async def _read_until_closed(ws: web.WebSocketResponse) -> None:
    """The client has nothing to tell us yet; read so close and ping frames are handled."""
    async for msg in ws:
        if msg.type == WSMsgType.ERROR:
            return
