"""One node's watch on the Redis its agents share: down (degraded mode), back, back empty.

Every `interval_s` one script reads the cluster's epoch (`<prefix>epoch`, a random id set by
the first node that finds it missing) and refreshes the TTL of the keys that live as long as
the cluster does (the epoch, the seat map). Three outcomes:

- Redis does not answer: the node is **degraded**. Its agents keep being served from what it
  holds (sessions from the local cache, pops it publishes to its own sockets); the handlers
  are told once (`True`), and told again (`False`) once Redis answers.
- the epoch is the one this node knows: nothing was lost.
- the epoch is missing or new: Redis lost its data (restarted without persistence, FLUSHALL)
  while this node held state. The node writes back what it holds (the restorers: the seat
  map, its sessions; then the `on_restored` handlers), and only then takes the new epoch, so
  a write-back cut short is tried again at the next tick. Every node does the same: each
  write-back only fills what is missing, so they merge.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence

import redis.asyncio as aioredis

from cti import stop_task

log = logging.getLogger(__name__)

# Long enough that a cluster stopped for a day forgets who sat where; refreshed every tick.
KEEP_TTL_MS = 24 * 3600 * 1000

# KEYS: epoch, then keys to keep alive. ARGV: a new epoch, ttl ms.
# Returns {1 if the epoch was there, the epoch now}.
_TICK = """
local epoch = redis.call('GET', KEYS[1])
local had = 1
if not epoch then
  epoch = ARGV[1]
  had = 0
end
redis.call('SET', KEYS[1], epoch, 'PX', ARGV[2])
for i = 2, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
return {had, epoch}
"""

Restorer = Callable[[], Awaitable[object]]
Notify = Callable[[bool], Awaitable[None]]


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


class RedisKeeper:
    """Watches Redis for one node; see the module docstring. `start()` / `close()`."""

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        *,
        interval_s: float = 1.0,
        answer_within_s: float = 1.0,
    ) -> None:
        self._redis = client
        self._epoch_key = f"{prefix}epoch"
        self._keep: list[str] = []
        self._tick_script = client.register_script(_TICK)
        self._interval_s = interval_s
        self._answer_within_s = answer_within_s
        self._epoch: str | None = None
        self._restorers: list[Restorer] = []
        self._restored: list[Restorer] = []
        self._notify: list[Notify] = []
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.degraded = False
        self.restores = 0  # how many times this node wrote back after a loss

    def keep_alive(self, keys: Sequence[str]) -> None:
        """Refresh the TTL of `keys` at every tick (they live as long as a node does)."""
        self._keep.extend(keys)

    def on_restore(self, restorer: Restorer) -> None:
        """Run `restorer()` when Redis lost its data, in the order given."""
        self._restorers.append(restorer)

    def on_restored(self, handler: Restorer) -> None:
        """Run `handler()` after every restorer did its part (the shared state is back)."""
        self._restored.append(handler)

    def on_degraded(self, handler: Notify) -> None:
        """Call `handler(True)` when Redis stops answering, `handler(False)` when it is back."""
        self._notify.append(handler)

    async def start(self) -> None:
        """Take the current epoch (one tick), then tick every `interval_s` (an owned task)."""
        await self.check()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="redis-keeper")

    async def close(self) -> None:
        """Stop ticking (the client belongs to the caller)."""
        if self._task is not None:
            await stop_task(self._task)
            self._task = None

    async def check(self) -> bool:
        """One tick now; True when Redis had lost its data and this node wrote it back."""
        async with self._lock:
            try:
                async with asyncio.timeout(self._answer_within_s):
                    had, raw = await self._tick_script(
                        keys=[self._epoch_key, *self._keep],
                        args=[uuid.uuid4().hex, KEEP_TTL_MS],
                    )
            except (aioredis.RedisError, OSError, TimeoutError) as exc:
                await self._set_degraded(True, type(exc).__name__)
                return False
            epoch = _text(raw)
            restored = False
            if self._epoch is not None and (not had or epoch != self._epoch):
                was = self._epoch
                log.warning("redis lost its data (epoch %s, now %s): writing back", was, epoch)
                try:
                    for restorer in [*self._restorers, *self._restored]:
                        await restorer()
                except (aioredis.RedisError, OSError) as exc:
                    await self._set_degraded(True, type(exc).__name__)
                    return False  # the epoch is not taken: the next tick writes back again
                self.restores += 1
                restored = True
            self._epoch = epoch
            await self._set_degraded(False, "")
            return restored

    async def _set_degraded(self, on: bool, why: str) -> None:
        if on == self.degraded:
            return
        self.degraded = on
        if on:
            log.warning("redis unreachable (%s): degraded mode, serving from local state", why)
        else:
            log.info("redis answers again: degraded mode over")
        for handler in self._notify:
            try:
                await handler(on)
            except Exception:
                log.exception("degraded-mode handler failed")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.check()
            except Exception:  # a bug must not end the watch: log it, tick again
                log.exception("redis keeper tick failed")
