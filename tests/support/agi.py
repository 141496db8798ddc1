"""The FastAGI recordings (`*.agi`) split into Asterisk's bytes and the script's commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ivr.protocol import AGIEvent, AGIParser


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
