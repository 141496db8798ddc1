"""AMI wire protocol, sans-IO: bytes in, typed messages out; actions in, bytes out.

Nothing here touches a socket, a clock or a logger. Framing happens on raw bytes (a message
ends at the first blank line); UTF-8 is decoded once per whole message, never per read, so a
caller name split across TCP reads survives (panoramisk decodes each read with errors
ignored and loses it). A header value that is not UTF-8 (a GBK caller name from an old
trunk) is decoded with U+FFFD in place of its bad bytes: it costs that value, not the
connection.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeAlias

Header: TypeAlias = tuple[str, str]

GREETING_PREFIX: Final = b"Asterisk Call Manager/"
DEFAULT_MAX_MESSAGE_BYTES: Final = 1 << 20
_END_COMMAND: Final = "--END COMMAND--"
# A message ends at an empty line. Asterisk writes CRLF; a bare LF is accepted too because
# the server-side parser also reads hand-typed or LF-only clients.
_MESSAGE_END: Final = re.compile(rb"\r?\n\r?\n")
_FORBIDDEN_IN_ACTION: Final = re.compile(r"[\r\n\x00]")


class ProtocolError(Exception):
    """Base of the two protocol errors."""


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol (garbage, an over-long message, no headers)."""


class LocalProtocolError(ProtocolError):
    """We were asked to send something invalid (CR, LF or NUL in a key or value)."""


def _find(headers: tuple[Header, ...], key: str) -> str | None:
    lowered = key.lower()
    for k, v in headers:
        if k.lower() == lowered:
            return v
    return None


@dataclass(frozen=True, slots=True)
class _Headers:
    """Raw header list in wire order, with case-insensitive lookups (AMI keys are).

    Lookups go through two indexes built on first use (the message is frozen, so they never
    go stale): the keys as written — Asterisk and our code spell them alike, and `dict()`
    builds it in C — and, on a miss there, the keys lowercased. The first of a repeated
    key wins, as in a scan.
    """

    headers: tuple[Header, ...]
    _exact: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)
    _folded: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    def _value(self, key: str) -> str | None:
        exact = self._exact
        if exact is None:
            exact = dict(reversed(self.headers))
            object.__setattr__(self, "_exact", exact)
        value = exact.get(key)
        if value is not None:
            return value
        folded = self._folded
        if folded is None:
            folded = {k.lower(): v for k, v in reversed(self.headers)}
            object.__setattr__(self, "_folded", folded)
        return folded.get(key.lower())

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of `key`, or `default` when absent. Never a silent ''."""
        value = self._value(key)
        return default if value is None else value

    def __getitem__(self, key: str) -> str:
        value = self._value(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._value(key) is not None

    def get_all(self, key: str) -> list[str]:
        """Every value of a repeated key (`ChanVariable`, `Variable`), in wire order."""
        lowered = key.lower()
        return [v for k, v in self.headers if k.lower() == lowered]

    @property
    def action_id(self) -> str | None:
        """The ActionID this message answers or belongs to, if any."""
        return self._value("ActionID")


@dataclass(frozen=True, slots=True)
class Greeting:
    """The first line Asterisk sends: `Asterisk Call Manager/11.0.0`."""

    version: str


@dataclass(frozen=True, slots=True)
class Response(_Headers):
    """A `Response:` message: Success, Error (reason in `message`), Follows or Goodbye."""

    status: str = ""
    message: str | None = None
    output: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True for Success/Follows/Goodbye, False for Error (and anything unknown)."""
        return self.status in ("Success", "Follows", "Goodbye")

    @property
    def starts_list(self) -> bool:
        """True when a list of events follows (`EventList: start`)."""
        return (self.get("EventList") or "").lower() == "start"


@dataclass(frozen=True, slots=True)
class Event(_Headers):
    """An `Event:` message; `name` is the event type (`AgentCalled`, `Hangup`...)."""

    name: str = ""

    @property
    def completes_list(self) -> bool:
        """True for the `...Complete` event that closes a list action."""
        return (self.get("EventList") or "").lower() == "complete"


@dataclass(frozen=True, slots=True)
class Action(_Headers):
    """An `Action:` message as a server (our test peer, the simulator) reads it."""

    name: str = ""


Message: TypeAlias = Greeting | Response | Event | Action


# Asterisk repeats the same header lines all day (`Privilege: call,all`, `Context: agents`,
# `ChannelState: 6`): 99% of the lines in the 60-call burst recurred. A bounded memo of the
# pure line -> (key, value) split lets the fast path turn a whole message into pairs with one
# C-level map() of dict lookups.
_LINE_CACHE: Final[dict[str, Header]] = {}
_LINE_CACHE_MAX: Final = 16384
_LINE_CACHE_MAX_LINE: Final = 160  # longer lines are rarely repeated; keeps the memo small
# bytes.strip() strips exactly these; str.strip() would strip Unicode spaces as well.
_ASCII_SPACE: Final = " \t\n\r\x0b\x0c"


