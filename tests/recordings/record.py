"""Record a real Asterisk AMI session in the `.ami` format of `shared/asterisk-traces/`.

    python -m tests.recordings.record SCRIPT.json OUT.ami --port 15638

SCRIPT is a list of {"action": {...}, "wait": seconds}; an action value `{"channel_of":
"<CallerIDNum>"}` is replaced by the `;1` Local channel of that caller as the last
CoreShowChannels listed it (to hang up one caller). Every byte Asterisk sends is kept as
received; each action is written as `>>> ` lines where it was sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from cti.ami import AMIParser, Event


async def record(script: list[dict[str, Any]], host: str, port: int) -> bytes:
    """Run `script` against the AMI at host:port; the recording's bytes."""
    reader, writer = await asyncio.open_connection(host, port)
    trace = bytearray()
    parser = AMIParser()
    channels: dict[str, str] = {}

    async def read() -> None:
        while data := await reader.read(65536):
            trace.extend(data)
            parser.feed(data)
            for message in parser.messages():
                if isinstance(message, Event) and message.name == "CoreShowChannel":
                    channel = message.get("Channel") or ""
                    if channel.endswith(";1") and message.get("Context") == "caller":
                        channels[message.get("CallerIDNum") or ""] = channel

    reading = asyncio.create_task(read())
    for step in script:
        fields = {
            k: channels.get(v["channel_of"], "") if isinstance(v, dict) else str(v)
            for k, v in step["action"].items()
        }
        lines = [f"{k}: {v}" for k, v in fields.items()]
        trace.extend(b"".join(f">>> {line}\n".encode() for line in [*lines, ""]))
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        await asyncio.sleep(float(step.get("wait", 0.5)))
    writer.close()
    await asyncio.wait_for(reading, 5)
    return bytes(trace)


def main() -> None:
    """Run a script against the AMI at --host/--port and write the recording."""
    args = argparse.ArgumentParser()
    args.add_argument("script", type=Path)
    args.add_argument("out", type=Path)
    args.add_argument("--host", default="127.0.0.1")
    args.add_argument("--port", type=int, default=5038)
    ns = args.parse_args()
    ns.out.write_bytes(asyncio.run(record(json.loads(ns.script.read_text()), ns.host, ns.port)))


if __name__ == "__main__":
    main()
