"""Seats and sessions for `cti serve`: shared through Redis when `CTI_REDIS_URL` is set."""

from __future__ import annotations

from cti.settings import Settings
from cti.web.redis_sessions import RedisSessionStore
from cti.web.sessions import Sessions, SessionStore
from seats import RedisSeatDirectory, SeatDirectory


async def open_seats_and_sessions(settings: Settings) -> tuple[SeatDirectory, Sessions]:
    """In-process seat directory and sessions, or Redis-shared ones (prefix `cti:`) started.

    The caller closes both (`close()`) when the server stops.
    """
    if not settings.redis_url:
        return SeatDirectory(), SessionStore()
    seats = RedisSeatDirectory.from_url(settings.redis_url, prefix=settings.redis_prefix)
    sessions = RedisSessionStore.from_url(settings.redis_url, prefix=settings.redis_prefix)
    try:
        await seats.start()
        await sessions.start()
    except BaseException:
        await seats.close()
        await sessions.close()
        raise
    return seats, sessions