def _headers_crlf(text: str) -> tuple[Header, ...] | None:
    """Fast path for what Asterisk writes: CRLF lines, each `Key: value`.

    None when any line is unusual (no ": ", a key with a space or colon), for the general
    loop, which also keeps output lines.
    """
    lines = text.split("\r\n")
    cache = _LINE_CACHE
    headers = list(map(cache.get, lines))
    if None in headers:
        if len(cache) >= _LINE_CACHE_MAX:
            cache.clear()
        for i, header in enumerate(headers):
            if header is None:
                line = lines[i]
                key, sep, value = line.partition(": ")
                if not sep or not key or ":" in key or " " in key:
                    return None
                headers[i] = (key, value)
                if len(line) <= _LINE_CACHE_MAX_LINE:
                    cache[line] = (key, value)
    return tuple(headers)  # type: ignore[arg-type]  # no None left


def _split_headers(text: str) -> tuple[tuple[Header, ...], tuple[str, ...]]:
    headers: list[Header] = []
    output: list[str] = []
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        key, sep, value = line.partition(":")
        if sep and key and " " not in key:
            headers.append((key, value[1:] if value.startswith(" ") else value))
        elif line:
            output.append(line)
    return tuple(headers), tuple(output)


def _build(
    text: str, headers: tuple[Header, ...], output: tuple[str, ...]
) -> Response | Event | Action:
    if not headers:
        raise RemoteProtocolError(f"message without headers: {text[:80]!r}")
    key, value = headers[0]
    kind = key.lower()
    if kind == "event":
        return Event(headers=headers, name=value)
    if kind == "response":
        lines = tuple(line for line in output if line != _END_COMMAND)
        return Response(
            headers=headers, status=value, message=_find(headers, "Message"), output=lines
        )
    if kind == "action":
        return Action(headers=headers, name=value)
    raise RemoteProtocolError(f"message starts with unknown key {key!r}")


def _parse_text(text: str) -> Response | Event | Action:
    if "\r\n" in text and text.count("\n") == text.count("\r\n"):
        headers = _headers_crlf(text)
        if headers is not None:
            return _build(text, headers, ())
    return _build(text, *_split_headers(text))


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # Old trunks send GBK or Latin-1 caller names; one such name must cost that header
        # value, never the message or the connection (the same channel returns in every
        # resync, so a rejected message would drop the client in a loop). Each bad byte
        # becomes U+FFFD, visibly. Decoding the whole message with replacement changes only
        # the values holding bad bytes: a replaced sequence never takes in an ASCII byte, so
        # every CR, LF and ": " stays where it was.
        return raw.decode("utf-8", "replace")


def parse_message(raw: bytes) -> Response | Event | Action:
    """Turn one framed message (without its blank line) into a typed message.

    A header value that is not UTF-8 is decoded with U+FFFD for each bad byte (the rest of
    the message is untouched). Raises RemoteProtocolError when the message is none of
    Response, Event or Action.
    """
    return _parse_text(_decode(raw))


