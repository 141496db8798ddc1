"""Which CTI node acts: a lease in Redis with a fencing token, or always this node alone.

Every node reads AMI and keeps the call state (pops are published once per key, see
`Bus.publish(once=…)`); only the lease holder *acts*: it drives the queue members, owns the
agents' duty, places callbacks, changes shifts and sends the supervisors' snapshots.

`RedisLease`: the key `<prefix>cluster:lease` holds `"<node> <token>"` with a TTL of `ttl_s`.
A node takes it when nobody holds it (SET NX) with a new token (INCR `<prefix>cluster:fence`,
so tokens only grow), renews it every `renew_s` (only while the value is still its own), and
stops holding it *locally* the moment its last good renew is older than `ttl_s - margin_s`
(a node cut off from Redis stops acting before anyone else can take over). Another node
takes over at most `ttl_s + renew_s` after the holder's last renew.

`LocalLease`: one node, no Redis: always held, token 1.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

Watcher = Callable[[bool], None]

# KEYS: lease, fence. ARGV: node, ttl ms. Returns the new token, or 0 when someone holds it.
# The fence counter expires 30 days after the last takeover (every key of ours expires; no
# holder of an old token is alive by then).
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], 2592000000)
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. token, 'PX', ARGV[2])
return token
"""

# KEYS: lease. ARGV: "<node> <token>", ttl ms. 1 when still ours (renewed), else 0.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# KEYS: lease. ARGV: "<node> <token>". Given up only when still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease(Protocol):
    """Whether this node acts for the cluster now."""

    node_id: str

    @property
    def held(self) -> bool:
        """True while this node holds the lease (checked before every action)."""
        ...

    @property
    def token(self) -> int | None:
        """The fencing token while held (grows with every new holder), else None."""
        ...

    @property
    def holder(self) -> str | None:
        """The node that held it at the last look (None: nobody, or not known)."""
        ...

    def watch(self, watcher: Watcher) -> None:
        """Call `watcher(held)` each time this node gains or loses the lease."""
        ...

    async def run(self) -> None:
        """Take, renew and give up the lease, forever (an owned task)."""
        ...

    async def release(self) -> None:
        """Give the lease up now (a normal stop: another node takes over at once)."""
        ...


class LocalLease:
    """One node, no Redis: it always acts."""

    def __init__(self, node_id: str = "cti-1") -> None:
        self.node_id = node_id

    @property
    def held(self) -> bool:
        """Always."""
        return True

    @property
    def token(self) -> int | None:
        """Always 1."""
        return 1

    @property
    def holder(self) -> str | None:
        """This node."""
        return self.node_id

    def watch(self, watcher: Watcher) -> None:
        """Held from the start: told once, now."""
        watcher(True)

    async def run(self) -> None:
        """Nothing to renew."""
        await asyncio.Event().wait()

    async def release(self) -> None:
        """Nothing to give up."""


class RedisLease:
    """See the module docstring."""

    def __init__(
        self,
        client: aioredis.Redis,
        node_id: str,
        *,
        prefix: str = "cti:",
        ttl_s: float = 2.0,
        renew_s: float = 0.5,
        margin_s: float = 0.3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < renew_s < ttl_s - margin_s:
            raise ValueError("renew_s must be shorter than ttl_s - margin_s")
        self.node_id = node_id
        self._redis = client
        self._key = f"{prefix}cluster:lease"
        self._fence = f"{prefix}cluster:fence"
        self._ttl_ms = int(ttl_s * 1000)
        self._ttl_s = ttl_s
        self._renew_s = renew_s
        self._margin_s = margin_s
        self._clock = clock
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._token: int | None = None
        self._valid_until = 0.0
        self._holder: str | None = None
        self._watchers: list[Watcher] = []
        self._was_held = False

    @classmethod
    def from_url(cls, url: str, node_id: str, **kwargs: object) -> RedisLease:
        """A lease on its own connection (renewals never wait behind the bus's traffic)."""
        client = aioredis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        return cls(client, node_id, **kwargs)  # type: ignore[arg-type]

    @property
    def held(self) -> bool:
        """Held, and the last good renew recent enough that nobody else can hold it."""
        return self._token is not None and self._clock() < self._valid_until

    @property
    def token(self) -> int | None:
        """The fencing token while held."""
        return self._token if self.held else None

    @property
    def holder(self) -> str | None:
        """The holder at the last look."""
        return self.node_id if self.held else self._holder

    def watch(self, watcher: Watcher) -> None:
        """Call `watcher(held)` at every change (and now, if held)."""
        self._watchers.append(watcher)
        if self.held:
            watcher(True)

    async def run(self) -> None:
        """Renew or take the lease every `renew_s`; tell the watchers of every change.

        A Redis error is not fatal: the lease simply lapses locally at its deadline.
        """
        try:
            while True:
                await self.step()
                await asyncio.sleep(self._time_to_next())
        finally:
            self._token = None
            self._changed()

    async def step(self) -> None:
        """One renew or take, then the watchers told if `held` changed."""
        sent_at = self._clock()
        try:
            async with asyncio.timeout(self._ttl_s - self._margin_s):
                if self._token is not None:
                    mine = f"{self.node_id} {self._token}"
                    if int(await self._renew(keys=[self._key], args=[mine, self._ttl_ms])):
                        self._valid_until = sent_at + self._ttl_s - self._margin_s
                    else:
                        log.warning("cluster: lease %s lost (taken over)", self._token)
                        self._token = None
                if self._token is None:
                    token = int(
                        await self._acquire(
                            keys=[self._key, self._fence], args=[self.node_id, self._ttl_ms]
                        )
                    )
                    if token:
                        self._token = token
                        self._valid_until = sent_at + self._ttl_s - self._margin_s
                    else:
                        raw = await self._redis.get(self._key)
                        self._holder = _node_of(raw)
        except (aioredis.RedisError, OSError, TimeoutError) as exc:
            if self._token is not None and not self.held:
                log.warning("cluster: lease %s lapsed (redis: %s)", self._token, type(exc).__name__)
                self._token = None
        if self._token is not None and not self.held:
            self._token = None
        self._changed()

    def _time_to_next(self) -> float:
        if self._token is None:
            return self._renew_s
        # Never sleep past the local deadline: a late renew must not leave us acting.
        return max(0.0, min(self._renew_s, self._valid_until - self._clock()))

    def _changed(self) -> None:
        held = self.held
        if held == self._was_held:
            return
        self._was_held = held
        if held:
            self._holder = self.node_id
            log.info("cluster: node %s acts (lease token %s)", self.node_id, self._token)
        else:
            log.warning("cluster: node %s stops acting", self.node_id)
        for watcher in list(self._watchers):
            try:
                watcher(held)
            except Exception:
                log.exception("cluster: lease watcher failed")

    async def release(self) -> None:
        """Give it up (only if still ours), so another node takes over without waiting."""
        token, self._token = self._token, None
        if token is not None:
            try:
                await self._release(keys=[self._key], args=[f"{self.node_id} {token}"])
            except (aioredis.RedisError, OSError) as exc:
                log.warning("cluster: lease not given up (%s)", type(exc).__name__)
        self._changed()

    async def close(self) -> None:
        """Release the connection."""
        await self._redis.aclose()


def _node_of(raw: bytes | str | None) -> str | None:
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    return text.rsplit(" ", 1)[0]
