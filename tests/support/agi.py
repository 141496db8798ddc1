"""The FastAGI recordings (`*.agi`) split into Asterisk's bytes and the script's commands."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ivr.protocol import AGIEvent, AGIParser, CommandReader, split_command
from tests.conftest import TRACES


@dataclass(frozen=True, slots=True)
class AgiTrace:
    """One recorded session: every command the script sent, and what Asterisk sent in between.

    `asterisk[0]` is the environment block; `asterisk[i]` (i ≥ 1) is what came after
    `commands[i - 1]`: its reply, with an unsolicited `HANGUP` line where there was one.
    """

    commands: tuple[str, ...]
    asterisk: tuple[bytes, ...]

    @property
    def server_bytes(self) -> bytes:
        """Everything Asterisk sent, in order."""
        return b"".join(self.asterisk)


def load_agi_trace(path: Path) -> AgiTrace:
    """Split a `.agi` recording on its `>>> ` lines."""
    commands: list[str] = []
    chunks: list[bytes] = [b""]
    for line in path.read_bytes().splitlines(keepends=True):
        if line.startswith(b">>> "):
            commands.append(line[4:].rstrip(b"\n").decode("utf-8"))
            chunks.append(b"")
        else:
            chunks[-1] += line
    return AgiTrace(tuple(commands), tuple(chunks))


def parse_chunks(data: bytes, sizes: list[int] | None = None, step: int = 0) -> list[AGIEvent]:
    """Every event of `data` fed whole (default), in `step`-byte reads, or in `sizes` reads."""
    parser = AGIParser()
    events: list[AGIEvent] = []
    pieces: list[bytes]
    if step:
        pieces = [data[i : i + step] for i in range(0, len(data), step)]
    elif sizes:
        pieces, pos, i = [], 0, 0
        while pos < len(data):
            size = sizes[i % len(sizes)]
            pieces.append(data[pos : pos + size])
            pos += size
            i += 1
    else:
        pieces = [data]
    for piece in pieces:
        parser.feed(piece)
        events.extend(parser.events())
    parser.feed_eof()
    events.extend(parser.events())
    return events


Answer = Callable[[str], list[str]]


# The environment block of 07, as the sessions open (caller 13805356789, uniqueid ...860.17).
ENV_07 = load_agi_trace(TRACES / "07-fastagi-language-menu.agi").asterisk[0]


def keys(*presses: str | None) -> Answer:
    """Asterisk's answers: prompts missing (as 12), each WAIT FOR DIGIT takes the next press
    (None: the wait times out, `hangup`: -1), SETs succeed, anything else 510."""
    queue = iter(presses)

    def answer(command: str) -> list[str]:
        words = split_command(command)
        if words[:2] == ("STREAM", "FILE"):
            return ["200 result=-1 endpos=0"]  # as 12 (no prompts on this Asterisk)
        if words[:3] == ("WAIT", "FOR", "DIGIT"):
            press = next(queue)
            if press is None:
                return ["200 result=0"]
            if press == "hangup":
                return ["200 result=-1"]
            return [f"200 result={ord(press)}"]
        if words[:2] == ("SET", "VARIABLE"):
            return ["200 result=1"]
        return ["510 Invalid or unknown command"]

    return answer


async def asterisk(
    port: int, answer: Answer, *, env: bytes = ENV_07, write_size: int = 0
) -> tuple[list[str], bool]:
    """Play Asterisk: send `env`, answer each command; (commands, closed by the server)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def send(data: bytes) -> None:
        if write_size:
            for i in range(0, len(data), write_size):
                writer.write(data[i : i + write_size])
                await writer.drain()
        else:
            writer.write(data)
            await writer.drain()

    commands: list[str] = []
    lines = CommandReader()
    await send(env)
    try:
        while data := await reader.read(4096):
            lines.feed(data)
            for command in lines.commands():
                commands.append(command)
                await send("".join(f"{line}\n" for line in answer(command)).encode())
        return commands, True
    except ConnectionError:
        return commands, True
    finally:
        writer.close()
