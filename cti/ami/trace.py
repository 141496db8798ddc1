"""Reading the recordings in `shared/asterisk-traces/`: server bytes and client actions.

A `.ami` file is the raw bytes Asterisk sent, with each action the client sent interleaved
as LF-terminated lines starting with `>>> `.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cti.ami.protocol import Header

CLIENT_PREFIX = b">>> "


# Where the workplace keeps them when a clone does not sit beside `shared/` (a CI clone).
_WORKPLACE_SHARED = Path("/work/shared")


def shared_dir() -> Path:
    """Where the recordings and the registry sample live: `CTI_SHARED_DIR` when set, else
    `shared/` beside the checkout, else the workplace's `/work/shared` if that exists."""
    configured = os.environ.get("CTI_SHARED_DIR")
    if configured:
        return Path(configured)
    beside = Path(__file__).resolve().parents[3] / "shared"
    if not beside.is_dir() and _WORKPLACE_SHARED.is_dir():
        return _WORKPLACE_SHARED
    return beside


@dataclass(frozen=True, slots=True)
class ServerBytes:
    """A run of bytes Asterisk sent, exactly as received."""

    data: bytes


@dataclass(frozen=True, slots=True)
class ClientAction:
    """One action the recording client sent, as ordered header pairs."""

    headers: tuple[Header, ...]

    @property
    def name(self) -> str:
        """The `Action` header's value."""
        for key, value in self.headers:
            if key.lower() == "action":
                return value
        return ""

    @property
    def action_id(self) -> str | None:
        """The `ActionID` the recording client used, if any."""
        for key, value in self.headers:
            if key.lower() == "actionid":
                return value
        return None


Segment = ServerBytes | ClientAction


def split_trace(data: bytes) -> list[Segment]:
    """Split a recording into server byte runs and client actions, in order."""
    segments: list[Segment] = []
    server = bytearray()
    action: list[Header] = []
    for line in data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"):
        if line.startswith(CLIENT_PREFIX) or line == b">>>":
            body = line[len(CLIENT_PREFIX) :].decode("utf-8")
            if body:
                key, _, value = body.partition(":")
                action.append((key, value.removeprefix(" ")))
            elif action:
                if server:
                    segments.append(ServerBytes(bytes(server)))
                    server.clear()
                segments.append(ClientAction(tuple(action)))
                action = []
            continue
        server += line + b"\n"
    if not data.endswith(b"\n") and server:
        server = server[:-1]
    if server:
        segments.append(ServerBytes(bytes(server)))
    return segments


def server_bytes(data: bytes) -> bytes:
    """The pure server stream: the recording with the `>>> ` lines removed."""
    return b"".join(s.data for s in split_trace(data) if isinstance(s, ServerBytes))


def load_trace(path: Path) -> list[Segment]:
    """Read and split a recording file."""
    return split_trace(path.read_bytes())
