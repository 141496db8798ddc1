"""The asyncio AMI client: one connection to Asterisk that survives Asterisk.

What it promises:
- `send()` answers with the Response for that ActionID, or a `ListResult` for list actions
  (`EventList: start` ... `...Complete`); `Response: Error` raises `AMIError` with Asterisk's
  Message. Responses and events arrive interleaved and are told apart by ActionID.
- Login failure raises/logs `AMIAuthError` naming the user and is retried with backoff.
- A Ping every `ping_interval_s`; no Pong within `ping_timeout_s` means a dead (half-open)
  connection: it is dropped and re-made, with exponential backoff and jitter.
- After every (re)connect: QueueStatus and CoreShowChannels, published as a `Resync`.
- An action in flight when the connection drops fails with `AMIConnectionLost`; nothing is
  ever re-sent, so an Originate is never placed twice.
- Subscribers are called from one owned dispatcher task fed by a queue, events and resyncs
  in arrival order: one that raises is logged with the event and neither stops the others
  nor the reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from panoramisk.ami_protocol import AMIProtocol

from cti.ami.lists import ListCollector, ListResult
from cti.ami.protocol import (
    AMIParser,
    Event,
    Greeting,
    Header,
    Message,
    RemoteProtocolError,
    Response,
    encode_action,
)
from cti.settings import AMISettings

log = logging.getLogger(__name__)

# asyncio.timeout() rather than asyncio.wait_for() throughout: on Python 3.11, wait_for
# swallows a cancellation that lands as the awaited answer arrives, and a stopping client
# would then hang on a live connection.

T = TypeVar("T")
Handler = Callable[[T], Awaitable[None] | None]
_SUBSCRIBER_QUEUE_MAX = 100_000


class AMIError(Exception):
    """Asterisk answered `Response: Error`; `message` is Asterisk's own reason."""

    def __init__(self, message: str, response: Response | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.response = response


class AMIAuthError(AMIError):
    """Asterisk refused our Login (06-bad-login.ami: `Authentication failed`)."""

    def __init__(self, username: str, response: Response) -> None:
        reason = response.message or "no reason given"
        super().__init__(f"AMI login refused for user {username!r}: {reason}", response)
        self.username = username


# The class a user needs in manager.conf `write =` to run an action (Asterisk's own
# registration of each action); named in the log and in /health when Asterisk says
# "Permission denied", so the operator knows what to grant.
ACTION_CLASS: dict[str, str] = {
    "CoreShowChannels": "reporting",
    "QueueAdd": "agent",
    "QueueRemove": "agent",
    "QueuePause": "agent",
    "QueuePenalty": "agent",
    "Originate": "originate",
    "GetConfig": "config",
    "UpdateConfig": "config",
    "Command": "command",
}


class AMIPermissionDenied(AMIError):
    """Asterisk answered `Permission denied`: our AMI user lacks the action's class (20)."""

    def __init__(self, action: str, response: Response | None = None) -> None:
        self.action = action
        self.needs = ACTION_CLASS.get(action, "unknown")
        super().__init__(response.message if response and response.message else "", response)
        self.args = (f"permission denied for {action} (needs {self.needs})",)


def _denied(name: str, response: Response) -> AMIError:
    if (response.message or "").strip().lower() == "permission denied":
        return AMIPermissionDenied(name, response)
    return AMIError(response.message or response.status, response)


@dataclass(frozen=True, slots=True)
class LinkState:
    """Whether the server can see and drive Asterisk, and since when.

    `live` only after a login and a resync; `reason` says why not (`connection refused`,
    `permission denied for CoreShowChannels (needs reporting)`).
    """

    live: bool
    since: datetime
    reason: str | None = None

    def describe(self) -> str:
        """One line for /health and the log: `ami: down since 2026-11-30T15:00:01Z: …`."""
        at = self.since.strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.live:
            return f"ami: live since {at}"
        return f"ami: down since {at}: {self.reason or 'not connected'}"


class AMIConnectionLost(ConnectionError):
    """The connection dropped (or the client stopped) before the action was answered.

    `maybe_executed` is True when the action had been written: Asterisk may have run it.
    Such an action is never re-sent by the client.
    """

    def __init__(self, message: str, *, maybe_executed: bool) -> None:
        super().__init__(message)
        self.maybe_executed = maybe_executed


class AMITimeout(TimeoutError):
    """No answer within `action_timeout_s` (or the client never got connected in time)."""


@dataclass(frozen=True, slots=True)
class Resync:
    """The queue and call state read after a (re)connect.

    `at` is when reading began (before QueueStatus was sent): an event handled after `at`
    may be newer than the snapshot, so a state machine lets such an event win.
    """

    at: datetime
    queue_status: list[Event]
    channels: list[Event]


@dataclass(slots=True)
class _Pending:
    name: str
    idempotent: bool
    future: asyncio.Future[Response | ListResult]
    collector: ListCollector | None = None


class _Dispatcher:
    """Hands events and resyncs to the handlers from one owned task, in arrival order.

    The reader only enqueues, so a slow or raising handler never stalls it; a handler that
    raises is logged with the item and the others still get it. One queue for both kinds
    keeps a Resync in its place among the events (a state machine must not apply a snapshot
    after events that came later).
    """

    def __init__(self) -> None:
        self.events: list[Handler[Event]] = []
        self.resynced: list[Handler[Resync]] = []
        self.linked: list[Handler[LinkState]] = []
        self.queue: asyncio.Queue[Event | Resync | LinkState] = asyncio.Queue(_SUBSCRIBER_QUEUE_MAX)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run(), name="ami-dispatcher")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    def put(self, item: Event | Resync | LinkState) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            log.error("AMI handlers are %d items behind: dropping %r", self.queue.qsize(), item)

    async def _run(self) -> None:
        while True:
            item = await self.queue.get()
            if isinstance(item, Event):
                await self._call(list(self.events), item)
            elif isinstance(item, Resync):
                await self._call(list(self.resynced), item)
            else:
                await self._call(list(self.linked), item)

    @staticmethod
    async def _call(handlers: list[Handler[T]], item: T) -> None:
        for handler in handlers:
            try:
                result = handler(item)
                if result is not None:
                    await result
            except Exception:
                log.exception("AMI handler %r failed on %r", handler, item)


