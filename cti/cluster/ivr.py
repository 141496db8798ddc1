"""What one node's IVR learnt about a call, handed to the other nodes before the call rings.

Asterisk runs the FastAGI menu on one node; the pop of the call that follows may be sent by
any node (the first to see the ring). Each note the IVR takes is published on
`<prefix>ivr` (pub/sub, a few hundred bytes, the caller is still in the menu or on the way
into `Queue()`); every other node keeps it in its own `IvrNotes`. A note lost while Redis is
away costs the pop its IVR line, never the pop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, get_args

import redis.asyncio as aioredis

from cti.redis_pool import shared_client
from ivr import Learnt
from ivr.menu import How
from ivr.notes import IvrNotes

log = logging.getLogger(__name__)

_RETRY_S = 0.5
_FIELDS = ("language", "queue", "priority", "how", "resident_ids")


class IvrShare:
    """Publishes this node's IVR notes and keeps the other nodes' (run `run()` owned)."""

    def __init__(
        self, client: aioredis.Redis, notes: IvrNotes, *, node_id: str, prefix: str = "cti:"
    ) -> None:
        self._redis = client
        self._notes = notes
        self._node = node_id
        self._channel = f"{prefix}ivr"
        self._outbox: asyncio.Queue[str] = asyncio.Queue(10_000)
        notes.on_remember(self._taken)

    @classmethod
    def from_url(cls, url: str, notes: IvrNotes, *, node_id: str, prefix: str) -> IvrShare:
        """On its own connection."""
        return cls(shared_client(url), notes, node_id=node_id, prefix=prefix)

    def _taken(self, call_id: str, learnt: Learnt) -> None:
        body: dict[str, Any] = {"node": self._node, "call_id": call_id}
        body.update({name: getattr(learnt, name) for name in _FIELDS})
        with contextlib.suppress(asyncio.QueueFull):  # Redis away for long: notes only
            self._outbox.put_nowait(json.dumps(body, ensure_ascii=False))

    async def run(self) -> None:
        """Send this node's notes and take the others', forever (Redis errors retried)."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._send(), name="ivr-share-send")
            group.create_task(self._listen(), name="ivr-share-listen")

    async def _send(self) -> None:
        while True:
            payload = await self._outbox.get()
            while True:
                try:
                    await self._redis.publish(self._channel, payload)
                    break
                except (aioredis.RedisError, OSError) as exc:
                    log.warning("ivr share: not sent (%s); again", type(exc).__name__)
                    await asyncio.sleep(_RETRY_S)

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                while True:
                    item = await pubsub.get_message(timeout=None)
                    if item is not None:
                        self._take(item["data"])
            except (aioredis.RedisError, OSError) as exc:
                log.warning("ivr share: feed lost (%s); again", type(exc).__name__)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(_RETRY_S)

    def _take(self, data: bytes | str) -> None:
        try:
            body = json.loads(data)
            if body.get("node") == self._node:
                return
            if body["how"] not in get_args(How):
                raise ValueError(body["how"])
            learnt = Learnt(
                language=str(body["language"]),
                queue=str(body["queue"]),
                priority=int(body["priority"]),
                how=body["how"],
                resident_ids=tuple(str(r) for r in body.get("resident_ids") or ()),
            )
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ivr share: a note not understood (%s)", type(exc).__name__)
            return
        self._notes.remember(str(body["call_id"]), learnt, from_ivr=False)

    async def close(self) -> None:
        """Release the connection."""
        await self._redis.aclose()
