"""The seat directory shared by every CTI node through Redis, mirrored in memory on each.

Redis holds the truth: two hashes (seat → agent, agent → seat) and a version counter. A
login or logout is one Lua script that changes the hashes, bumps the version and publishes
the change, so every node sees the changes in one order. Each node keeps a local mirror
(the `SeatDirectory` it extends) so `agent_at(seat)` on the ring path stays a dict lookup:
the mirror applies the published changes in version order, and reloads the whole map when it
(re)subscribes or sees a version gap (a change it missed).

The map expires a day after the last change unless a node keeps it alive (`shared_keys`, the
keeper in `cti.web.redis_keeper` refreshes them). When Redis loses it (restarted without
persistence, FLUSHALL) each node puts its mirror back (`write_back`): seats and agents Redis
does not have are filled in, none is overwritten, and every node reloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from cti import stop_task
from cti.redis_pool import shared_client
from seats.directory import SeatChange, SeatDirectory

log = logging.getLogger(__name__)

# A day without a change and no node to keep it alive: nobody sits anywhere any more.
SEAT_MAP_TTL_MS = 24 * 3600 * 1000

# KEYS: agent_at hash, seat_of hash, version, channel. ARGV: agent, seat, ttl ms.
# Returns {version, displaced agent or '', seat the agent left or ''}.
_CLAIM = """
local agent, seat = ARGV[1], ARGV[2]
local moved = redis.call('HGET', KEYS[2], agent)
if moved == seat then moved = false end
if moved and redis.call('HGET', KEYS[1], moved) == agent then
  redis.call('HDEL', KEYS[1], moved)
end
local displaced = redis.call('HGET', KEYS[1], seat)
if displaced == agent then displaced = false end
if displaced then redis.call('HDEL', KEYS[2], displaced) end
redis.call('HSET', KEYS[1], seat, agent)
redis.call('HSET', KEYS[2], agent, seat)
local v = redis.call('INCR', KEYS[3])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
redis.call('PUBLISH', KEYS[4], cjson.encode({v = v, op = 'claim', agent = agent, seat = seat}))
return {v, displaced or '', moved or ''}
"""

# Same KEYS and ARGV. Returns the new version, or 0 when `agent` no longer held `seat`.
_RELEASE = """
local agent, seat = ARGV[1], ARGV[2]
if redis.call('HGET', KEYS[1], seat) ~= agent then return 0 end
redis.call('HDEL', KEYS[1], seat)
if redis.call('HGET', KEYS[2], agent) == seat then redis.call('HDEL', KEYS[2], agent) end
local v = redis.call('INCR', KEYS[3])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
redis.call('PUBLISH', KEYS[4], cjson.encode({v = v, op = 'release', agent = agent, seat = seat}))
return v
"""

# Same KEYS. ARGV: ttl ms, this node's version, then seat, agent pairs (its mirror).
# Fills what Redis lacks, takes the version above both, and tells every node to reload.
_WRITE_BACK = """
local written = 0
for i = 3, #ARGV, 2 do
  local seat, agent = ARGV[i], ARGV[i + 1]
  if not redis.call('HGET', KEYS[1], seat) and not redis.call('HGET', KEYS[2], agent) then
    redis.call('HSET', KEYS[1], seat, agent)
    redis.call('HSET', KEYS[2], agent, seat)
    written = written + 1
  end