class _Protocol(AMIProtocol):  # type: ignore[misc]  # panoramisk has no type hints
    """panoramisk's asyncio transport protocol, with our sans-IO parser behind it.

    We keep panoramisk's transport bookkeeping (`connection_made`, `close`) and replace the
    rest, because panoramisk's parsing and recovery are not safe for a hotline:
    - `data_received` decodes each TCP read on its own with errors ignored, so a caller name
      split across reads loses characters (see test_plain_panoramisk_loses_the_caller_name);
    - its messages are dicts where a missing key reads as '' instead of failing loudly;
    - after a reconnect it re-sends actions that got no answer, Originate included, which
      can ring a resident twice.
    """

    def __init__(self, client: AMIClient) -> None:
        super().__init__()
        self.client = client
        self.parser = AMIParser()
        self.greeting: asyncio.Future[Greeting] = asyncio.get_running_loop().create_future()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.received = 0  # reads so far: any bytes prove the link alive (ping watchdog)

    def data_received(self, data: bytes) -> None:
        self.received += 1
        try:
            self.parser.feed(data)
            for message in self.parser.messages():
                self.client._on_message(self, message)
        except RemoteProtocolError as exc:
            log.error(
                "AMI protocol error from %s: %s; dropping the connection", self.client.address, exc
            )
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.client._on_lost(self, exc)
        if not self.greeting.done():
            self.greeting.set_exception(ConnectionError("closed before the AMI greeting"))
        if not self.lost.done():
            self.lost.set_result(None)


