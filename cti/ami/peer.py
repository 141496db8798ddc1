"""The AMI test peer: a TCP server that plays a real Asterisk recording to a client.

It sends the server's bytes as recorded. At each `>>> ` block it waits for the client's action
of the same `Action` name and rewrites the recorded ActionID to the client's in what follows.
Actions the recording does not hold at that point (our client's Login-time resync, its
watchdog Pings) are answered in the shapes Asterisk used in the recordings: `Ping: Pong` as
in 01, empty `QueueStatus`/`QueueSummary`/`CoreShowChannels` lists as in 01 and 10b, and
`Events: On` as 17 answers `Events`, and `Response: Error` "Invalid/unknown command" as in 01
for anything else.

With `wait_for_actions=False` it streams past the client blocks (other than Login) and drops
the recorded answers to them, so a test can push a call's events through a client that never
sends the recorded QueueAdd/Originate. A recording that ends with a client block (10a's
`core restart now`) closes the connection once that action arrives, with no reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

from cti.ami.protocol import Action, AMIParser, ProtocolError, encode_headers
from cti.ami.trace import ClientAction, load_trace

log = logging.getLogger(__name__)

Chunking: TypeAlias = int | Literal["random"] | None
QUEUES = ("q-zh", "q-en", "q-ko")  # the queues of recording-config, as 01 and 10b list them
_ACTION_ID = re.compile(rb"(?:^|\r\n)ActionID: ([^\r\n]*)\r\n")


@dataclass(frozen=True, slots=True)
class _ServerMessage:
    raw: bytes  # one message with its blank line (or the greeting line)
    action_id: bytes | None


@dataclass(frozen=True, slots=True)
class _ClientBlock:
    name: str
    action_id: str | None
    last: bool  # nothing follows it in the recording


_Step: TypeAlias = _ServerMessage | _ClientBlock


def _steps(path: Path) -> list[_Step]:
    segments = load_trace(path)
    steps: list[_Step] = []
    for index, segment in enumerate(segments):
        if isinstance(segment, ClientAction):
            last = index == len(segments) - 1
            steps.append(_ClientBlock(segment.name, segment.action_id, last))
            continue
        data = segment.data
        if data.startswith(b"Asterisk Call Manager/"):
            end = data.index(b"\n") + 1
            steps.append(_ServerMessage(data[:end], None))
            data = data[end:]
        for raw in data.split(b"\r\n\r\n")[:-1]:
            match = _ACTION_ID.search(raw + b"\r\n")
            steps.append(_ServerMessage(raw + b"\r\n\r\n", match.group(1) if match else None))
    return steps


def _msg(*headers: tuple[str, str]) -> bytes:
    return encode_headers(headers)


def _list_reply(
    action_id: str, message: str, items: Iterable[bytes], complete: str, count: int
) -> bytes:
    head = _msg(
        ("Response", "Success"),
        ("ActionID", action_id),
        ("EventList", "start"),
        ("Message", message),
    )
    tail = _msg(
        ("Event", complete),
        ("ActionID", action_id),
        ("EventList", "Complete"),
        ("ListItems", str(count)),
    )
    return head + b"".join(items) + tail


def _queue_params(queue: str, action_id: str) -> bytes:
    zero = ("Calls", "Holdtime", "TalkTime", "Completed", "Abandoned", "ServiceLevel")
    return _msg(
        ("Event", "QueueParams"),
        ("Queue", queue),
        ("Max", "0"),
        ("Strategy", "rrmemory"),
        *((key, "0") for key in zero),
        ("ServicelevelPerf", "0.0"),
        ("ServicelevelPerf2", "0.0"),
        ("Weight", "0"),
        ("ActionID", action_id),
    )


def _queue_summary(queue: str, action_id: str) -> bytes:
    zero = ("LoggedIn", "Available", "Callers", "HoldTime", "TalkTime", "LongestHoldTime")
    return _msg(
        ("Event", "QueueSummary"),
        ("Queue", queue),
        *((key, "0") for key in zero),
        ("ActionID", action_id),
    )


def synthesized_reply(action: Action) -> bytes:
    """Asterisk's answer, in the recordings' shapes, to an action the recording lacks here."""
    name = action.name.lower()
    aid = action.action_id or ""
    if name == "ping":
        return _msg(
            ("Response", "Success"),
            ("ActionID", aid),
            ("Ping", "Pong"),
            ("Timestamp", f"{time.time():.6f}"),
        )
    if name == "queuestatus":
        items = [_queue_params(q, aid) for q in QUEUES]
        return _list_reply(aid, "Queue status will follow", items, "QueueStatusComplete", 3)
    if name == "queuesummary":
        items = [_queue_summary(q, aid) for q in QUEUES]
        return _list_reply(aid, "Queue summary will follow", items, "QueueSummaryComplete", 3)
    if name == "coreshowchannels":
        return _list_reply(aid, "Channels will follow", [], "CoreShowChannelsComplete", 0)
    if name == "events":  # as 03, 15-18 answer EventMask: on
        return _msg(("Response", "Success"), ("ActionID", aid), ("Events", "On"))
    if name == "login":
        return _msg(
            ("Response", "Success"), ("ActionID", aid), ("Message", "Authentication accepted")
        )
    if name == "logoff":
        return _msg(
            ("Response", "Goodbye"), ("ActionID", aid), ("Message", "Thanks for all the fish.")
        )
    return _msg(
        ("Response", "Error"),
        ("ActionID", aid),
        (
            "Message",
            f"Invalid/unknown command: {action.name}. "
            "Use Action: ListCommands to show available commands.",
        ),
    )


class _Closed(Exception):
    """The session ended (fault injection, bad login, client gone)."""


class _Session:
    """One client connection playing the recording from its start."""

    def __init__(
        self,
        peer: ReplayPeer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.peer = peer
        self.reader = reader
        self.writer = writer
        self.sent = 0
        self.lock = asyncio.Lock()
        self.rng = random.Random(peer.seed)
        # The name of the next recorded block we will wait at: an action of that name that
        # arrives early is held for it, any other is answered at once.
        self.expect: str | None = next(
            (s.name.lower() for s in peer.steps if isinstance(s, _ClientBlock)), None
        )
        self.held: asyncio.Queue[Action] = asyncio.Queue()
        self.ids: dict[bytes, bytes] = {}
        self.skipped: set[bytes] = set()
        self.closed = asyncio.Event()

    async def run(self) -> None:
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reading = asyncio.create_task(self._read())
        playing = asyncio.create_task(self._play())
        try:
            # Once the script is played, reading goes on answering until the client leaves.
            await asyncio.wait([reading, playing], return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in (reading, playing):
                task.cancel()
            for task in (reading, playing):
                with contextlib.suppress(asyncio.CancelledError, _Closed, ConnectionError):
                    await task
            self.close()

    def abort(self) -> None:
        """Drop the connection at once, no FIN handshake wait (the peer is stopping)."""
        self.closed.set()
        self.writer.transport.abort()

    def close(self) -> None:
        self.closed.set()
        if not self.writer.is_closing():
            self.writer.close()

    async def _play(self) -> None:
        steps = self.peer.steps
        wait_all = self.peer.wait_for_actions
        for index, step in enumerate(steps):
            if isinstance(step, _ServerMessage):
                if step.action_id is not None and step.action_id in self.skipped:
                    continue
                raw = step.raw
                if step.action_id is not None and step.action_id in self.ids:
                    new = self.ids[step.action_id]
                    raw = raw.replace(
                        b"ActionID: " + step.action_id + b"\r\n", b"ActionID: " + new + b"\r\n"
                    )
                await self.send(raw)
                # Let the reader answer the client between two recorded messages, as a real
                # Asterisk interleaves responses with its event stream.
                await asyncio.sleep(0)
                continue
            is_login = step.name.lower() == "login"
            if not (wait_all or is_login) or step.name.lower() in self.peer.not_waited:
                if step.action_id is not None:
                    self.skipped.add(step.action_id.encode())
                continue
            self.expect = step.name.lower()
            action = await self.held.get()
            self.expect = self._next_expected(index) if wait_all else None
            if step.action_id is not None and action.action_id is not None:
                self.ids[step.action_id.encode()] = action.action_id.encode()
            if step.last:
                log.info("peer: recording ends after %s: closing without a reply", step.name)
                self.close()
                raise _Closed
        last_block = next((s for s in reversed(steps) if isinstance(s, _ClientBlock)), None)
        if wait_all and last_block is not None and last_block.name.lower() == "logoff":
            self.close()
            raise _Closed

    def _next_expected(self, index: int) -> str | None:
        for step in self.peer.steps[index + 1 :]:
            if isinstance(step, _ClientBlock) and step.name.lower() not in self.peer.not_waited:
                return step.name.lower()
        return None

    async def _read(self) -> None:
        parser = AMIParser(expect_greeting=False)
        while True:
            data = await self.reader.read(65536)
            if not data:
                raise _Closed
            try:
                parser.feed(data)
                actions = [m for m in parser.messages() if isinstance(m, Action)]
            except ProtocolError as exc:
                log.warning("peer: bad bytes from client: %s", exc)
                raise _Closed from None
            for action in actions:
                await self._dispatch(action)

    async def _dispatch(self, action: Action) -> None:
        self.peer.received.append(action)
        name = action.name.lower()
        if (name == "ping" and not self.peer.answer_pings) or name in self.peer.unanswered:
            return
        if name == "login" and not self._credentials_ok(action):
            # 06-bad-login.ami: Response: Error, Message: Authentication failed.
            await self.send(
                _msg(
                    ("Response", "Error"),
                    ("ActionID", action.action_id or ""),
                    ("Message", "Authentication failed"),
                )
            )
            self.close()
            raise _Closed
        if name == self.expect:
            self.held.put_nowait(action)
            return
        if name in self.peer.denied:
            # 20-least-privilege.ami: the answer to an action outside the user's classes.
            aid = action.action_id or ""
            denied = (("Response", "Error"), ("ActionID", aid), ("Message", "Permission denied"))
            await self.send(_msg(*denied))
            return
        await self.send(synthesized_reply(action))
        if name == "logoff":
            self.close()
            raise _Closed

    def _credentials_ok(self, action: Action) -> bool:
        return (
            action.get("Username") == self.peer.username
            and action.get("Secret") == self.peer.secret
        )

    async def send(self, data: bytes) -> None:
        """Write bytes in the configured chunks; close once `close_after_bytes` is reached."""
        async with self.lock:
            if self.closed.is_set():
                raise _Closed
            limit = self.peer.close_after_bytes
            cut = limit is not None and self.sent + len(data) >= limit
            if limit is not None and cut:
                data = data[: max(0, limit - self.sent)]
            for piece in self._pieces(data):
                self.writer.write(piece)
                self.sent += len(piece)
                await self.writer.drain()
                if self.peer.chunk is not None:
                    await asyncio.sleep(0)
            if cut:
                log.info("peer: closing after %d bytes", self.sent)
                self.close()
                raise _Closed

    def _pieces(self, data: bytes) -> Iterable[bytes]:
        chunk = self.peer.chunk
        if chunk is None:
            yield data
            return
        pos = 0
        while pos < len(data):
            size = self.rng.randint(1, 64) if chunk == "random" else chunk
            yield data[pos : pos + size]
            pos += size


class ReplayPeer:
    """A TCP AMI server on 127.0.0.1 playing one recording to every client that connects.

    `chunk`: None (whole messages), N bytes per write, or "random" (1-64 bytes, seeded).
    `close_after_bytes`: on each connection, close after sending that many bytes.
    `answer_pings=False`: swallow Ping actions (a half-open connection, seen from the client).
    `wait_for_actions=False`: after Login, stream the recording's server side without
    waiting for the recorded client actions; their recorded answers are dropped.
    `username`/`secret`: what Login must carry; anything else gets 06's Authentication failed.
    `unanswered`: action names swallowed without a reply (to leave an action in flight).
    `denied`: action names answered `Message: Permission denied`, as 20 shows for a user
    without the action's class (e.g. our resync's CoreShowChannels under `ctiro`).
    `not_waited`: recorded client blocks streamed past (their answers dropped) even when
    waiting for actions: by default the recording client's `Events` (EventMask on), which our
    client never sends (its Login already receives every event), so 17's Originates are
    waited for and answered as recorded.
    """

    def __init__(
        self,
        trace_path: Path,
        *,
        chunk: Chunking = None,
        close_after_bytes: int | None = None,
        answer_pings: bool = True,
        wait_for_actions: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "cti",
        secret: str = "ctisecret",
        seed: int = 0,
        unanswered: tuple[str, ...] = (),
        denied: tuple[str, ...] = (),
        not_waited: tuple[str, ...] = ("events",),
    ) -> None:
        if isinstance(chunk, int) and chunk < 1:
            raise ValueError("chunk must be >= 1 byte")
        self.trace_path = Path(trace_path)
        self.steps = _steps(self.trace_path)
        self.chunk = chunk
        self.close_after_bytes = close_after_bytes
        self.answer_pings = answer_pings
        self.wait_for_actions = wait_for_actions
        self.host = host
        self.port = port
        self.username = username
        self.secret = secret
        self.seed = seed
        self.unanswered = {name.lower() for name in unanswered}
        self.denied = {name.lower() for name in denied}
        self.not_waited = {name.lower() for name in not_waited}
        self.connections = 0
        self.received: list[Action] = []
        self._server: asyncio.Server | None = None
        self._sessions: set[_Session] = set()
        self._session_tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        """Listen; returns the port (an ephemeral one when constructed with port 0)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("peer: playing %s on %s:%d", self.trace_path.name, self.host, self.port)
        return self.port

    async def stop(self) -> None:
        """Stop listening and drop every connection (as a restarting Asterisk does)."""
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.abort()
        tasks = list(self._session_tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=2.0)
            for task in pending:
                task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def drop_connections(self) -> None:
        """Cut every open connection (a network failure) but keep listening."""
        for session in list(self._sessions):
            session.abort()
        tasks = list(self._session_tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)

    def actions(self, name: str) -> list[Action]:
        """Every action of that name received so far, on any connection."""
        return [a for a in self.received if a.name.lower() == name.lower()]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        session = _Session(self, reader, writer)
        self._sessions.add(session)
        self._session_tasks.add(task)
        try:
            await session.run()
        except asyncio.CancelledError:
            # Only stop() cancels a session, and the task ends here. Python 3.11's stream
            # server would log a cancelled connection task as an error.
            pass
        finally:
            session.close()
            self._sessions.discard(session)
            self._session_tasks.discard(task)

    async def __aenter__(self) -> ReplayPeer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
