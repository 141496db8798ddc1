"""Asterisk's side of FastAGI: what the simulator (and `cti ivr try`, and the benchmark) play
against the IVR. Only the shapes of the recordings `07`, `11`, `12`:

- the environment block as in 07 (22 `agi_*` lines, `unknown` for an absent caller ID);
- `WAIT FOR DIGIT` → `200 result=51` for a 3 (the digit's ASCII code), `200 result=0` when
  the caller presses nothing, `200 result=-1` when they hang up, followed before the next
  reply by the unsolicited `HANGUP` line (11);
- `STREAM FILE` → `200 result=-1 endpos=0`: the prompt is not installed on a simulated
  Asterisk (12); the menu goes on to the digit wait, as on a real one without the prompts;
- `SET VARIABLE` → `200 result=1`; `GET VARIABLE` of something set → `200 result=1 (value)`;
  `ANSWER` → `200 result=0`; anything else → `510 Invalid or unknown command`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Final

from ivr.protocol import CommandReader, encode_environment, encode_reply, split_command

UNKNOWN: Final = "unknown"
HANGUP: Final = "hangup"  # a press that hangs up instead


@dataclass(frozen=True, slots=True)
class AgiCall:
    """One caller in the menu: who, the channel's Uniqueid, and a press per digit wait
    (`"3"`, None for no press within the wait, `"hangup"`)."""

    caller_number: str | None
    uniqueid: str
    presses: tuple[str | None, ...] = ()
    caller_name: str | None = None
    channel: str = "Local/89000@ivr-00000000;2"
    script: str = "language-menu"


def environment(call: AgiCall, host: str, port: int) -> bytes:
    """The environment block of 07 for `call`."""
    headers = (
        ("agi_network", "yes"),
        ("agi_network_script", call.script),
        ("agi_request", f"agi://{host}:{port}/{call.script}"),
        ("agi_channel", call.channel),
        ("agi_language", "en"),
        ("agi_type", call.channel.split("/", 1)[0]),
        ("agi_uniqueid", call.uniqueid),
        ("agi_version", "22.10.1"),
        ("agi_callerid", call.caller_number or UNKNOWN),
        ("agi_calleridname", call.caller_name or UNKNOWN),
        ("agi_callingpres", "0"),
        ("agi_callingani2", "0"),
        ("agi_callington", "0"),
        ("agi_callingtns", "0"),
        ("agi_dnid", UNKNOWN),
        ("agi_rdnis", UNKNOWN),
        ("agi_context", "ivr"),
        ("agi_extension", "89000"),
        ("agi_priority", "3"),
        ("agi_enhanced", "0.0"),
        ("agi_accountcode", ""),
        ("agi_threadid", "140078621660864"),
    )
    return encode_environment(headers)


@dataclass(slots=True)
class AsteriskSide:
    """Sans-IO: a command line in, the reply lines out; keeps the channel's variables."""

    call: AgiCall
    variables: dict[str, str] = field(default_factory=dict)
    hung_up: bool = False
    _presses: list[str | None] = field(default_factory=list)
    _hangup_due: bool = False

    def __post_init__(self) -> None:
        self._presses = list(self.call.presses)

    def answer(self, command: str) -> list[str]:
        """The lines Asterisk writes after `command` (maybe `HANGUP` first, as in 11)."""
        lines = ["HANGUP"] if self._hangup_due else []
        self._hangup_due = False
        return [*lines, self._reply(split_command(command))]

    def _reply(self, words: tuple[str, ...]) -> str:
        verb = tuple(w.upper() for w in words[:3])
        if verb == ("WAIT", "FOR", "DIGIT"):
            return self._wait_for_digit()
        if verb[:2] == ("STREAM", "FILE"):
            return "200 result=-1 endpos=0"
        if verb[:2] == ("SET", "VARIABLE") and len(words) == 4:
            self.variables[words[2]] = words[3]
            return "200 result=1"
        if verb[:2] == ("GET", "VARIABLE") and len(words) == 3:
            value = self._get(words[2])
            return f"200 result=1 ({value})" if value is not None else "200 result=0"
        if verb[:1] == ("ANSWER",) and len(words) == 1:
            return "200 result=0"
        if verb[:1] == ("VERBOSE",):
            return "200 result=1"
        return "510 Invalid or unknown command"

    def _get(self, name: str) -> str | None:
        if name == "CALLERID(num)":
            return self.call.caller_number
        return self.variables.get(name)

    def _wait_for_digit(self) -> str:
        if self.hung_up:
            return "200 result=-1"
        press = self._presses.pop(0) if self._presses else None
        if press == HANGUP:
            self.hung_up = self._hangup_due = True
            return "200 result=-1"
        if press is None:
            return "200 result=0"
        return f"200 result={ord(press)}"


@dataclass(frozen=True, slots=True)
class Transcript:
    """The session as it went: each command with the lines Asterisk answered, the variables
    the script set, and the seconds from connect to `SET VARIABLE QUEUE` (None if never)."""

    dialogue: tuple[tuple[str, tuple[str, ...]], ...]
    variables: dict[str, str]
    queue_set_after_s: float | None


async def call_menu(host: str, port: int, call: AgiCall, *, timeout_s: float = 30.0) -> Transcript:
    """Connect to the menu as Asterisk does and play `call` until the script closes."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    side = AsteriskSide(call)
    lines = CommandReader()
    dialogue: list[tuple[str, tuple[str, ...]]] = []
    queue_at: float | None = None
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(environment(call, host, port))
            while data := await reader.read(4096):
                lines.feed(data)
                for command in lines.commands():
                    if queue_at is None and command.startswith("SET VARIABLE QUEUE "):
                        queue_at = loop.time() - started
                    replies = side.answer(command)
                    dialogue.append((command, tuple(replies)))
                    writer.write(b"".join(encode_reply(r) for r in replies))
        except ConnectionError:
            pass
        finally:
            writer.close()
    return Transcript(tuple(dialogue), dict(side.variables), queue_at)
