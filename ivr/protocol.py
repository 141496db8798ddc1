"""FastAGI wire protocol, sans-IO: bytes in, typed replies out; commands in, bytes out.

Nothing here touches a socket, a clock or a logger. What the recordings (`07`, `11`, `12`
in `shared/asterisk-traces/`) show, and this module handles:

- Asterisk opens with an environment block: `agi_key: value` lines (LF ends), then an
  empty line. `agi_accountcode: ` has an empty value; an absent caller name is `unknown`.
- Each command gets one reply line `200 result=N`, maybe with `(data)` (`result=1
  (13805356789)`, `(O'Brien & Sons)`) and `key=value` extras (`endpos=0`);
  `WAIT FOR DIGIT` answers the ASCII code of the digit (`result=51` is `3`), `0` on timeout.
- `result=-1` is a hang-up *or* a missing prompt: the reply cannot tell them apart.
- An unsolicited `HANGUP` line can arrive between any two replies (11); the reply to the
  command in flight still follows it, and later commands on the dead channel answer `200`.
- `510 Invalid or unknown command`; `520-…` opens a multi-line usage reply that ends at the
  line `520 End of proper usage.`.

Lines are framed on raw bytes and decoded once each, whole; a value that is not UTF-8 costs
that value (U+FFFD), not the session. The buffer has a cap.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, TypeAlias

Header: TypeAlias = tuple[str, str]

DEFAULT_MAX_BUFFER_BYTES: Final = 64 * 1024
_REPLY: Final = re.compile(r"(\d{3})([ -])(.*)", re.DOTALL)
# `result=51`, `result=1 (13805356789)`, `result=-1 endpos=0`: the value, the optional data in
# parentheses, then `key=value` extras.
_RESULT: Final = re.compile(r"result=(\S*)(?: \((.*)\))?((?: [A-Za-z_]+=\S*)*)", re.DOTALL)
_FORBIDDEN: Final = re.compile(r"[\r\n\x00]")
_MAX_LINES: Final = 1000  # of an environment or a multi-line reply
_UNKNOWN: Final = "unknown"  # how Asterisk writes an absent caller ID or DNID in the env


class ProtocolError(Exception):
    """Base of the two protocol errors."""


class RemoteProtocolError(ProtocolError):
    """Asterisk (or whatever connected) broke the protocol: garbage, an over-long line."""


class LocalProtocolError(ProtocolError):
    """We were asked to send something invalid (CR, LF, NUL, or a quote in a quoted value)."""


@dataclass(frozen=True, slots=True)
class Environment:
    """The `agi_*` block that opens a FastAGI session; raw pairs kept in wire order."""

    headers: tuple[Header, ...]

    def get(self, key: str) -> str | None:
        """The value of `key` (`agi_callerid`), or None when the block does not have it."""
        for k, v in self.headers:
            if k == key:
                return v
        return None

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    @property
    def script(self) -> str | None:
        """The path of `agi://host:port/language-menu`: `language-menu`."""
        return self.get("agi_network_script")

    @property
    def uniqueid(self) -> str | None:
        """The channel's Uniqueid: the same as the queue caller's in `AgentCalled` (07)."""
        return self.get("agi_uniqueid")

    @property
    def channel(self) -> str | None:
        """The channel running the AGI (`Local/89000@ivr-00000008;2`)."""
        return self.get("agi_channel")

    @property
    def caller_number(self) -> str | None:
        """`agi_callerid`, or None when Asterisk wrote `unknown` or nothing."""
        value = self.get("agi_callerid")
        return None if not value or value == _UNKNOWN else value

    @property
    def caller_name(self) -> str | None:
        """`agi_calleridname`, or None when Asterisk wrote `unknown` or nothing."""
        value = self.get("agi_calleridname")
        return None if not value or value == _UNKNOWN else value


@dataclass(frozen=True, slots=True)
class Reply:
    """One reply to one command.

    `code` 200 (done), 510 (unknown command), 520 (usage: `usage` holds every line after the
    first, the last being `End of proper usage.`). For 200: `result` the text after
    `result=` (`51`, `-1`, `0`), `data` the text in parentheses, `extras` like
    `(("endpos", "0"),)`. `text` is the whole line after the code.
    """

    code: int
    text: str
    result: str | None = None
    data: str | None = None
    extras: tuple[Header, ...] = ()
    usage: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True for 200 (even `result=-1`: the command ran, the channel may be gone)."""
        return self.code == 200

    @property
    def failed(self) -> bool:
        """`result=-1`: a hang-up or a missing prompt; Asterisk does not say which."""
        return self.code == 200 and self.result == "-1"

    @property
    def digit(self) -> str | None:
        """The DTMF digit of `WAIT FOR DIGIT`/`STREAM FILE` (`result=51` → `3`), else None."""
        if self.code != 200 or self.result is None or not self.result.isdigit():
            return None
        code = int(self.result)
        if code <= 0 or code > 127:
            return None
        char = chr(code)
        return char if char in "0123456789*#ABCD" else None