class AMIClient:
    """A self-healing AMI connection built from `settings.ami`. See the module docstring."""

    def __init__(self, settings: AMISettings) -> None:
        self.settings = settings
        self._ids = itertools.count(1)
        self._prefix = f"cti-{random.randrange(16**6):06x}"
        self._pending: dict[str, _Pending] = {}
        self._protocol: _Protocol | None = None
        self._connected = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._dispatcher = _Dispatcher()
        self._stopping = False
        self.last_resync: Resync | None = None
        self.last_error: Exception | None = None  # why the last connection attempt ended
        self.connections = 0
        self.link = LinkState(False, datetime.now(UTC), "not connected yet")

    @property
    def address(self) -> str:
        """host:port of the Asterisk we talk to."""
        return f"{self.settings.host}:{self.settings.port}"

    @property
    def connected(self) -> bool:
        """True while logged in on a live connection."""
        return self._connected.is_set()

    async def start(self) -> None:
        """Start connecting in the background (returns at once; see `wait_connected`)."""
        if self._supervisor is not None:
            return
        self._stopping = False
        self._dispatcher.start()
        self._supervisor = asyncio.create_task(self._supervise(), name="ami-supervisor")

    async def run(self) -> None:
        """Start, then run until cancelled, stopping on the way out (for an owned task)."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def wait_connected(self, within_s: float | None = None) -> None:
        """Wait until logged in; AMITimeout after `within_s` seconds."""
        try:
            async with asyncio.timeout(within_s):
                await self._connected.wait()
        except TimeoutError:
            raise AMITimeout(f"not connected to AMI at {self.address} in {within_s} s") from None

    async def stop(self) -> None:
        """Close the connection, fail what is pending, and stop every owned task."""
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        self._drop_connection("the AMI client stopped")
        await self._dispatcher.stop()

    def subscribe(self, handler: Handler[Event]) -> Callable[[], None]:
        """Call `handler` with every unsolicited Event, in order, from the owned dispatcher.

        Events that answer one of our list actions go into that action's ListResult instead.
        Handlers should be quick (they share one task, which keeps events and resyncs in
        order); one that raises is logged and the others still run. Returns an unsubscribe.
        """
        return self._add(self._dispatcher.events, handler)

    def on_link(self, handler: Handler[LinkState]) -> Callable[[], None]:
        """Call `handler` with the new `LinkState` when the link goes down or comes back live.

        In order with the events: "down" after the last event read before the drop, "live"
        after the handlers of the Resync that made it live. Returns an unsubscribe.
        """
        return self._add(self._dispatcher.linked, handler)

    def on_resynced(self, handler: Handler[Resync]) -> Callable[[], None]:
        """Call `handler` with a `Resync` after every (re)connect, in order with the events.

        Returns a function that unsubscribes.
        """
        return self._add(self._dispatcher.resynced, handler)

    @staticmethod
    def _add(handlers: list[Handler[T]], handler: Handler[T]) -> Callable[[], None]:
        handlers.append(handler)

        def unsubscribe() -> None:
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    async def send(
        self,
        name: str,
        fields: Mapping[str, str] | Iterable[Header] = (),
        *,
        idempotent: bool = True,
    ) -> Response | ListResult:
        """Send an action and wait for its answer.

        Returns the Response, or a ListResult when Asterisk answers with a list.
        Raises LocalProtocolError (CR/LF/NUL in a field) before anything is sent,
        AMIError on `Response: Error`, AMIConnectionLost when the connection drops first
        (never re-sent; `idempotent=False` marks actions such as Originate whose loss the
        caller must handle), AMITimeout when no answer comes in `action_timeout_s`.
        """
        action_id = f"{self._prefix}-{next(self._ids)}"
        data = encode_action(name, fields, action_id)
        if self._supervisor is None:
            raise AMIConnectionLost(f"{name}: the AMI client is not running", maybe_executed=False)
        timeout = self.settings.action_timeout_s
        await self.wait_connected(timeout)
        try:
            return await self._exchange(name, action_id, data, idempotent, timeout)
        except AMIPermissionDenied as exc:
            log.error(
                "AMI at %s: %s: grant it to user %r", self.address, exc, self.settings.username
            )
            raise

    async def send_list(
        self, name: str, fields: Mapping[str, str] | Iterable[Header] = ()
    ) -> ListResult:
        """Send a list action (QueueStatus, CoreShowChannels...) and return its items."""
        result = await self.send(name, fields)
        if not isinstance(result, ListResult):
            raise AMIError(f"{name} did not answer with a list", result)
        return result

    async def _exchange(
        self, name: str, action_id: str, data: bytes, idempotent: bool, within_s: float
    ) -> Response | ListResult:
        protocol = self._protocol
        if protocol is None or protocol.closed:
            raise AMIConnectionLost(f"{name}: not connected to AMI", maybe_executed=False)
        future: asyncio.Future[Response | ListResult] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(name, idempotent, future)
        protocol.transport.write(data)
        try:
            async with asyncio.timeout(within_s):
                return await future
        except TimeoutError:
            raise AMITimeout(f"{name} (ActionID {action_id}): no answer in {within_s} s") from None
        finally:
            self._pending.pop(action_id, None)

    def _on_message(self, protocol: _Protocol, message: Message) -> None:
        # The greeting can be read before create_connection() returns and _session() records
        # the protocol (on loopback it is already in the socket), so it is taken first.
        if isinstance(message, Greeting):
            if not protocol.greeting.done():
                protocol.greeting.set_result(message)
            return
        if protocol is not self._protocol:
            return
        pending = self._pending.get(message.action_id or "")
        if isinstance(message, Response) and pending is not None:
            self._answer(pending, message)
        elif isinstance(message, Event) and pending is not None and pending.collector:
            try:
                result = pending.collector.add(message)
            except RemoteProtocolError as exc:
                self._settle(pending, exc)
                return
            if result is not None:
                self._settle(pending, result)
        elif isinstance(message, Event):
            self._dispatcher.put(message)

    def _on_lost(self, protocol: _Protocol, exc: Exception | None) -> None:
        if protocol is self._protocol:
            why = f"connection lost ({exc})" if exc else "connection closed by Asterisk"
            log.warning("AMI at %s: %s", self.address, why)
            self._drop_connection(why)

    def _answer(self, pending: _Pending, response: Response) -> None:
        if not response.ok:
            self._settle(pending, _denied(pending.name, response))
        elif response.starts_list:
            pending.collector = ListCollector(response)
        else:
            self._settle(pending, response)

    @staticmethod
    def _settle(pending: _Pending, outcome: Response | ListResult | BaseException) -> None:
        if pending.future.done():
            return
        if isinstance(outcome, BaseException):
            pending.future.set_exception(outcome)
        else:
            pending.future.set_result(outcome)

    def _drop_connection(self, reason: str) -> None:
        self._connected.clear()
        self._set_down(reason)
        protocol, self._protocol = self._protocol, None
        if protocol is not None and not protocol.closed:
            protocol.transport.abort()
        for action_id, pending in list(self._pending.items()):
            note = "" if pending.idempotent else "; not re-sent, it may or may not have run"
            self._settle(
                pending,
                AMIConnectionLost(
                    f"{pending.name} (ActionID {action_id}): {reason}{note}", maybe_executed=True
                ),
            )
        self._pending.clear()

    def _set_down(self, reason: str) -> None:
        """Record that the link is not live; tell the subscribers once per outage."""
        if self._stopping and not self.link.live:
            return
        if self.link.live:
            self.link = LinkState(False, datetime.now(UTC), reason)
            self._dispatcher.put(self.link)
        elif reason != self.link.reason and not reason.startswith("connection lost"):
            # Keep when it went down; say the latest why (refused, permission denied...).
            self.link = LinkState(False, self.link.since, reason)
            self._dispatcher.put(self.link)

    def _set_live(self) -> None:
        self.link = LinkState(True, datetime.now(UTC))
        self._dispatcher.put(self.link)

    def _backoff(self, attempt: int, exc: BaseException | None) -> float:
        s = self.settings
        if isinstance(exc, AMIAuthError | AMIPermissionDenied):
            # A person must change manager.conf: retry, but do not hammer Asterisk's log.
            return random.uniform(s.refused_retry_s * 0.8, s.refused_retry_s)
        if isinstance(exc, ConnectionRefusedError):
            # Nobody listening (Asterisk stopped or restarting): a retry costs nothing, and
            # it makes the server live again within a fraction of a second of Asterisk.
            return random.uniform(s.backoff_min_s, max(s.backoff_min_s, 0.25))
        ceiling = min(s.backoff_max_s, s.backoff_min_s * (2**attempt))
        return max(s.backoff_min_s, random.uniform(ceiling / 2, ceiling))

    async def _supervise(self) -> None:
        attempt = 0
        said = ""  # the last failure logged: an outage is one warning, not five a second
        while not self._stopping:
            failure: BaseException | None = None
            try:
                resynced = await self._session()
                if resynced:
                    attempt = 0
                reason = "connection lost"
            except AMIAuthError as exc:
                log.error("%s", exc)
                self.last_error = failure = exc
                reason = f"login refused for user {self.settings.username!r}"
            except AMIPermissionDenied as exc:
                log.error(
                    "AMI at %s: %s: grant it to user %r in manager.conf",
                    self.address,
                    exc,
                    self.settings.username,
                )
                self.last_error = failure = exc
                reason = str(exc)
            except (OSError, RemoteProtocolError, AMIError, TimeoutError) as exc:
                self.last_error = failure = exc
                reason = _why(exc)
            except Exception as exc:
                # A bug must not end the connection for good with no word: say it, go on.
                log.exception("AMI at %s: the client failed; reconnecting", self.address)
                self.last_error = failure = exc
                reason = f"client error ({type(exc).__name__})"
                level = logging.DEBUG if reason == said else logging.WARNING
                log.log(level, "AMI at %s: %s: %s", self.address, type(exc).__name__, exc)
            self._drop_connection(reason)
            delay = self._backoff(attempt, failure)
            attempt += 1
            level = logging.DEBUG if reason == said else logging.INFO
            log.log(level, "AMI at %s: reconnecting in %.2f s (%s)", self.address, delay, reason)
            said = "" if failure is None else reason
            await asyncio.sleep(delay)

    async def _session(self) -> bool:
        """One connection's life; returns whether it got as far as a resync."""
        s = self.settings
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(s.action_timeout_s):
            _, protocol = await loop.create_connection(lambda: _Protocol(self), s.host, s.port)
        self._protocol = protocol
        self.connections += 1
        async with asyncio.timeout(s.action_timeout_s):
            await protocol.greeting
        await self._login(protocol)
        self._connected.set()
        log.info("AMI at %s: logged in as %r", self.address, s.username)
        watchdog = asyncio.create_task(self._watchdog(protocol), name="ami-ping-watchdog")
        try:
            await self._resync()
            await protocol.lost
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        return True

    async def _login(self, protocol: _Protocol) -> None:
        s = self.settings
        action_id = f"{self._prefix}-login-{next(self._ids)}"
        fields = [("Username", s.username), ("Secret", s.secret)]
        data = encode_action("Login", fields, action_id)
        try:
            await self._exchange("Login", action_id, data, True, s.action_timeout_s)
        except AMIError as exc:
            assert exc.response is not None
            raise AMIAuthError(s.username, exc.response) from None

    async def _resync(self) -> None:
        s = self.settings
        results: list[ListResult] = []
        started = datetime.now(UTC)
        for name in ("QueueStatus", "CoreShowChannels"):
            action_id = f"{self._prefix}-{next(self._ids)}"
            data = encode_action(name, (), action_id)
            result = await self._exchange(name, action_id, data, True, s.action_timeout_s)
            if not isinstance(result, ListResult):
                raise AMIError(f"{name} did not answer with a list", result)
            results.append(result)
        resync = Resync(started, list(results[0].events), list(results[1].events))
        self.last_resync = resync
        log.info(
            "AMI at %s: resynced (%d queue items, %d channels)",
            self.address,
            len(resync.queue_status),
            len(resync.channels),
        )
        self._dispatcher.put(resync)
        self._set_live()  # after the Resync in the dispatcher: "live" follows the rebuild

    async def _watchdog(self, protocol: _Protocol) -> None:
        s = self.settings
        while not protocol.closed:
            await asyncio.sleep(s.ping_interval_s)
            action_id = f"{self._prefix}-ping-{next(self._ids)}"
            data = encode_action("Ping", (), action_id)
            seen = protocol.received
            try:
                await self._exchange("Ping", action_id, data, True, s.ping_timeout_s)
            except AMITimeout:
                if protocol.received != seen:
                    continue  # bytes arrived (a burst ahead of the Pong): the link is alive
                log.error(
                    "AMI at %s: no Pong in %.1f s: connection dead, reconnecting",
                    self.address,
                    s.ping_timeout_s,
                )
                protocol.transport.abort()
                return
            except (AMIConnectionLost, AMIError):
                return


def _why(exc: BaseException) -> str:
    """A short reason for /health and the log: `connection refused`, `timed out`..."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
