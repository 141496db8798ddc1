"""One agent WebSocket: a bounded send queue, and the hub of open sockets per agent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from cti import stop_task
from cti.web.metrics import WebMetrics
from cti.web.sessions import token_key

log = logging.getLogger(__name__)

# Close codes the agent page understands (docs/protocol.md).
CLOSE_SESSION_ENDED = 4001  # a newer login took the seat or the agent: do not reconnect
CLOSE_GOING_AWAY = 1001  # the server is stopping: reconnect with last_seq


class AgentSocket:
    """Writes one agent's messages to one WebSocket without letting a slow reader stall us.

    Messages are written in order: a live message that finds the socket idle is written by
    the publisher's own call (`send_now`: the pop leaves in the loop turn that read its AMI
    event); the rest straight from the bus feed, one task, no extra queue. A write that
    waits longer than `send_timeout_s` (the browser stopped reading, or its network did)
    drops the socket, and while a write waits the bus's own bounded per-subscriber queue
    takes the backlog (overflowing it also drops the socket). Either way the client
    reconnects with its last `seq` and the bus replays what it missed.
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        agent: str,
        metrics: WebMetrics,
        *,
        send_timeout_s: float,
        token: str = "",
    ) -> None:
        self.agent = agent
        self.token = token  # the session it was opened with: ending that session closes it
        self.token_key = token_key(token)  # how an end published by another node names it
        self.last_seq = 0  # the highest seq written (Redis restored empty: the bus resumes above)
        self.ws = ws
        self._transport = request.transport
        self._metrics = metrics
        self._send_timeout_s = send_timeout_s
        self.dropped: str | None = None
        self._writing = asyncio.Lock()  # the feed and the heartbeat write one frame at a time
        self._finishing: asyncio.Task[None] | None = None  # a `send_now` waiting for drain

    async def send(self, message: Mapping[str, Any]) -> bool:
        """Write one message; False when the socket is gone or was dropped for slowness."""
        if self.dropped is not None or self.ws.closed:
            return False
        frame = _frame(message)
        try:
            # The deadline bounds the wait on the transport's drain, which is where a peer
            # that stops reading makes send_frame wait.
            async with asyncio.timeout(self._send_timeout_s), self._writing:
                while self._finishing is not None:
                    await asyncio.wait([self._finishing])
                await self.ws.send_frame(frame, WSMsgType.TEXT)
        except TimeoutError:
            self.drop("send_timeout")
            return False
        except (ConnectionError, RuntimeError):
            return False  # closed under us; the reader side sees it too
        self._sent(message)
        return True

    def send_now(self, message: Mapping[str, Any]) -> bool:
        """Write `message` on the caller's own call when nothing is being written; False
        (nothing done) when it must wait its turn through `send`, or the socket is gone.

        aiohttp writes an uncompressed frame to the transport at once and waits only when the
        transport asks it to drain: the write's coroutine is run here by hand, and only a
        write that has to wait becomes a task, finished under the same deadline as `send`
        (later messages wait for it).
        """
        if self.dropped is not None or self.ws.closed:
            return False
        if self._finishing is not None or self._writing.locked():
            return False
        # Whatever goes wrong here goes back to the socket's own task (False), never to the
        # publisher, which is the AMI event path and has other agents' messages to deliver.
        try:
            write = self.ws.send_frame(_frame(message), WSMsgType.TEXT)
        except Exception:
            return False  # not serialisable: the feed's task meets it and drops the socket
        try:
            waiting = write.send(None)
        except StopIteration:
            self._sent(message)
            return True
        except Exception:
            return False  # closed under us: `send` finds it so too and the feed ends
        self._finishing = asyncio.create_task(
            self._finish(write, waiting, message), name=f"ws-finish-{self.agent}"
        )
        return True

    async def _finish(
        self, write: Coroutine[Any, Any, None], waiting: object, message: Mapping[str, Any]
    ) -> None:
        try:
            async with asyncio.timeout(self._send_timeout_s):
                await _resume(write, waiting)
        except TimeoutError:
            self.drop("send_timeout")
        except (ConnectionError, RuntimeError):
            pass  # closed under us; the reader side sees it too
        else:
            self._sent(message)
        finally:
            self._finishing = None

    async def stop(self) -> None:
        """End a `send_now` write still waiting for drain, as the feed's own write ends with
        its task: called when the socket's handler returns, so nothing of it outlives that."""
        finishing = self._finishing
        if finishing is not None:
            await stop_task(finishing)
            self._finishing = None  # cancelled before its first step, it never reached `finally`

    def _sent(self, message: Mapping[str, Any]) -> None:
        self._metrics.messages_sent.labels(str(message.get("type", ""))).inc()
        seq = message.get("seq")
        if isinstance(seq, int) and seq > self.last_seq:
            self.last_seq = seq

    def drop(self, reason: str) -> None:
        """Cut the connection at once (no close handshake: the peer is not reading)."""
        if self.dropped is not None:
            return
        self.dropped = reason
        self._metrics.dropped_sockets.labels(reason).inc()
        log.warning("dropping agent socket: agent=%s reason=%s", self.agent, reason)
        if self._transport is not None:
            self._transport.abort()

    async def close(self, code: int, reason: str) -> None:
        """Close politely, but never wait long on a peer that does not answer."""
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), 2.0)
        except (TimeoutError, ConnectionError, RuntimeError):
            self.drop("close_timeout")
        except asyncio.CancelledError:
            # aiohttp shares one drain future per connection: a write that timed out cancels
            # it under this close too. Only a cancel of this task itself goes on up.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            self.drop("close_timeout")


