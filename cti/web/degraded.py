"""Degraded mode on the agent sockets: the shared store (Redis) is away or came back empty.

`{"type": "degraded", "on": true}` goes to every open agent socket of this node when Redis
stops answering, `{"type": "degraded", "on": false}` when it answers again (no seq: not on the
bus; docs/protocol.md). Meanwhile the node serves its agents from what it holds. When Redis
came back empty, the seat map and sessions are written back by their stores; here the bus's
seq counters of the agents this node serves are raised to what their sockets already had, so
the next message is above it and not skipped as already seen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from cti.bus import RedisBus
from cti.web.keys import BUS, HUB, SESSIONS

log = logging.getLogger(__name__)


@dataclass(slots=True)
class DegradedState:
    """Whether this node is serving from local state because Redis does not answer."""

    on: bool = False


DEGRADED = web.AppKey("degraded", DegradedState)


def message(on: bool) -> dict[str, object]:
    """The socket message announcing degraded mode (`on`) or its end."""
    return {"type": "degraded", "on": on}


async def watch_shared_store(app: web.Application) -> None:
    """On startup (after the sessions exist): follow the store's degraded mode and restores."""
    state = app[DEGRADED]
    hub = app[HUB]

    async def degraded(on: bool) -> None:
        state.on = on
        log.warning("agent sockets told: degraded=%s sockets=%d", on, hub.count())
        await hub.send_all(message(on))

    async def restored() -> None:
        bus = app[BUS]
        if not isinstance(bus, RedisBus):
            return
        delivered = hub.delivered()
        for agent, seq in delivered.items():
            if seq > 0:
                await bus.restore_head(agent, seq)
        log.warning("bus seqs restored for %d agents served here", len(delivered))

    sessions = app[SESSIONS]
    sessions.on_degraded(degraded)
    sessions.on_restored(restored)
