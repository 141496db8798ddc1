"""Session tokens shared by every CTI node through Redis, with a small local cache.

Redis never holds a token: a session is one key named by the token's SHA-256
(`session:<key>`, JSON, expiring with the shift) plus two index sets of keys (sessions of an
agent, sessions at a seat). A login is one Lua script: it ends the older sessions of the agent
and of the seat, stores the new one and publishes every ended session by its key, so the node
holding the ended session's sockets closes them (4001). Validation reads the local cache
first and asks Redis again after `recheck_s`; an entry leaves the cache when its session ends
(the published event), expires, or Redis no longer has it. When the subscription (re)starts,
every entry is asked again (ends published meanwhile were missed).

Redis down (degraded mode): a session this node holds keeps validating from the cache, so its
agents' pages and requests go on; a token it does not hold is a RedisError (503). Redis back
empty: `RedisKeeper` finds the loss and `write_back` puts this node's sessions back, so
nobody has to log in again; a token no node held is unknown (401).

The scripts touch keys they compute from the prefix: one Redis, not a Redis Cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from cti import stop_task
from cti.redis_pool import STORE_DOWN, get_resent, shared_client
from cti.web.redis_keeper import RedisKeeper
from cti.web.sessions import (
    AgentSession,
    DegradedHandler,
    EndedHandler,
    RestoredHandler,
    token_key,
)

log = logging.getLogger(__name__)

# KEYS: sessions-of:<agent>, sessions-at:<seat>, session:<key>, events channel.
# ARGV: agent, seat, key (the token's hash), session JSON, ttl ms, key prefix, node id.
_LOGIN = """
local agent, seat, token, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[6]
local ended = {}
for _, index in ipairs({KEYS[1], KEYS[2]}) do
  for _, old in ipairs(redis.call('SMEMBERS', index)) do
    local raw = redis.call('GET', prefix .. 'session:' .. old)
    if raw then
      local s = cjson.decode(raw)
      redis.call('DEL', prefix .. 'session:' .. old)
      redis.call('SREM', prefix .. 'sessions-of:' .. s.agent, old)
      redis.call('SREM', prefix .. 'sessions-at:' .. s.seat, old)
      local reason = (s.agent == agent) and 'logged in elsewhere' or ('seat taken by ' .. agent)
      local event = cjson.encode({key = old, agent = s.agent, seat = s.seat,
        expires_at = s.expires_at, reason = reason, node = ARGV[7]})
      redis.call('PUBLISH', KEYS[4], event)
      table.insert(ended, event)
    end
  end
  redis.call('DEL', index)
end
redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[5])
for _, index in ipairs({KEYS[1], KEYS[2]}) do
  redis.call('SADD', index, token)
  redis.call('PEXPIRE', index, ARGV[5])
end
return ended
"""

# KEYS: session:<key>, events channel. ARGV: key, key prefix, node id.
_LOGOUT = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local s = cjson.decode(raw)
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[2] .. 'sessions-of:' .. s.agent, ARGV[1])
redis.call('SREM', ARGV[2] .. 'sessions-at:' .. s.seat, ARGV[1])
redis.call('PUBLISH', KEYS[2], cjson.encode({key = ARGV[1], agent = s.agent, seat = s.seat,
  expires_at = s.expires_at, reason = 'logged out', node = ARGV[3]}))
return raw
"""

# KEYS: session:<key>, sessions-of:<agent>, sessions-at:<seat>. ARGV: key, JSON, ttl ms.
# A session this node held, put back after Redis lost it (never over a newer one).
_WRITE_BACK = """
if redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3], 'NX') then
  for i = 2, 3 do
    redis.call('SADD', KEYS[i], ARGV[1])
    if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[3]) then
      redis.call('PEXPIRE', KEYS[i], ARGV[3])
    end
  end
  return 1
end
return 0
"""

_BACKOFF_MIN_S = 0.1
_BACKOFF_MAX_S = 5.0