@dataclass(slots=True)
class AMIParser:
    """Incremental AMI parser: `feed(bytes)` then iterate `messages()`.

    `expect_greeting` is True on the client side (Asterisk's first line has no blank line
    after it) and False on the server side, where the peer reads actions.
    Feeding the same bytes whole, byte by byte or in random chunks gives the same messages.
    After a RemoteProtocolError the messages framed before the bad one are still given out,
    then the error is raised again on every call: the connection must be dropped.
    """

    expect_greeting: bool = True
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    _buffer: bytearray = field(default_factory=bytearray)
    _scan_from: int = 0
    _ready: deque[Response | Event | Action] = field(default_factory=deque)
    _error: RemoteProtocolError | None = None
    _general_only: bool = False

    def feed(self, data: bytes) -> None:
        """Append bytes read from the peer. Raises RemoteProtocolError over the cap."""
        if self._error is not None:
            raise self._error
        self._buffer += data
        if len(self._buffer) > self.max_message_bytes:
            self._check_cap()

    def _check_cap(self) -> None:
        buf = self._buffer
        last_end = max(buf.rfind(b"\n\r\n"), buf.rfind(b"\n\n"))
        if len(buf) - (last_end + 1) > self.max_message_bytes:
            self._error = RemoteProtocolError(
                f"no message end within {self.max_message_bytes} bytes"
            )
            raise self._error

    def next_message(self) -> Message | None:
        """The next complete message, or None until more bytes are fed."""
        if self._ready:
            return self._ready.popleft()
        if self._error is not None:
            raise self._error
        try:
            if self.expect_greeting:
                return self._next_greeting()
            if not self._general_only:
                framed = self._frame_block()
                if framed is None:
                    return None
                if framed:
                    return self.next_message()
            return self._next_one()
        except RemoteProtocolError as exc:
            self._error = exc
            raise

    def _next_greeting(self) -> Greeting | None:
        buf = self._buffer
        end = buf.find(b"\n")
        if end < 0:
            return None
        line = bytes(buf[:end]).rstrip(b"\r")
        del buf[: end + 1]
        self.expect_greeting = False
        if not line.startswith(GREETING_PREFIX):
            raise RemoteProtocolError(f"not an AMI greeting: {line[:80]!r}")
        return Greeting(version=line[len(GREETING_PREFIX) :].decode("ascii", "replace"))

    def _frame_block(self) -> bool | None:
        """Fast path: take every complete message buffered so far in one cut.

        Only when the buffered bytes use CRLF throughout (as Asterisk writes) and hold no
        old-style `Response: Follows` output; then a message ends exactly at CRLF CRLF, and
        the whole run of complete messages is cut and split in C. Returns None when no
        message end is buffered yet, False to leave the buffer to the general path (bare LF,
        Follows), which after a bare LF is used for good so that no buffer is scanned twice.
        """
        buf = self._buffer
        # No message end lies wholly before _scan_from: resume just before it.
        start = max(0, self._scan_from - 3)
        end = buf.rfind(b"\r\n\r\n", start)
        if end < 0:
            if buf.find(b"\n\n", start) < 0 and buf.find(b"\n\r\n", start) < 0:
                # No message end of any kind yet (every end holds one of the two).
                self._scan_from = len(buf)
                if len(buf) > self.max_message_bytes:
                    self._check_cap()
                return None
            return False
        block = bytes(buf[:end])
        if block.count(b"\n") != block.count(b"\r\n") or buf[end - 1 : end] == b"\n":
            self._general_only = True
            return False
        if b"Response: Follows" in block:
            return False
        del buf[: end + 4]
        self._scan_from = 0
        ready = self._ready
        try:
            for raw in block.split(b"\r\n\r\n"):
                # Decoded one message at a time: an ASCII message stays a compact str even
                # when its neighbour holds a Chinese caller name.
                text = _decode(raw)
                headers = _headers_crlf(text)
                if headers is not None and headers[0][0] == "Event":
                    ready.append(Event(headers=headers, name=headers[0][1]))
                elif headers is not None:
                    ready.append(_build(text, headers, ()))
                elif text.strip(_ASCII_SPACE):
                    ready.append(_parse_text(text))
        except RemoteProtocolError as exc:
            # Give out what came before the bad message, then the error.
            self._error = exc
        return True

    def _next_one(self) -> Message | None:
        buf = self._buffer
        # Resume a little before where the last search stopped: a message end may have
        # been cut by the previous read.
        pos = max(0, self._scan_from - 3)
        while True:
            match = _MESSAGE_END.search(buf, pos)
            if match is None:
                self._scan_from = len(buf)
                if len(buf) > self.max_message_bytes:
                    self._check_cap()
                return None
            start = match.start()
            raw = bytes(buf[:start])
            if raw.startswith(b"Response: Follows") and _END_COMMAND.encode() not in raw:
                # Old-style command output may hold blank lines; it ends at --END COMMAND--.
                pos = match.end()
                continue
            del buf[: match.end()]
            self._scan_from = pos = 0
            if raw.strip():
                return parse_message(raw)

    def messages(self) -> Iterator[Message]:
        """Every complete message buffered so far."""
        while (message := self.next_message()) is not None:
            yield message

    @property
    def buffered(self) -> int:
        """Bytes held waiting for a message end."""
        return len(self._buffer)


def _check(text: str, what: str) -> str:
    if _FORBIDDEN_IN_ACTION.search(text):
        raise LocalProtocolError(f"{what} contains CR, LF or NUL: {text!r}")
    return text


def encode_headers(headers: Iterable[Header]) -> bytes:
    """Encode headers as one AMI message (CRLF lines, blank-line end).

    Raises LocalProtocolError if a key or value holds CR, LF or NUL, or a key is empty or
    holds a colon: that is how AMI command injection happens.
    """
    lines = []
    for key, value in headers:
        _check(key, "header key")
        if not key or ":" in key:
            raise LocalProtocolError(f"invalid header key: {key!r}")
        lines.append(f"{key}: {_check(str(value), f'value of {key}')}\r\n")
    try:
        return ("".join(lines) + "\r\n").encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"action is not encodable as UTF-8: {exc}") from None


def encode_action(
    name: str,
    fields: Mapping[str, str] | Iterable[Header] = (),
    action_id: str | None = None,
) -> bytes:
    """Encode an action; repeated keys (several `Variable`) are given as a list of pairs."""
    items: Iterable[Header] = fields.items() if isinstance(fields, Mapping) else fields
    headers: list[Header] = [("Action", name)]
    if action_id is not None:
        headers.append(("ActionID", action_id))
    headers.extend((k, v) for k, v in items if k.lower() not in ("action", "actionid"))
    return encode_headers(headers)


def encode_greeting(version: str = "11.0.0") -> bytes:
    """The server's first line, for the test peer and the simulator."""
    return GREETING_PREFIX + version.encode("ascii") + b"\r\n"
