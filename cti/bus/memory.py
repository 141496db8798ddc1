"""The in-process bus: one CTI node, history in memory."""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from cti.bus.base import (
    BROADCAST,
    DEFAULT_HISTORY,
    DEFAULT_SUBSCRIBER_QUEUE,
    DirectWrite,
    History,
    Message,
    Subscriber,
    history_after,
)

# How many `once` keys one process remembers (a node sees a few thousand messages an hour).
ONCE_KEYS = 100_000


@dataclass(slots=True)
class _Channel:
    history: deque[Message]
    last_seq: int = 0
    subscribers: list[Subscriber] = field(default_factory=list)


class InProcessBus:
    """Bus for a single node. Publishing never waits on a subscriber."""

    def __init__(
        self,
        history: int = DEFAULT_HISTORY,
        subscriber_queue: int = DEFAULT_SUBSCRIBER_QUEUE,
    ) -> None:
        self._history = history
        self._subscriber_queue = subscriber_queue
        self._channels: dict[str, _Channel] = {}
        self._once: OrderedDict[tuple[str, str], None] = OrderedDict()

    def _channel(self, agent_id: str) -> _Channel:
        channel = self._channels.get(agent_id)
        if channel is None:
            channel = self._channels[agent_id] = _Channel(deque(maxlen=self._history))
        return channel

    async def publish(self, agent_id: str, message: Message, *, once: str | None = None) -> int:
        """Give the message the agent's next seq, keep it in history, hand it to readers.

        With `once`, a repeat of that key publishes nothing and returns 0.
        """
        return self.publish_nowait(agent_id, message, once=once)

    def post(
        self, agent_id: str, message: Message, *, once: str | None = None
    ) -> asyncio.Future[int]:
        """`publish` without waiting: done at once; the future holds the seq (0: a repeat)."""
        seq = self.publish_nowait(agent_id, message, once=once)  # an idle socket writes it now
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        future.set_result(seq)
        return future

    def publish_nowait(self, agent_id: str, message: Message, *, once: str | None = None) -> int:
        """`publish` for synchronous callers (same effect, no await)."""
        if once is not None:
            key = (agent_id, once)
            if key in self._once:
                return 0
            self._once[key] = None
            if len(self._once) > ONCE_KEYS:
                self._once.popitem(last=False)
        channel = self._channel(agent_id)
        channel.last_seq += 1
        message["seq"] = channel.last_seq
        channel.history.append(message)
        for sub in channel.subscribers:
            sub.offer(message)
        return channel.last_seq

    async def broadcast(self, message: Message, *, once: str | None = None) -> int:
        """Publish on the supervisors' channel."""
        return self.publish_nowait(BROADCAST, message, once=once)

    async def head(self, agent_id: str) -> int:
        """The agent's newest seq (0 before the first message)."""
        channel = self._channels.get(agent_id)
        return channel.last_seq if channel is not None else 0

    async def since(self, agent_id: str, seq: int) -> History:
        """What the agent was sent after `seq` (bounded history)."""
        channel = self._channel(agent_id)
        return history_after(channel.history, seq, channel.last_seq)

    async def subscribe(
        self, agent_id: str, after: int | None = None, *, direct: DirectWrite | None = None
    ) -> AsyncIterator[Message]:
        """Yield the agent's messages as they come (or hand them to `direct`, see
        `Subscriber`); raise SlowSubscriber when cut off."""
        channel = self._channel(agent_id)
        sub = Subscriber.bounded(self._subscriber_queue, direct)
        channel.subscribers.append(sub)
        try:
            if after is not None:
                missed = history_after(channel.history, after, channel.last_seq)
                for message in missed:
                    sub.delivered = message["seq"]
                    yield message
                sub.delivered = max(sub.delivered, after)
            while True:
                message = await sub.next(agent_id)
                if message["seq"] > sub.delivered:
                    sub.delivered = message["seq"]
                    yield message
        finally:
            channel.subscribers.remove(sub)

    async def problem(self) -> str | None:
        """An in-process bus always delivers."""
        return None

    async def close(self) -> None:
        """Nothing to release in process."""