@dataclass(frozen=True, slots=True)
class Hangup:
    """The unsolicited `HANGUP` line: the caller is gone (the reply in flight still comes)."""


@dataclass(frozen=True, slots=True)
class Closed:
    """Asterisk closed the connection after a whole line (nothing left half-read)."""


AGIEvent: TypeAlias = Environment | Reply | Hangup | Closed


def _decode(raw: bytes) -> str:
    # A GBK caller name from an old trunk costs that value, never the session.
    return raw.decode("utf-8", "replace")


def parse_reply_line(line: str) -> Reply | Hangup | None:
    """Parse one whole reply line. None when it opens a multi-line (`520-`) reply.

    Raises RemoteProtocolError for a line that is neither `HANGUP` nor `NNN text`.
    """
    if line == "HANGUP":
        return Hangup()
    match = _REPLY.fullmatch(line)
    if match is None:
        raise RemoteProtocolError(f"not an AGI reply: {line[:80]!r}")
    code, sep, text = int(match[1]), match[2], match[3]
    if sep == "-":
        return None
    if code != 200:
        return Reply(code=code, text=text)
    result = _RESULT.fullmatch(text)
    if result is None:
        return Reply(code=code, text=text)
    extras = tuple(
        (k, v) for k, _, v in (pair.partition("=") for pair in result[3].split(" ") if pair)
    )
    return Reply(code=code, text=text, result=result[1], data=result[2], extras=extras)


