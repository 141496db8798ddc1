"""`cti ami ...`: the replay test peer, offline replay of a recording, and live watching."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from cti.ami.peer import Chunking, ReplayPeer
from cti.ami.protocol import AMIParser, Event, Greeting, Message, Response
from cti.ami.trace import server_bytes


def _chunking(text: str) -> Chunking:
    if text == "random":
        return "random"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a byte count or 'random'") from None
    if value < 1:
        raise argparse.ArgumentTypeError("chunk must be >= 1")
    return value


def register(subparsers: Any) -> None:
    """Add `cti ami peer|replay|watch`."""
    ami = subparsers.add_parser("ami", help="Asterisk Manager Interface tools")
    sub = ami.add_subparsers(dest="ami_command", required=True)

    peer = sub.add_parser("peer", help="serve a recording as a fake Asterisk (test peer)")
    peer.add_argument("--trace", type=Path, required=True, help="a *.ami recording")
    peer.add_argument("--host", default="127.0.0.1")
    peer.add_argument("--port", type=int, default=5038)
    peer.add_argument("--chunk", type=_chunking, default=None, help="N bytes per write, or random")
    peer.add_argument("--close-after-bytes", type=int, default=None, help="fault: close after N")
    peer.add_argument("--no-pings", action="store_true", help="fault: never answer Ping")
    peer.add_argument(
        "--no-wait", action="store_true", help="stream past recorded client actions after Login"
    )
    peer.add_argument("--username", default="cti")
    peer.add_argument("--secret", default="ctisecret")
    peer.set_defaults(func=_run_peer)

    replay = sub.add_parser("replay", help="parse a recording offline, one message per line")
    replay.add_argument("file", type=Path)
    replay.add_argument("--chunk", type=int, default=None, help="feed N bytes at a time")
    replay.add_argument("--format", choices=["jsonl", "text"], default="jsonl")
    replay.set_defaults(func=_run_replay)

    watch = sub.add_parser("watch", help="connect with the settings and print events live")
    watch.add_argument("--raw", action="store_true", help="every header as JSON lines")
    watch.set_defaults(func=_run_watch)


def _run_peer(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    peer = ReplayPeer(
        args.trace,
        chunk=args.chunk,
        close_after_bytes=args.close_after_bytes,
        answer_pings=not args.no_pings,
        wait_for_actions=not args.no_wait,
        host=args.host,
        port=args.port,
        username=args.username,
        secret=args.secret,
    )

    async def serve() -> None:
        port = await peer.start()
        print(f"playing {args.trace.name} on {args.host}:{port}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await peer.stop()

    asyncio.run(serve())
    return 0


def message_json(message: Message) -> dict[str, Any]:
    """One message as `{type, name, headers}` (headers as [key, value] pairs)."""
    if isinstance(message, Greeting):
        return {"type": "greeting", "name": message.version, "headers": []}
    kind = "event" if isinstance(message, Event) else type(message).__name__.lower()
    name = message.status if isinstance(message, Response) else message.name
    record: dict[str, Any] = {"type": kind, "name": name, "headers": list(message.headers)}
    if isinstance(message, Response) and message.output:
        record["output"] = list(message.output)
    return record


def _run_replay(args: argparse.Namespace) -> int:
    data = server_bytes(args.file.read_bytes())
    parser = AMIParser()
    step = args.chunk or len(data) or 1
    out = sys.stdout
    for pos in range(0, len(data), step):
        parser.feed(data[pos : pos + step])
        for message in parser.messages():
            if args.format == "jsonl":
                out.write(json.dumps(message_json(message), ensure_ascii=False) + "\n")
            else:
                record = message_json(message)
                out.write(f"{record['type']} {record['name']}\n")
    if parser.buffered:
        print(f"cti ami replay: {parser.buffered} bytes left unframed", file=sys.stderr)
        return 1
    return 0


def _run_watch(args: argparse.Namespace) -> int:
    from cti.ami.watch import watch
    from cti.cli import settings_from_args

    settings = settings_from_args(args)
    return asyncio.run(watch(settings.ami, raw=args.raw))
