"""The thin asyncio AMI server around the sans-IO PBX: sessions, login, the wall clock.

A restart (`restart()`) closes every socket with no goodbye and brings up a fresh PBX on the
same port, like `core restart now` in 10a/10b: dynamic queue members and waiting callers are
gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cti.ami import (
    Action,
    AMIParser,
    ProtocolError,
    encode_greeting,
    encode_headers,
)
from cti.sim.actions import handle, response
from cti.sim.channels import Headers
from cti.sim.ivr_arrivals import IvrArrivals
from cti.sim.load import Arrivals, LoadConfig
from cti.sim.pbx import CallerSpec, Pbx, PbxConfig
from cti.sim.seats import SeatPlan

log = logging.getLogger(__name__)

MAX_WRITE_BUFFER = 4 << 20  # a client this far behind is dropped, as Asterisk drops it


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything the simulator needs to run."""

    host: str = "127.0.0.1"
    port: int = 0
    username: str = "cti"
    secret: str = "ctisecret"
    pbx: PbxConfig = field(default_factory=PbxConfig)
    load: LoadConfig | None = None  # None: no calls unless placed by hand
    seats: tuple[SeatPlan, ...] = ()  # added as dynamic members when the PBX starts
    # A restart loses dynamic members (10b). True re-adds `seats` after every restart, as an
    # operator's script would; False (the recordings' behaviour) leaves the queues empty.
    reseat_on_restart: bool = False
    # The CTI server's FastAGI menu (host, port): callers walk it before their queue.
    ivr: tuple[str, int] | None = None
    # Simulated seconds per real second: 20.0 runs a few minutes of the centre in seconds
    # (talk, patience, ring timeouts and HoldTime are all on the PBX clock).
    time_scale: float = 1.0


@dataclass(eq=False, slots=True)
class _Session:
    writer: asyncio.StreamWriter
    authed: bool = False
    events: bool = True


def scaled(clock: Callable[[], float], scale: float) -> Callable[[], float]:
    """A clock that starts at `clock()` and runs `scale` times as fast."""
    start = clock()
    return lambda: start + (clock() - start) * scale


