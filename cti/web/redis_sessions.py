"""Session tokens shared by every CTI node through Redis, with a small local cache.

A session is one Redis key (`session:<token>`, JSON, expiring with the shift) plus two index
sets (sessions of an agent, sessions at a seat). A login is one Lua script: it ends the
older sessions of the agent and of the seat, stores the new one and publishes every ended
session, so the node holding the ended session's sockets closes them (4001). Validation reads
the local cache first; an entry leaves it when its session ends (the published event), when
it expires, or after `recheck_s`; the cache is emptied whenever the subscription (re)starts,
since ends published meanwhile were missed.

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
from cti.web.sessions import AgentSession, EndedHandler

log = logging.getLogger(__name__)

# KEYS: sessions-of:<agent>, sessions-at:<seat>, session:<token>, events channel.
# ARGV: agent, seat, token, session JSON, ttl ms, key prefix, node id.
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
      local event = cjson.encode({token = old, agent = s.agent, seat = s.seat,
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

# KEYS: session:<token>, events channel. ARGV: token, key prefix, node id.
_LOGOUT = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local s = cjson.decode(raw)
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[2] .. 'sessions-of:' .. s.agent, ARGV[1])
redis.call('SREM', ARGV[2] .. 'sessions-at:' .. s.seat, ARGV[1])
redis.call('PUBLISH', KEYS[2], cjson.encode({token = ARGV[1], agent = s.agent, seat = s.seat,
  expires_at = s.expires_at, reason = 'logged out', node = ARGV[3]}))
return raw
"""

_BACKOFF_MIN_S = 0.1
_BACKOFF_MAX_S = 5.0


def _session(token: str, fields: dict[str, Any]) -> AgentSession:
    return AgentSession(
        token, str(fields["agent"]), str(fields["seat"]), float(fields["expires_at"])
    )


class RedisSessionStore:
    """The `Sessions` of a CTI node that shares its agents with other nodes.

    `expires_at` is wall-clock time (nodes do not share a monotonic clock). `start()` follows
    the ended-session events (an owned task); `close()` stops it.
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
        self._cache: dict[str, tuple[AgentSession, float]] = {}
        self._handlers: list[EndedHandler] = []
        self._follower: asyncio.Task[None] | None = None
        self._following = asyncio.Event()

    @classmethod
    def from_url(cls, url: str, prefix: str = "cti:", **kwargs: Any) -> RedisSessionStore:
        """A store on its own connection pool for `url` (`redis://127.0.0.1:6379/0`)."""
        return cls(aioredis.Redis.from_url(url), prefix, **kwargs)

    def on_ended(self, handler: EndedHandler) -> None:
        """Call `handler` for every session ended on any node."""
        self._handlers.append(handler)

    async def start(self, timeout_s: float = 10.0) -> None:
        """Start following ended sessions; TimeoutError if Redis stays away."""
        if self._follower is None:
            self._follower = asyncio.create_task(self._follow(), name="session-follower")
        async with asyncio.timeout(timeout_s):
            await self._following.wait()

    async def close(self) -> None:
        """Stop following and release the connection pool."""
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
            f"{self._prefix}session:{session.token}",
            self._channel,
        ]
        ttl_ms = int(self._ttl_s * 1000)
        ended = await self._login(
            keys=keys, args=[agent, seat, session.token, payload, ttl_ms, self._prefix, self._node]
        )
        self._cache[session.token] = (session, self._clock())
        for raw in ended:
            event = json.loads(raw)
            await self._ended(_session(event["token"], event), event["reason"])
        return session

    async def validate(self, token: str | None) -> AgentSession | None:
        """The live session of `token` (cache, else Redis), or None."""
        if not token:
            return None
        now = self._clock()
        cached = self._cache.get(token)
        if cached is not None:
            session, checked_at = cached
            if session.expires_at <= now:
                del self._cache[token]
                return None
            if now - checked_at < self._recheck_s:
                return session
        raw = await self._redis.get(f"{self._prefix}session:{token}")
        if raw is None:
            self._cache.pop(token, None)
            return None
        session = _session(token, json.loads(raw))
        if session.expires_at <= now:
            return None
        self._cache[token] = (session, now)
        return session

    async def logout(self, token: str) -> AgentSession | None:
        """End one session on every node; returns it, or None when it did not exist."""
        keys = [f"{self._prefix}session:{token}", self._channel]
        raw = await self._logout(keys=keys, args=[token, self._prefix, self._node])
        if raw is None:
            return None
        session = _session(token, json.loads(raw))
        await self._ended(session, "logged out")
        return session

    async def _ended(self, session: AgentSession, reason: str) -> None:
        self._cache.pop(session.token, None)
        for handler in self._handlers:
            try:
                await handler(session, reason)
            except Exception:
                log.exception("ended-session handler failed: agent=%s", session.agent)

    async def _on_event(self, payload: bytes | str) -> None:
        event = json.loads(payload)
        if event["node"] == self._node:
            self._cache.pop(event["token"], None)
            return  # ended here: the handlers already ran
        await self._ended(_session(event["token"], event), event["reason"])

    async def _follow(self) -> None:
        """Subscribe to ended sessions and act on them; on any failure start over."""
        backoff = _BACKOFF_MIN_S
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._cache.clear()  # ends published while we were away were missed
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
