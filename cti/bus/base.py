"""What every bus promises: per-agent sequence numbers, bounded history, bounded subscribers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

Message = dict[str, Any]

# The supervisors' channel (queue and member state). Agent ids never start with "_".
BROADCAST: Final = "_broadcast"
DEFAULT_HISTORY: Final = 500
DEFAULT_SUBSCRIBER_QUEUE: Final = 1000


class BusError(Exception):
    """Base of the bus errors."""


class SlowSubscriber(BusError):
    """A subscriber fell more than its queue behind and was cut off.

    The reader should drop its client; the client reconnects with its last `seq` and
    gets the rest from `since` (or learns that history was truncated).
    """

    def __init__(self, agent_id: str, limit: int) -> None:
        super().__init__(f"subscriber of {agent_id!r} fell {limit} messages behind")
        self.agent_id = agent_id
        self.limit = limit


class HistoryLost(SlowSubscriber):
    """The store forgot the agent's stream under a subscriber (Redis restarted without
    persistence): its seqs start again below what the subscriber already delivered.

    A SlowSubscriber, so readers drop their client the same way; the client reconnects
    with its last `seq`, which is now ahead of the bus, and is told to reset.
    """

    def __init__(self, agent_id: str, delivered: int, head: int) -> None:
        BusError.__init__(
            self, f"stream of {agent_id!r} restarted: delivered {delivered}, head {head}"
        )
        self.agent_id = agent_id
        self.limit = 0


# Writes a message to a reader's client at once; False when it must wait its turn in the queue.
DirectWrite = Callable[[Message], bool]


@dataclass(slots=True)
class Subscriber:
    """One reader's bounded queue. Once it overflows the reader is cut off: it learns at its
    next read, while publishers never wait on it.

    With `direct`, a message offered while the reader waits on an empty queue is handed to
    `direct` on the publisher's own call (the agent's socket written in the same turn of the
    loop as the AMI event, with no task switch); it takes the queue when `direct` says no
    (a write is still in progress) or the reader is busy, so the order never changes.
    """

    queue: asyncio.Queue[Message]
    overflowed: bool = False
    direct: DirectWrite | None = None
    parked: bool = False  # the reader waits in `next` for the queue to fill
    # The highest seq the reader has, yielded or written by `direct` (kept by buses that use
    # `direct`): `direct` is never handed a seq at or below it.
    delivered: int = 0

    @classmethod
    def bounded(cls, limit: int, direct: DirectWrite | None = None) -> Subscriber:
        """A subscriber whose queue holds at most `limit` messages."""
        return cls(asyncio.Queue(limit), direct=direct)

    def offer(self, message: Message) -> None:
        """Hand `message` over without waiting; a full queue cuts the reader off instead."""
        if self.overflowed:
            return
        if self.parked and self.direct is not None and self.queue.empty():
            seq = message["seq"]
            if seq <= self.delivered:
                return  # the reader has it already
            if self.direct(message):
                self.delivered = seq
                return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True

    async def next(self, agent_id: str) -> Message:
        """The next queued message; SlowSubscriber once the reader has been cut off."""
        self.parked = True
        try:
            message = await self.queue.get()
        finally:
            self.parked = False
        if self.overflowed:
            raise SlowSubscriber(agent_id, self.queue.maxsize)
        return message


class History(list[Message]):
    """Messages after a given `seq`, oldest first.

    `truncated` is True when messages the caller asked for are no longer held (the bounded
    history moved past them): the client must then be sent a full state instead of a
    replay. `oldest_seq` is the oldest seq still held (None when nothing is held).
    """

    truncated: bool
    oldest_seq: int | None

    def __init__(
        self,
        messages: Iterable[Message] = (),
        *,
        truncated: bool = False,
        oldest_seq: int | None = None,
    ) -> None:
        super().__init__(messages)
        self.truncated = truncated
        self.oldest_seq = oldest_seq


@runtime_checkable
class Bus(Protocol):
    """Delivers messages to one agent's consoles (or to the broadcast channel).

    `publish` assigns the next `seq` of that agent (1, 2, 3...), stores it in the message
    under "seq" and returns it. `since(agent_id, seq)` gives what came after `seq`
    (bounded; see `History.truncated`). `subscribe(agent_id, after=None)` yields messages
    as they are published; with `after` it first yields what was missed since that seq,
    with no gap and no duplicate. A subscriber that does not keep up gets `SlowSubscriber`
    instead of stalling publishers. With `direct`, live messages that find the reader idle
    are written by `direct` at once instead of being yielded (see `Subscriber`).

    `post` is `publish` for a caller that must not wait (the AMI event path).

    `once` makes a publish idempotent: several CTI nodes that saw the same AMI event publish
    it with the same key, and only the first one goes out (the others get 0, no seq).
    """

    async def publish(self, agent_id: str, message: Message, *, once: str | None = None) -> int: ...

    def post(
        self, agent_id: str, message: Message, *, once: str | None = None
    ) -> asyncio.Future[int]:
        """`publish` without waiting for it: the message takes its place now, after every
        earlier post or publish of this bus (their order is kept); the future gives the seq,
        0 for a `once` repeat, or the error (Redis unreachable). The event path uses it so
        it never waits a round trip per message."""
        ...

    async def since(self, agent_id: str, seq: int) -> History: ...

    async def head(self, agent_id: str) -> int:
        """The agent's newest seq (0 before the first message): where a new reader starts."""
        ...

    def subscribe(
        self, agent_id: str, after: int | None = None, *, direct: DirectWrite | None = None
    ) -> AsyncIterator[Message]: ...

    async def broadcast(self, message: Message, *, once: str | None = None) -> int: ...

    async def problem(self) -> str | None:
        """None while the bus can deliver; else why not, for /health (`redis: …`)."""
        ...

    async def close(self) -> None: ...


def history_after(held: Iterable[Message], seq: int, last_seq: int) -> History:
    """Select the held messages (ascending seq) that follow `seq`, noting truncation."""
    items = list(held)
    oldest = items[0]["seq"] if items else None
    after = [m for m in items if m["seq"] > seq]
    if seq >= last_seq:
        truncated = False
    elif oldest is None:
        truncated = True
    else:
        truncated = seq + 1 < oldest
    return History(after, truncated=truncated, oldest_seq=oldest)
