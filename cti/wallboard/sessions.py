"""Supervisors' wallboard tokens: held by this node, or shared by every node through Redis.

A supervisor never takes a seat, so a token is only "who, until when": one shift (13 h).
Several wall screens may hold tokens of one supervisor at once; a login ends none of them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis

from cti.redis_pool import shared_client

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
    with the shift. `expires_at` is wall-clock time (nodes share no monotonic clock). Redis
    unreachable raises RedisError (a request gets 503 `store_unavailable` from the error
    middleware), never reads as a bad token."""

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str = "cti:",
        *,
        ttl_s: float = SHIFT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._clock = clock

    @classmethod
    def from_url(cls, url: str, prefix: str = "cti:", **kwargs: Any) -> RedisSupervisorSessions:
        """A store on its own connection pool for `url`."""
        return cls(shared_client(url), prefix, **kwargs)

    def _key(self, token: str) -> str:
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return f"{self._prefix}supervisor:{digest}"

    async def issue(self, supervisor: str) -> SupervisorSession:
        """A new token for `supervisor`, stored for the shift."""
        session = SupervisorSession(
            secrets.token_urlsafe(32), supervisor, self._clock() + self._ttl_s
        )
        value = json.dumps({"supervisor": supervisor, "expires_at": session.expires_at})
        await self._redis.set(self._key(session.token), value, px=int(self._ttl_s * 1000))
        return session

    async def resolve(self, token: str | None) -> SupervisorSession | None:
        """The live session of `token`, or None."""
        if not token:
            return None
        raw = await self._redis.get(self._key(token))
        if raw is None:
            return None
        fields = json.loads(raw)
        session = SupervisorSession(token, str(fields["supervisor"]), float(fields["expires_at"]))
        return session if session.expires_at > self._clock() else None

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