@dataclass(slots=True)
class AGIParser:
    """Incremental parser of what Asterisk sends a FastAGI script.

    `feed(bytes)` then `next_event()` (or iterate `events()`): first an `Environment`, then
    `Reply` and `Hangup` in wire order; `feed_eof()` makes the end a `Closed` event (or a
    RemoteProtocolError when it cuts a line or the environment). The same bytes fed whole,
    byte by byte or in random chunks give the same events. After a RemoteProtocolError every
    call raises it again: the connection must be dropped.
    """

    max_buffer_bytes: int = DEFAULT_MAX_BUFFER_BYTES
    _buffer: bytearray = field(default_factory=bytearray)
    _scan_from: int = 0
    _env: list[Header] | None = field(default_factory=list)
    _usage: list[str] | None = None
    _usage_code: int = 0
    _usage_text: str = ""
    _eof: bool = False
    _closed_given: bool = False
    _ready: deque[AGIEvent] = field(default_factory=deque)
    _error: RemoteProtocolError | None = None

    def feed(self, data: bytes) -> None:
        """Append bytes read from Asterisk. Raises RemoteProtocolError over the cap."""
        if self._error is not None:
            raise self._error
        if self._eof:
            raise RuntimeError("feed() after feed_eof()")
        buf = self._buffer
        buf += data
        # Only the line still open counts against the cap: whole lines go in next_event().
        cap = self.max_buffer_bytes
        if len(buf) > cap and len(buf) - (buf.rfind(b"\n") + 1) > cap:
            self._fail(f"no line end within {cap} bytes")

    def feed_eof(self) -> None:
        """Asterisk closed the connection."""
        self._eof = True

    def _fail(self, reason: str) -> None:
        self._error = RemoteProtocolError(reason)
        raise self._error

    def next_event(self) -> AGIEvent | None:
        """The next event, or None until more bytes are fed."""
        if self._error is not None:
            raise self._error
        while not self._ready:
            line = self._next_line()
            if line is None:
                return self._at_end()
            self._take(line)
        return self._ready.popleft()

    def events(self) -> Iterator[AGIEvent]:
        """Every event complete so far."""
        while (event := self.next_event()) is not None:
            yield event
            if isinstance(event, Closed):
                return

    def _next_line(self) -> str | None:
        buf = self._buffer
        end = buf.find(b"\n", self._scan_from)
        if end < 0:
            self._scan_from = len(buf)
            return None
        raw = bytes(buf[:end])
        del buf[: end + 1]
        self._scan_from = 0
        return _decode(raw.removesuffix(b"\r"))

    def _at_end(self) -> AGIEvent | None:
        if not self._eof or self._closed_given:
            return None
        if self._buffer:
            self._fail(f"connection closed mid-line: {bytes(self._buffer[:80])!r}")
        if self._env is not None:
            self._fail("connection closed before the end of the AGI environment")
        if self._usage is not None:
            self._fail("connection closed inside a multi-line reply")
        self._closed_given = True
        return Closed()

    def _take(self, line: str) -> None:
        try:
            if self._env is not None:
                self._take_env_line(self._env, line)
            elif self._usage is not None:
                self._take_usage_line(self._usage, line)
            else:
                reply = parse_reply_line(line)
                if reply is None:
                    opening = _REPLY.fullmatch(line)
                    assert opening is not None  # parse_reply_line checked it
                    self._usage_code, self._usage_text = int(opening[1]), opening[3]
                    self._usage = []
                else:
                    self._ready.append(reply)
        except RemoteProtocolError as exc:
            self._error = exc
            raise

    def _take_env_line(self, env: list[Header], line: str) -> None:
        if not line:
            self._env = None
            self._ready.append(Environment(headers=tuple(env)))
            return
        key, sep, value = line.partition(":")
        if not sep or not key or " " in key:
            raise RemoteProtocolError(f"not an AGI environment line: {line[:80]!r}")
        env.append((key, value.removeprefix(" ")))
        if len(env) > _MAX_LINES:
            raise RemoteProtocolError(f"AGI environment longer than {_MAX_LINES} lines")

    def _take_usage_line(self, usage: list[str], line: str) -> None:
        end = f"{self._usage_code} "
        if line.startswith(end):
            usage.append(line[len(end) :])
            code, text = self._usage_code, self._usage_text
            self._usage = None
            self._ready.append(Reply(code=code, text=text, usage=tuple(usage)))
        else:
            usage.append(line)
            if len(usage) > _MAX_LINES:
                raise RemoteProtocolError(f"{self._usage_code} reply without an end line")


# -- what we send ------------------------------------------------------------------------

_PROMPT: Final = re.compile(r"[A-Za-z0-9_/-]+")
_VARIABLE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\([A-Za-z0-9_]*\))?")
_ESCAPE_DIGITS: Final = re.compile(r"[0-9*#]*")


@dataclass(frozen=True, slots=True)
class Command:
    """One AGI command line, validated when built; `encode()` gives its bytes."""

    text: str

    def __post_init__(self) -> None:
        if _FORBIDDEN.search(self.text):
            raise LocalProtocolError(f"AGI command contains CR, LF or NUL: {self.text!r}")
        if not self.text:
            raise LocalProtocolError("empty AGI command")

    def encode(self) -> bytes:
        """The command as Asterisk reads it: UTF-8, one LF-terminated line."""
        return (self.text + "\n").encode("utf-8")

    @property
    def words(self) -> tuple[str, ...]:
        """The command split as Asterisk splits it (see `split_command`)."""
        return split_command(self.text)


