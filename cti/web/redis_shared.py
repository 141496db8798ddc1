"""Seats and sessions for `cti serve`: shared through Redis when `CTI_REDIS_URL` is set."""

from __future__ import annotations

from cti.settings import Settings
from cti.web.redis_sessions import RedisSessionStore
from cti.web.sessions import Sessions, SessionStore
from seats import RedisSeatDirectory, SeatDirectory


async def open_seats_and_sessions(
    settings: Settings, *, session_recheck_s: float = 30.0
) -> tuple[SeatDirectory, Sessions]:
    """In-process seat directory and sessions, or Redis-shared ones (keys under
    `settings.redis_prefix`) started, with the node's `RedisKeeper` writing both back when
    Redis loses them. `session_recheck_s`: how long a cached session is trusted without
    asking Redis.

    The caller closes both (`close()`) when the server stops.
    """
    if not settings.redis_url:
        return SeatDirectory(), SessionStore()
    seats = RedisSeatDirectory.from_url(settings.redis_url, prefix=settings.redis_prefix)
    sessions = RedisSessionStore.from_url(
        settings.redis_url, prefix=settings.redis_prefix, recheck_s=session_recheck_s
    )
    # Redis back empty: this node puts its seat map back with its sessions; the map lives as
    # long as a node keeps it alive.
    sessions.keeper.keep_alive(seats.shared_keys)
    sessions.keeper.on_restore(seats.write_back)
    try:
        await seats.start()
        await sessions.start()
    except BaseException:
        await seats.close()
        await sessions.close()
        raise
    return seats, sessions