def _session(token: str, key: str, fields: dict[str, Any]) -> AgentSession:
    return AgentSession(
        token, str(fields["agent"]), str(fields["seat"]), float(fields["expires_at"]), key=key
    )


class RedisSessionStore:
    """The `Sessions` of a CTI node that shares its agents with other nodes.

    `expires_at` is wall-clock time (nodes do not share a monotonic clock). `start()` follows
    the ended-session events and starts the node's `RedisKeeper` (owned tasks); `close()`
    stops them. `keeper` is where other shared state (the seat map) registers its write-back.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str = "cti:",
        *,
        ttl_s: float = 13 * 3600,
        recheck_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._channel = f"{prefix}session:events"
        self._ttl_s = ttl_s
        self._recheck_s = recheck_s
        self._clock = clock
        self._node = uuid.uuid4().hex  # this store, so it skips its own published ends
        self._login = client.register_script(_LOGIN)
        self._logout = client.register_script(_LOGOUT)
        # token key -> (session, when Redis last confirmed it; -inf: ask again)
        self._cache: dict[str, tuple[AgentSession, float]] = {}
        self._handlers: list[EndedHandler] = []
        self._follower: asyncio.Task[None] | None = None
        self._following = asyncio.Event()
        self._write_back_script = client.register_script(_WRITE_BACK)
        self.keeper = RedisKeeper(client, prefix)
        self.keeper.on_restore(self.write_back)

    @classmethod
    def from_url(cls, url: str, prefix: str = "cti:", **kwargs: Any) -> RedisSessionStore:
        """A store on its own connection pool for `url` (`redis://127.0.0.1:6379/0`)."""
        return cls(shared_client(url), prefix, **kwargs)

    def on_ended(self, handler: EndedHandler) -> None:
        """Call `handler` for every session ended on any node."""
        self._handlers.append(handler)

    def on_degraded(self, handler: DegradedHandler) -> None:
        """Call `handler(True)` when Redis stops answering, `handler(False)` when it is back."""
        self.keeper.on_degraded(handler)

    def on_restored(self, handler: RestoredHandler) -> None:
        """Call `handler()` after Redis came back empty and this node's sessions (and the
        seat map) were written back."""
        self.keeper.on_restored(handler)

    async def start(self, timeout_s: float = 10.0) -> None:
        """Start following ended sessions and watching Redis; TimeoutError if Redis stays
        away."""
        if self._follower is None:
            self._follower = asyncio.create_task(self._follow(), name="session-follower")
        async with asyncio.timeout(timeout_s):
            await self._following.wait()
        await self.keeper.start()

    async def close(self) -> None:
        """Stop following and watching, and release the connection pool."""
        await self.keeper.close()
        if self._follower is not None:
            await stop_task(self._follower)
            self._follower = None
        await self._redis.aclose()

    async def login(self, agent: str, seat: str) -> AgentSession:
        """A fresh session; the older sessions of this agent or this seat end on every node."""
        session = AgentSession(secrets.token_urlsafe(32), agent, seat, self._clock() + self._ttl_s)
        payload = json.dumps({"agent": agent, "seat": seat, "expires_at": session.expires_at})
        keys = [
            f"{self._prefix}sessions-of:{agent}",
            f"{self._prefix}sessions-at:{seat}",
            f"{self._prefix}session:{session.key}",
            self._channel,
        ]
        ttl_ms = int(self._ttl_s * 1000)
        ended = await self._login(
            keys=keys, args=[agent, seat, session.key, payload, ttl_ms, self._prefix, self._node]
        )
        self._cache[session.key] = (session, self._clock())
        for raw in ended:
            event = json.loads(raw)
            await self._ended(_session("", event["key"], event), event["reason"])
        return session

    async def validate(self, token: str | None) -> AgentSession | None:
        """The live session of `token` (cache, else Redis), or None.

        Redis unreachable: the cached session (degraded mode), or RedisError when this node
        does not hold it. Redis without it while this node holds it: Redis may have lost its
        data; the keeper checks (and writes back) before the session is given up.
        """
        if not token:
            return None
        key = token_key(token)
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None:
            session, checked_at = cached
            if session.expires_at <= now:
                del self._cache[key]
                return None
            if now - checked_at < self._recheck_s:
                return session
        try:
            raw = await get_resent(self._redis, f"{self._prefix}session:{key}")
        except STORE_DOWN:
            if cached is None:
                raise
            return cached[0]  # degraded: Redis is away, this node vouches for its session
        if raw is None and cached is not None:
            # Ended while we did not hear, or Redis lost its data: the keeper checks (and
            # writes back what this node holds) before the session is given up.
            await self.keeper.check()
            raw = await self._redis.get(f"{self._prefix}session:{key}")
        if raw is None:
            self._cache.pop(key, None)
            return None
        session = _session(token, key, json.loads(raw))
        if session.expires_at <= now:
            return None
        self._cache[key] = (session, now)
        return session

    async def logout(self, token: str) -> AgentSession | None:
        """End one session on every node; returns it, or None when it did not exist."""
        key = token_key(token)
        keys = [f"{self._prefix}session:{key}", self._channel]
        raw = await self._logout(keys=keys, args=[key, self._prefix, self._node])
        if raw is None:
            return None
        session = _session(token, key, json.loads(raw))
        await self._ended(session, "logged out")
        return session

    def held(self) -> list[AgentSession]:
        """The live sessions this node holds (its agents' sessions, as last confirmed)."""
        now = self._clock()
        return [s for s, _ in self._cache.values() if s.expires_at > now]

    async def write_back(self) -> int:
        """Put the sessions this node holds back into Redis where missing (Redis lost its
        data); returns how many were missing."""
        now = self._clock()
        written = 0
        for session in self.held():
            ttl_ms = int((session.expires_at - now) * 1000)
            if ttl_ms <= 0:
                continue
            payload = json.dumps(
                {"agent": session.agent, "seat": session.seat, "expires_at": session.expires_at}
            )
            keys = [
                f"{self._prefix}session:{session.key}",
                f"{self._prefix}sessions-of:{session.agent}",
                f"{self._prefix}sessions-at:{session.seat}",
            ]
            written += int(
                await self._write_back_script(keys=keys, args=[session.key, payload, ttl_ms])
            )
        log.warning("sessions written back after Redis lost them: %d", written)
        return written

    async def _ended(self, session: AgentSession, reason: str) -> None:
        self._cache.pop(session.key, None)
        for handler in self._handlers:
            try:
                await handler(session, reason)
            except Exception:
                log.exception("ended-session handler failed: agent=%s", session.agent)

    async def _on_event(self, payload: bytes | str) -> None:
        event = json.loads(payload)
        if event["node"] == self._node:
            self._cache.pop(event["key"], None)
            return  # ended here: the handlers already ran
        await self._ended(_session("", event["key"], event), event["reason"])

    async def _follow(self) -> None:
        """Subscribe to ended sessions and act on them; on any failure start over."""
        backoff = _BACKOFF_MIN_S
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                # Ends published while we were away were missed: ask Redis about each entry
                # again, but keep them (Redis may be back empty, to be written back).
                self._cache = {k: (s, float("-inf")) for k, (s, _) in self._cache.items()}
                self._following.set()
                backoff = _BACKOFF_MIN_S
                while True:
                    item = await pubsub.get_message(timeout=None)
                    if item is not None:
                        await self._on_event(item["data"])
            except (RedisConnectionError, OSError) as exc:
                log.warning("session follower lost Redis (%s); retrying in %.1fs", exc, backoff)
            except Exception:
                log.exception("session follower failed; retrying in %.1fs", backoff)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _BACKOFF_MAX_S)
