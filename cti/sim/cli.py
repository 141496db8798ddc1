"""`cti sim`: run the PBX simulator alone (an AMI server on loopback)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from cti.sim.load import DEFAULT_CALLER_IDS, LoadConfig
from cti.sim.pbx import PbxConfig
from cti.sim.seats import seat_plan
from cti.sim.server import SimConfig, SimServer


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `sim` subcommand."""
    p = sub.add_parser("sim", help="run the PBX simulator (an AMI server, no Asterisk needed)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5038)
    p.add_argument("--username", default="cti")
    p.add_argument("--secret", default="ctisecret")
    p.add_argument("--rate", type=float, default=60.0, help="calls per hour (0: none)")
    p.add_argument("--seats", type=int, default=0, help="seats to add at start (52: centre)")
    p.add_argument(
        "--shape",
        choices=("local", "pjsip"),
        default="local",
        help="Local/seatNN@agents/n members and Local callers, or PJSIP",
    )
    p.add_argument("--caller-ids", type=Path, help="file of caller IDs, one a line")
    p.add_argument("--abandon", type=float, default=0.1, help="share of callers who give up")
    p.add_argument("--no-answer", type=float, default=0.1, help="share of rings not answered")
    p.add_argument("--talk", type=float, nargs=2, default=(20.0, 120.0), metavar=("MIN", "MAX"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--duration", type=float, default=0.0, help="seconds to run (0: until ^C)")
    p.add_argument(
        "--time-scale",
        type=_positive,
        default=1.0,
        help="simulated seconds per real second (20: an hour of calls in three minutes)",
    )
    p.set_defaults(func=run)


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """The simulator configuration the options describe."""
    ids = DEFAULT_CALLER_IDS
    if args.caller_ids is not None:
        lines = args.caller_ids.read_text("utf-8").splitlines()
        ids = tuple(line.strip() for line in lines if line.strip())
    load = None
    if args.rate > 0:
        load = LoadConfig(
            rate_per_hour=args.rate,
            caller_ids=ids,
            abandon_ratio=args.abandon,
            talk=tuple(args.talk),
            seed=args.seed + 1,
        )
    return SimConfig(
        host=args.host,
        port=args.port,
        username=args.username,
        secret=args.secret,
        pbx=PbxConfig(
            local_callers=args.shape == "local", no_answer_ratio=args.no_answer, seed=args.seed
        ),
        load=load,
        seats=tuple(seat_plan(args.seats, args.shape)),
        time_scale=args.time_scale,
    )


async def serve(config: SimConfig, duration: float) -> None:
    """Run until the duration is over or SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with SimServer(config) as sim:
        print(f"cti sim: AMI on {config.host}:{sim.port} (user {config.username})", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration or None)
        placed = sim.arrivals.placed if sim.arrivals else 0
        print(f"cti sim: stopping after {placed} calls", flush=True)


def run(args: argparse.Namespace) -> int:
    """Entry point of `cti sim`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(config_from_args(args), args.duration))
    return 0
