"""Supervisors' wallboard tokens: held by this node, or shared by every node through Redis.

A supervisor never takes a seat, so a token is only "who, until when": one shift (13 h).
Several wall screens may hold tokens of one supervisor at once; a login ends none of them.

Through Redis, a node remembers the tokens it issued or was shown (the wall screens it
serves), as it does its agents' sessions: while Redis is down those still open the wallboard
(a token it does not hold is a RedisError, 503), and when Redis comes back empty the node's
`RedisKeeper` has them written back, so no wall screen asks for a login again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis

from cti.redis_pool import STORE_DOWN, get_resent, shared_client
from cti.web.redis_keeper import RedisKeeper

log = logging.getLogger(__name__)

SHIFT_S = 13 * 3600


@dataclass(frozen=True, slots=True)
class SupervisorSession:
    """A supervisor logged in to the wallboard (no seat)."""

    token: str
    supervisor: str
    expires_at: float


class SupervisorStore(Protocol):
    """Where supervisor tokens live (`SupervisorSessions`, `RedisSupervisorSessions`)."""

    async def issue(self, supervisor: str) -> SupervisorSession:
        """A new token for `supervisor` (their other tokens stay)."""
        ...

    async def resolve(self, token: str | None) -> SupervisorSession | None:
        """The live session of `token`, or None (expired, unknown)."""
        ...

    async def close(self) -> None:
        """Release what the store holds (connections)."""
        ...


class SupervisorSessions:
    """Supervisor tokens of this node only."""

    def __init__(self, ttl_s: float = SHIFT_S, clock: Callable[[], float] = time.monotonic):
        self._ttl_s = ttl_s
        self._clock = clock
        self._sessions: dict[str, SupervisorSession] = {}

    async def issue(self, supervisor: str) -> SupervisorSession:
        """A new token for `supervisor` (their other tokens stay: several wall screens)."""
        now = self._clock()
        self._sessions = {t: s for t, s in self._sessions.items() if s.expires_at > now}
        session = SupervisorSession(secrets.token_urlsafe(32), supervisor, now + self._ttl_s)
        self._sessions[session.token] = session
        return session

    async def resolve(self, token: str | None) -> SupervisorSession | None:
        """The live session of `token`, or None."""
        session = self._sessions.get(token or "")
        if session is None or session.expires_at <= self._clock():
            return None
        return session

    async def close(self) -> None:
        """Nothing to release."""


class RedisSupervisorSessions:
    """Supervisor tokens every CTI node reads: one Redis key each, named by the token's
    SHA-256 (`<prefix>supervisor:<sha256 hex>`: Redis never holds a token), JSON, expiring
    with the shift. `expires_at` is wall-clock time (nodes share no monotonic clock).

    Redis unreachable: a token this node holds still resolves (degraded mode); any other
    raises RedisError (a request gets 503 `store_unavailable` from the error middleware),
    never reads as a bad token. With `keeper`, what this node holds is written back when Redis
    lost its data, and a held token Redis lacks is given up only after the keeper checked.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str = "cti:",
        *,
        ttl_s: float = SHIFT_S,
        clock: Callable[[], float] = time.time,
        keeper: RedisKeeper | None = None,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._clock = clock
        self._held: dict[str, SupervisorSession] = {}  # Redis key -> session
        self._keeper = keeper
        if keeper is not None:
            keeper.on_restore(self.write_back)

    @classmethod
    def from_url(cls, url: str, prefix: str = "cti:", **kwargs: Any) -> RedisSupervisorSessions:
        """A store on its own connection pool for `url`."""
        return cls(shared_client(url), prefix, **kwargs)

    def _key(self, token: str) -> str:
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return f"{self._prefix}supervisor:{digest}"

    def _hold(self, key: str, session: SupervisorSession) -> None:
        now = self._clock()
        self._held = {k: s for k, s in self._held.items() if s.expires_at > now}
        self._held[key] = session

    async def issue(self, supervisor: str) -> SupervisorSession:
        """A new token for `supervisor`, stored for the shift."""
        session = SupervisorSession(
            secrets.token_urlsafe(32), supervisor, self._clock() + self._ttl_s
        )
        key = self._key(session.token)
        await self._redis.set(key, _value(session), px=int(self._ttl_s * 1000))
        self._hold(key, session)
        return session

    async def resolve(self, token: str | None) -> SupervisorSession | None:
        """The live session of `token`, or None."""
        if not token:
            return None
        key = self._key(token)
        held = self._held.get(key)
        try:
            raw = await get_resent(self._redis, key)
        except STORE_DOWN:
            if held is None or held.expires_at <= self._clock():
                raise
            return held  # degraded: Redis is away, this node vouches for the token
        if raw is None and held is not None and self._keeper is not None:
            # Redis may have lost its data: the keeper checks, and writes back what we hold.
            await self._keeper.check()
            raw = await get_resent(self._redis, key)
        if raw is None:
            self._held.pop(key, None)
            return None
        fields = json.loads(raw)
        session = SupervisorSession(token, str(fields["supervisor"]), float(fields["expires_at"]))
        if session.expires_at <= self._clock():
            self._held.pop(key, None)
            return None
        self._hold(key, session)
        return session

    async def write_back(self) -> int:
        """Put the tokens this node holds back into Redis where missing (Redis lost its
        data, `RedisKeeper`); returns how many were missing."""
        now = self._clock()
        written = 0
        for key, session in list(self._held.items()):
            ttl_ms = int((session.expires_at - now) * 1000)
            if ttl_ms > 0 and await self._redis.set(key, _value(session), px=ttl_ms, nx=True):
                written += 1
        log.warning("supervisor tokens written back after Redis lost them: %d", written)
        return written

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()


def _value(session: SupervisorSession) -> str:
    return json.dumps({"supervisor": session.supervisor, "expires_at": session.expires_at})