def quote(value: str) -> str:
    """`value` in double quotes, as 07 sends it (`SET VARIABLE LANGSEL "ko"`).

    Raises LocalProtocolError for CR, LF, NUL, a double quote or a backslash: Asterisk would
    end the line or read an escape there, and nothing the menu sends needs them.
    """
    if _FORBIDDEN.search(value) or '"' in value or "\\" in value:
        raise LocalProtocolError(f"value not sendable in AGI quotes: {value!r}")
    return f'"{value}"'


def _checked(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise LocalProtocolError(f"invalid {what}: {value!r}")
    return value


def answer() -> Command:
    """`ANSWER` (11, 12)."""
    return Command("ANSWER")


def verbose(message: str, level: int = 1) -> Command:
    """`VERBOSE "message" 1` (07): a line on Asterisk's console."""
    return Command(f"VERBOSE {quote(message)} {int(level)}")


def wait_for_digit(timeout_ms: int) -> Command:
    """`WAIT FOR DIGIT 5000`: the digit's ASCII code, 0 on timeout, -1 on hang-up."""
    return Command(f"WAIT FOR DIGIT {int(timeout_ms)}")


def stream_file(prompt: str, escape_digits: str = "") -> Command:
    """`STREAM FILE name "123"` (12): play a prompt; a digit in `escape_digits` stops it."""
    name = _checked(_PROMPT, prompt, "prompt name")
    digits = _checked(_ESCAPE_DIGITS, escape_digits, "escape digits")
    return Command(f'STREAM FILE {name} "{digits}"')


def set_variable(name: str, value: str) -> Command:
    """`SET VARIABLE LANGSEL "ko"` (07). The name may be a function (`CHANNEL(language)`)."""
    return Command(f"SET VARIABLE {_checked(_VARIABLE, name, 'variable name')} {quote(value)}")


def get_variable(name: str) -> Command:
    """`GET VARIABLE CALLERID(num)` (07): `result=1 (value)`, `result=0` when unset."""
    return Command(f"GET VARIABLE {_checked(_VARIABLE, name, 'variable name')}")


def split_command(line: str) -> tuple[str, ...]:
    """Split a command line into words as Asterisk does: spaces separate, double quotes group
    (`SET VARIABLE CALLER_NOTE "O'Brien & Sons"` → 4 words), a backslash escapes one char."""
    words: list[str] = []
    current: list[str] = []
    quoted = escaped = started = False
    for char in line:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = started = True
        elif char == '"':
            quoted = not quoted
            started = True
        elif char in " \t" and not quoted:
            if started:
                words.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
    if started:
        words.append("".join(current))
    return tuple(words)


# -- Asterisk's side (the simulator and the test peer) ------------------------------------


def encode_environment(headers: tuple[Header, ...]) -> bytes:
    """The environment block as Asterisk writes it (LF lines, an empty line at the end)."""
    lines = []
    for key, value in headers:
        if _FORBIDDEN.search(key) or _FORBIDDEN.search(value) or ":" in key or not key:
            raise LocalProtocolError(f"invalid AGI environment line: {key!r}: {value!r}")
        lines.append(f"{key}: {value}\n")
    return ("".join(lines) + "\n").encode("utf-8")


def encode_reply(line: str) -> bytes:
    """One reply line (`200 result=51`, `HANGUP`) as Asterisk writes it."""
    if _FORBIDDEN.search(line):
        raise LocalProtocolError(f"AGI reply contains CR, LF or NUL: {line!r}")
    return (line + "\n").encode("utf-8")


@dataclass(slots=True)
class CommandReader:
    """Asterisk's side: frames the command lines a script sends (sans-IO, capped)."""

    max_line_bytes: int = 8 * 1024
    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> None:
        """Append bytes from the script; RemoteProtocolError past the cap without an LF."""
        self._buffer += data
        if len(self._buffer) > self.max_line_bytes and b"\n" not in self._buffer:
            raise RemoteProtocolError(f"no line end within {self.max_line_bytes} bytes")

    def commands(self) -> Iterator[str]:
        """Every whole command line fed so far, decoded."""
        while (end := self._buffer.find(b"\n")) >= 0:
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            yield _decode(raw.removesuffix(b"\r"))