def _timestamp(at: float) -> str:
    stamp = datetime.fromtimestamp(at, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"


class SimServer:
    """An AMI server over a simulated PBX. `async with SimServer(config) as sim: ...`"""

    def __init__(self, config: SimConfig, clock: Callable[[], float] = time.time) -> None:
        if config.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.config = config
        self.clock = scaled(clock, config.time_scale) if config.time_scale != 1.0 else clock
        self.pbx = Pbx(config.pbx, self.clock())
        self.arrivals: Arrivals | None = None
        self._server: asyncio.Server | None = None
        self._sessions: set[_Session] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._port = config.port
        self._started_once = False

    @property
    def port(self) -> int:
        """The bound port (after `start`)."""
        return self._port

    @property
    def sessions(self) -> int:
        """Connected clients."""
        return len(self._sessions)

    async def start(self) -> None:
        """Bind, bring up a fresh PBX and start its clock."""
        self.pbx = Pbx(self.config.pbx, self.clock())
        if not self._started_once or self.config.reseat_on_restart:
            for seat in self.config.seats:
                self.pbx.add_member(seat.queue, seat.interface, seat.seat)
            self._started_once = True
        if self.config.load is not None and self.config.ivr is not None:
            self.arrivals = IvrArrivals(self.pbx, self.config.load, self.config.ivr, self._wake.set)
            self.arrivals.start()
        elif self.config.load is not None:
            self.arrivals = Arrivals(self.pbx, self.config.load)
            self.arrivals.start()
        self._server = await asyncio.start_server(
            self._serve, self.config.host, self._port, reuse_address=True
        )
        self._port = self._server.sockets[0].getsockname()[1]
        self._ticker = asyncio.create_task(self._tick(), name="sim-clock")
        log.info("simulator listening on %s:%d", self.config.host, self._port)

    async def stop(self) -> None:
        """Close every socket at once (no goodbye) and stop the clock."""
        if isinstance(self.arrivals, IvrArrivals):
            self.arrivals.stop()  # callers in the menu are gone with the PBX
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.writer.transport.abort()
        self._sessions.clear()
        if self._tasks:
            # Aborted sockets end their readers; cancelling a client_connected_cb task
            # instead makes Python 3.11 log the CancelledError as unhandled.
            _, late = await asyncio.wait(list(self._tasks), timeout=2.0)
            for task in late:
                task.cancel()
        if self._server is not None:
            # Python 3.11's wait_closed() also waits for connections accepted but not yet
            # served (a client reconnecting at that moment): bounded, so a stop never hangs.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self._server.wait_closed()
            self._server = None

    async def restart(self) -> None:
        """Stop and start again on the same port, with a PBX that remembers nothing."""
        await self.stop()
        await self.start()

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_arrivals(self, load: LoadConfig) -> None:
        """Callers start arriving now with `load` (after the clients are in place), in place
        of any load generator already running."""
        self.stop_arrivals()
        self._advance()
        self.arrivals = Arrivals(self.pbx, load)
        self.arrivals.start()
        self._wake.set()

    def stop_arrivals(self) -> None:
        """The load generator places no more calls; those placed go on to their end."""
        if self.arrivals is not None:
            self.arrivals.stop()

    def drained(self) -> bool:
        """No call is in the PBX (after `stop_arrivals`: the run is over)."""
        return not self.pbx.calls

    def place_call(self, spec: CallerSpec) -> None:
        """A caller dials in now (for tests and the demo)."""
        self._advance()
        self._broadcast(self.pbx.place_call(spec))
        self._wake.set()

    # -- clock -------------------------------------------------------------------------

    def _advance(self) -> None:
        self._broadcast(self.pbx.advance(self.clock()))

    async def _tick(self) -> None:
        while True:
            self._advance()
            due = self.pbx.next_due()
            # PBX seconds to real ones; wake at least every real second.
            ahead = 1.0 if due is None else max(0.0, due - self.clock()) / self.config.time_scale
            wait = min(1.0, ahead)
            self._wake.clear()
            # Not wait_for: on Python 3.11 it can swallow the stop's cancel when the wake-up
            # lands at the same moment, and the clock then runs (and stop() waits) forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    # -- sessions ----------------------------------------------------------------------

    def _broadcast(self, events: Iterable[Headers]) -> None:
        listeners = [s for s in self._sessions if s.authed and s.events]
        if not listeners:
            return
        data = b"".join(encode_headers(e) for e in events)
        if not data:
            return
        for session in listeners:
            transport = session.writer.transport
            if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
                log.warning("dropping a client %d bytes behind", transport.get_write_buffer_size())
                transport.abort()
                self._sessions.discard(session)
                continue
            session.writer.write(data)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        session = _Session(writer)
        self._sessions.add(session)
        try:
            writer.write(encode_greeting())
            parser = AMIParser(expect_greeting=False)
            while data := await reader.read(65536):
                parser.feed(data)
                for message in parser.messages():
                    if isinstance(message, Action) and not self._answer(session, message):
                        self._sessions.discard(session)
                        await writer.drain()
                        writer.close()
                        return
                await writer.drain()
        except (ConnectionError, ProtocolError) as exc:
            log.info("client dropped: %s", exc)
        finally:
            self._sessions.discard(session)
            if task is not None:
                self._tasks.discard(task)
            if not writer.is_closing():
                writer.transport.abort()

    def _answer(self, session: _Session, action: Action) -> bool:
        """Reply to one action; False when the session must end."""
        name = action.name.lower()
        write = session.writer.write
        if name == "login":
            return self._login(session, action)
        if name == "logoff":
            write(
                encode_headers(response(action, "Goodbye", ("Message", "Thanks for all the fish.")))
            )
            return False
        if not session.authed:
            write(encode_headers(response(action, "Error", ("Message", "Permission denied"))))
            return True
        if name == "events":
            session.events = (action.get("EventMask") or "on").lower() != "off"
            write(
                encode_headers(
                    response(action, "Success", ("Events", "On" if session.events else "Off"))
                )
            )
            return True
        self._advance()
        result = handle(self.pbx, action)
        write(b"".join(encode_headers(m) for m in result.reply))
        self._broadcast(result.events)
        self._wake.set()
        return True

    def _login(self, session: _Session, action: Action) -> bool:
        write = session.writer.write
        if (
            action.get("Username") != self.config.username
            or action.get("Secret") != self.config.secret
        ):
            # 06-bad-login: the reply, then Asterisk ends the session.
            write(encode_headers(response(action, "Error", ("Message", "Authentication failed"))))
            return False
        session.authed = True
        write(encode_headers(response(action, "Success", ("Message", "Authentication accepted"))))
        now = self.clock()
        uptime = str(int(now - self.pbx.booted_at))
        peer = session.writer.get_extra_info("peername") or ("127.0.0.1", 0)
        local = session.writer.get_extra_info("sockname") or ("127.0.0.1", self._port)
        stamp = _timestamp(now)
        write(
            encode_headers(
                (
                    ("Event", "FullyBooted"),
                    ("Privilege", "system,all"),
                    ("Uptime", uptime),
                    ("LastReload", uptime),
                    ("Status", "Fully Booted"),
                )
            )
        )
        write(
            encode_headers(
                (
                    ("Event", "SuccessfulAuth"),
                    ("Privilege", "security,all"),
                    ("EventTV", stamp),
                    ("Severity", "Informational"),
                    ("Service", "AMI"),
                    ("EventVersion", "1"),
                    ("AccountID", self.config.username),
                    ("SessionID", f"0x{id(session):x}"),
                    ("LocalAddress", f"IPV4/TCP/{local[0]}/{local[1]}"),
                    ("RemoteAddress", f"IPV4/TCP/{peer[0]}/{peer[1]}"),
                    ("UsingPassword", "0"),
                    ("SessionTV", stamp),
                )
            )
        )
        return True