end
local v = math.max(tonumber(redis.call('GET', KEYS[3]) or '0'), tonumber(ARGV[2])) + 1
redis.call('SET', KEYS[3], v)
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
redis.call('PUBLISH', KEYS[4], cjson.encode({v = v, op = 'reload'}))
return {v, written}
"""

_BACKOFF_MIN_S = 0.1
_BACKOFF_MAX_S = 5.0


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


class RedisSeatDirectory(SeatDirectory):
    """A `SeatDirectory` whose `claim` / `release` change the map every node shares.

    `start()` loads the map and follows the changes (an owned task); `close()` stops it.
    `agent_at`, `seat_of` and `occupied` read the local mirror. `login` / `logout` (sync)
    change the mirror only: the web login must use `claim` / `release`.
    """

    def __init__(self, client: aioredis.Redis, prefix: str = "cti:") -> None:
        super().__init__()
        self._redis = client
        self._keys = [
            f"{prefix}seat:agent_at",
            f"{prefix}seat:seat_of",
            f"{prefix}seat:version",
            f"{prefix}seat:events",
        ]
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._write_back = client.register_script(_WRITE_BACK)
        self.version = 0
        self._follower: asyncio.Task[None] | None = None
        self._loaded = asyncio.Event()

    @classmethod
    def from_url(cls, url: str, prefix: str = "cti:") -> RedisSeatDirectory:
        """A directory on its own connection pool for `url` (`redis://127.0.0.1:6379/0`)."""
        return cls(shared_client(url), prefix=prefix)

    async def start(self, timeout_s: float = 10.0) -> None:
        """Load the map and start following changes; TimeoutError if Redis stays away."""
        if self._follower is None:
            self._follower = asyncio.create_task(self._follow(), name="seat-directory-follower")
        async with asyncio.timeout(timeout_s):
            await self._loaded.wait()

    async def close(self) -> None:
        """Stop following and release the connection pool."""
        if self._follower is not None:
            await stop_task(self._follower)
            self._follower = None
        await self._redis.aclose()

    async def claim(self, agent: str, seat: str) -> SeatChange:
        """Log `agent` in at `seat` on every node (the newest login wins, cluster-wide)."""
        raw = await self._claim(keys=self._keys, args=[agent, seat, SEAT_MAP_TTL_MS])
        version, displaced, moved = int(raw[0]), _text(raw[1]), _text(raw[2])
        self._catch_up(version, lambda: self.login(agent, seat))
        return SeatChange(displaced_agent=displaced or None, previous_seat=moved or None)

    async def release(self, agent: str, seat: str) -> bool:
        """Free `seat` on every node if `agent` still holds it."""
        version = int(await self._release(keys=self._keys, args=[agent, seat, SEAT_MAP_TTL_MS]))
        if version == 0:
            return False
        self._catch_up(version, lambda: self._leave(agent, seat))
        return True

    @property
    def shared_keys(self) -> list[str]:
        """The keys the map lives in (a node that is up keeps them from expiring)."""
        return self._keys[:3]

    async def write_back(self) -> int:
        """Put this node's mirror back where Redis lacks it (Redis lost the map); every node
        then reloads. Returns how many seats were missing."""
        pairs = [item for seat_agent in self.occupied().items() for item in seat_agent]
        args: list[str | int] = [SEAT_MAP_TTL_MS, self.version, *pairs]
        version, written = (int(x) for x in await self._write_back(keys=self._keys, args=args))
        log.warning("seat map written back: %d seats, version %d", written, version)
        return written

    def _catch_up(self, version: int, change: Callable[[], object]) -> None:
        # Our own change is visible on this node at once (the login's answer must not race
        # the published copy). When changes from other nodes are still on their way the
        # version stays behind, and the published copies replay everything in order.
        if version <= self.version:
            return
        change()
        if version == self.version + 1:
            self.version = version

    def _leave(self, agent: str, seat: str) -> None:
        if self.agent_at(seat) == agent:
            self.logout(agent)

    async def _reload(self) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(self._keys[2])
            pipe.hgetall(self._keys[0])
            version_raw, occupied = await pipe.execute()
        self.replace({_text(seat): _text(agent) for seat, agent in occupied.items()})
        self.version = int(version_raw or 0)
        log.info("seat directory loaded: version=%s occupied=%d", self.version, len(occupied))

    def _apply(self, payload: bytes | str) -> bool:
        """Apply one published change; False when one was missed (the map must reload)."""
        change = json.loads(_text(payload))
        version = int(change["v"])
        if version <= self.version:
            return True
        if version > self.version + 1:
            log.warning("seat directory gap: have=%s got=%s", self.version, version)
            return False
        if change["op"] == "reload":  # a node wrote its mirror back: take the merged map
            return False
        if change["op"] == "claim":
            self.login(change["agent"], change["seat"])
        else:
            self._leave(change["agent"], change["seat"])
        self.version = version
        return True

    async def _follow(self) -> None:
        """Subscribe, load the whole map, apply changes; on any failure start over."""
        backoff = _BACKOFF_MIN_S
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._keys[3])
                await self._reload()  # after subscribing: nothing falls between the two
                self._loaded.set()
                backoff = _BACKOFF_MIN_S
                while True:
                    item = await pubsub.get_message(timeout=None)
                    if item is not None and not self._apply(item["data"]):
                        await self._reload()
            except (RedisConnectionError, OSError) as exc:
                log.warning("seat map follower lost Redis (%s); retrying in %.1fs", exc, backoff)
            except Exception:
                log.exception("seat directory follower failed; retrying in %.1fs", backoff)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _BACKOFF_MAX_S)
