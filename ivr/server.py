"""The FastAGI server (asyncio): it only moves bytes between Asterisk and `LanguageMenu`.

`agi://HOST:PORT/language-menu` in the dialplan; one TCP connection per call. Each session:
read the environment, recognise the caller (the locator, in memory), then command → reply
until the menu is finished, remember what it learnt for the pop, close. A hang-up at any
point ends the session cleanly with one log line and no traceback; so do a connection reset,
a protocol error and a session that outlasts `session_timeout_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import time
from dataclasses import dataclass
from typing import Final

from ivr.menu import Finished, LanguageMenu, Learnt
from ivr.notes import IvrNotes
from ivr.protocol import (
    AGIParser,
    Closed,
    Command,
    Environment,
    Hangup,
    LocalProtocolError,
    RemoteProtocolError,
    Reply,
)
from ivr.recognise import Recognise, nobody
from locator import mask_number

log = logging.getLogger(__name__)

SCRIPT: Final = "language-menu"
_READ_BYTES: Final = 4096


class _Gone(Exception):
    """Asterisk closed the connection or reset it."""


@dataclass(frozen=True, slots=True)
class SessionResult:
    """How one session ended (for the log, the tests and the benchmark)."""

    call_id: str | None
    finished: Finished | None
    error: str | None = None


class IvrServer:
    """Serves the language menu over FastAGI. `start()` binds, `stop()` closes everything."""

    def __init__(
        self,
        recognise: Recognise = nobody,
        notes: IvrNotes | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 4573,
        session_timeout_s: float = 300.0,
        digit_timeout_ms: int = 5000,
        prompt_root: str = "",
    ) -> None:
        self.notes = notes if notes is not None else IvrNotes()
        self._recognise = recognise
        self._host = host
        self._port = port
        self._session_timeout_s = session_timeout_s
        self._digit_timeout_ms = digit_timeout_ms
        self._prompt_root = prompt_root
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[object]] = set()
        self.sessions_served = 0

    @property
    def port(self) -> int:
        """The port listened on (the real one when started with port 0)."""
        if self._server is None:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def listening(self) -> bool:
        """True once bound (and until stopped)."""
        return self._server is not None

    async def start(self) -> None:
        """Listen. Raises OSError when the port cannot be bound."""
        self._server = await asyncio.start_server(self._accept, self._host, self._port)
        log.info("ivr: FastAGI listening on %s:%d/%s", self._host, self.port, SCRIPT)

    async def serve(self, *, retry_s: float = 5.0) -> None:
        """Listen until cancelled, binding again every `retry_s` while the port is taken.

        A taken port must not take the pops down with it: Asterisk's `AGI()` fails meanwhile
        and the dialplan's fallback sends callers to the Chinese queue.
        """
        try:
            failures = 0
            while self._server is None:
                try:
                    await self.start()
                except OSError as exc:
                    if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                        raise
                    if failures == 0:  # once, not every retry
                        log.error(
                            "ivr: cannot listen on %s:%d (%s); retrying every %g s",
                            self._host,
                            self._port,
                            exc.strerror,
                            retry_s,
                        )
                    failures += 1
                    await asyncio.sleep(retry_s)
            await asyncio.Future()  # until cancelled
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Stop listening and end the sessions in progress."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._sessions):
            task.cancel()
        if self._sessions:
            await asyncio.gather(*self._sessions, return_exceptions=True)
        if server is not None:
            with contextlib.suppress(Exception):
                await server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            await self.session(reader, writer)
        finally:
            self._sessions.discard(task)

    async def session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> SessionResult:
        """Serve one FastAGI connection to its end; never raises for what the peer does."""
        started = time.perf_counter()
        parser = AGIParser()
        call_id: str | None = None
        try:
            # One deadline for the whole session, not one timer per reply (a timer per read
            # cost a tenth of the server's time under load): the longest honest menu is four
            # rounds of prompts and 5 s waits, well inside it.
            async with asyncio.timeout(self._session_timeout_s):
                env = await self._next(reader, parser)
                if not isinstance(env, Environment):
                    raise RemoteProtocolError("no AGI environment")
                call_id = env.uniqueid
                if env.script != SCRIPT:
                    log.warning("ivr: call=%s asked for unknown script %r", call_id, env.script)
                    return SessionResult(call_id, None, f"unknown script {env.script!r}")
                finished = await self._menu(env, reader, writer, parser)
            self._log(env, finished, time.perf_counter() - started)
            return SessionResult(call_id, finished)
        except (_Gone, ConnectionError):
            log.info("ivr: call=%s connection closed by Asterisk before the menu ended", call_id)
            return SessionResult(call_id, None, "connection closed")
        except TimeoutError:
            log.warning(
                "ivr: call=%s session not over within %.0f s", call_id, self._session_timeout_s
            )
            return SessionResult(call_id, None, "timeout")
        except (RemoteProtocolError, LocalProtocolError) as exc:
            log.warning("ivr: call=%s protocol error: %s", call_id, exc)
            return SessionResult(call_id, None, str(exc))
        finally:
            self.sessions_served += 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _menu(
        self,
        env: Environment,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        parser: AGIParser,
    ) -> Finished:
        menu = LanguageMenu(
            self._recognise(env.caller_number),
            digit_timeout_ms=self._digit_timeout_ms,
            prompt_root=self._prompt_root,
        )
        step = menu.start()
        call_id = env.uniqueid
        debug = log.isEnabledFor(logging.DEBUG)
        while isinstance(step, Command):
            writer.write(step.encode())
            await writer.drain()
            event = await self._next(reader, parser)
            if debug:
                log.debug("ivr: call=%s >>> %s <<< %s", call_id, step.text, event)
            if isinstance(event, Reply | Hangup):
                step = menu.send(event)
                continue
            raise RemoteProtocolError(f"unexpected {type(event).__name__} after a command")
        if step.learnt is not None and call_id is not None:
            self.notes.remember(call_id, step.learnt)
        return step

    async def _next(
        self, reader: asyncio.StreamReader, parser: AGIParser
    ) -> Environment | Reply | Hangup:
        while True:
            event = parser.next_event()
            if isinstance(event, Closed):
                raise _Gone
            if event is not None:
                return event
            data = await reader.read(_READ_BYTES)
            if data:
                parser.feed(data)
            else:
                parser.feed_eof()

    def _log(self, env: Environment, finished: Finished, took_s: float) -> None:
        caller = mask_number(env.caller_number) if env.caller_number else "unknown"
        if finished.refused is not None:
            log.warning(
                "ivr: call=%s caller=%s Asterisk refused a command: %s",
                env.uniqueid,
                caller,
                finished.refused,
            )
            return
        learnt = finished.learnt
        if learnt is None:
            log.info("ivr: call=%s caller=%s hung up in the menu", env.uniqueid, caller)
            return
        log.info(
            "ivr: call=%s caller=%s %s → %s %s prio=%d%s%s (%.1f s)",
            env.uniqueid,
            caller,
            learnt.how,
            learnt.language,
            learnt.queue,
            learnt.priority,
            f" residents={len(learnt.resident_ids)}" if learnt.resident_ids else "",
            " (hung up)" if finished.hung_up else "",
            took_s,
        )


def describe(learnt: Learnt | None) -> str:
    """`ko q-ko prio 10 (recognised)` for a log or a CLI line."""
    if learnt is None:
        return "nothing set"
    return f"{learnt.language} {learnt.queue} prio {learnt.priority} ({learnt.how})"