def _frame(message: Mapping[str, Any]) -> bytes:
    # A text frame's UTF-8 bytes, made once: orjson writes them in ~1/5 of the time
    # `json.dumps(…).encode()` takes on the pop's path (`docs/benchmarks.md`), and
    # `send_frame` sends them as they are where `send_str` would encode a str again.
    return orjson.dumps(message)


async def _resume(coro: Coroutine[Any, Any, None], waiting: object) -> None:
    """Run to its end a coroutine started by hand (`coro.send(None)` gave `waiting`), as the
    task running it would: each future it yields is awaited, and its outcome sent back in."""
    while True:
        try:
            if waiting is None:
                await asyncio.sleep(0)  # a bare yield: the coroutine asked for one loop turn
            elif isinstance(waiting, asyncio.Future):
                # What a task does with a yielded future: take it over, then wait for it.
                waiting._asyncio_future_blocking = False
                await waiting
            else:
                raise RuntimeError(f"a write yielded {waiting!r}, not a future")
        except BaseException as exc:
            try:
                waiting = coro.throw(exc)
            except StopIteration:
                return
        else:
            try:
                waiting = coro.send(None)
            except StopIteration:
                return


class SocketHub:
    """Every open agent socket of this node, by agent."""

    def __init__(self, metrics: WebMetrics) -> None:
        self._by_agent: dict[str, set[AgentSocket]] = {}
        self._metrics = metrics

    @contextmanager
    def attached(self, socket: AgentSocket) -> Iterator[AgentSocket]:
        """Keep `socket` registered for the duration of the block."""
        self._by_agent.setdefault(socket.agent, set()).add(socket)
        self._metrics.sockets.inc()
        try:
            yield socket
        finally:
            self._metrics.sockets.dec()
            sockets = self._by_agent.get(socket.agent)
            if sockets is not None:
                sockets.discard(socket)
                if not sockets:
                    del self._by_agent[socket.agent]

    def count(self) -> int:
        """How many sockets are open."""
        return sum(len(s) for s in self._by_agent.values())

    def count_of(self, agent: str) -> int:
        """How many sockets `agent` has open (or opening) on this node."""
        return len(self._by_agent.get(agent, ()))

    async def close_agent(self, agent: str, code: int, reason: str) -> None:
        """Close every socket of `agent` (a newer login ended their session)."""
        for socket in list(self._by_agent.get(agent, ())):
            await socket.close(code, reason)

    async def close_session(self, key: str, code: int, reason: str) -> None:
        """Close the sockets opened with the session whose `token_key` is `key` (it ended,
        maybe on another node, which knows the key only)."""
        sockets = [s for group in self._by_agent.values() for s in group if s.token_key == key]
        await asyncio.gather(*(s.close(code, reason) for s in sockets))

    async def send_all(self, message: Mapping[str, Any]) -> None:
        """Write `message` (no seq: not on the bus) to every open socket."""
        sockets = [s for group in self._by_agent.values() for s in group]
        await asyncio.gather(*(s.send(message) for s in sockets))

    def delivered(self) -> dict[str, int]:
        """Agent → the highest seq this node's sockets wrote to that agent."""
        return {agent: max(s.last_seq for s in group) for agent, group in self._by_agent.items()}

    async def close_all(self, code: int, reason: str) -> None:
        """Close every socket (graceful shutdown: clients reconnect elsewhere or later)."""
        sockets = [s for group in self._by_agent.values() for s in group]
        await asyncio.gather(*(s.close(code, reason) for s in sockets))
