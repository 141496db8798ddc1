"""Simulator throughput: how many calls per second it can generate, in process and over TCP.

1. model: the sans-IO PBX with 52 seats, virtual time, events generated and AMI-encoded.
2. tcp: the simulator in its own thread at a requested call rate, read by a plain AMI reader
   for `--seconds`: achieved calls/s and events/s.
3. baseline (same run, same reader): the recorded Asterisk burst (08, 60 calls) written over
   TCP as fast as the socket takes it - the ceiling of any AMI peer in Python here.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from cti.ami import AMIParser, Event, encode_action, encode_headers, server_bytes, shared_dir
from cti.sim.load import Arrivals, LoadConfig
from cti.sim.pbx import Pbx, PbxConfig
from cti.sim.seats import seat_plan
from cti.sim.server import SimConfig
from cti.sim.thread import SimThread

TRACE = shared_dir() / "asterisk-traces/08-burst-60-calls.ami"
FAST_TALK = (0.5, 2.0)


def bench_model(rate_per_s: float, virtual_s: float) -> tuple[int, int, float]:
    """Calls placed, events, wall seconds for `virtual_s` of PBX time (encode included)."""
    pbx = Pbx(PbxConfig(answer_delay=(0.2, 1.0)), 0.0)
    for s in seat_plan(52):
        pbx.add_member(s.queue, s.interface, s.seat)
    arrivals = Arrivals(pbx, LoadConfig(rate_per_hour=rate_per_s * 3600, talk=FAST_TALK))
    arrivals.start()
    started = time.perf_counter()
    events = 0
    for step in range(1, int(virtual_s) + 1):
        batch = pbx.advance(float(step))
        b"".join(encode_headers(e) for e in batch)
        events += len(batch)
    return arrivals.placed, events, time.perf_counter() - started


async def _read(port: int, seconds: float, login: bool) -> tuple[int, int]:
    """Events and QueueCallerJoin read from an AMI server within `seconds` (or until EOF)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if login:
        writer.write(encode_action("Login", {"Username": "cti", "Secret": "ctisecret"}, "l1"))
    parser = AMIParser()
    events = calls = 0
    deadline = time.perf_counter() + seconds
    try:
        while (left := deadline - time.perf_counter()) > 0:
            try:
                data = await asyncio.wait_for(reader.read(1 << 16), left)
            except TimeoutError:
                break
            if not data:
                break
            parser.feed(data)
            for m in parser.messages():
                if isinstance(m, Event):
                    events += 1
                    calls += m.name == "QueueCallerJoin"
    finally:
        writer.close()
    return events, calls


async def bench_tcp(rate_per_s: float, seconds: float) -> tuple[int, int, float]:
    """Events, callers joining read over TCP from the simulator at `rate_per_s` calls/s."""
    config = SimConfig(
        pbx=PbxConfig(answer_delay=(0.2, 1.0)),
        load=LoadConfig(rate_per_hour=rate_per_s * 3600, talk=FAST_TALK),
        seats=tuple(seat_plan(52)),
    )
    async with SimThread(config) as sim:
        started = time.perf_counter()
        events, calls = await _read(sim.port, seconds, login=True)
        elapsed = time.perf_counter() - started
    return events, calls, elapsed


async def bench_replay(repeat: int) -> tuple[int, float]:
    """Events/s reading the recorded burst `repeat` times over TCP."""
    data = server_bytes(TRACE.read_bytes())
    greeting, _, rest = data.partition(b"\r\n")

    async def serve(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting + b"\r\n")
        for _ in range(repeat):
            writer.write(rest)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started = time.perf_counter()
    events, _ = await _read(port, 120.0, login=False)
    elapsed = time.perf_counter() - started
    server.close()
    await server.wait_closed()
    return events, elapsed


def main() -> None:
    """Print the three measurements and the ratios."""
    parser = argparse.ArgumentParser(prog="bench-sim")
    parser.add_argument("--rate", type=float, default=200.0, help="calls per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="TCP run length")
    parser.add_argument("--virtual", type=float, default=60.0, help="model run, PBX seconds")
    args = parser.parse_args()

    placed, events, wall = bench_model(args.rate, args.virtual)
    print(
        f"model: {placed} calls, {events} events in {wall:.2f} s wall for {args.virtual:g} s "
        f"of PBX time: {placed / wall:.0f} calls/s, {events / wall:.0f} events/s "
        f"({args.virtual / wall:.2f}x real time at {args.rate:g} calls/s)"
    )
    rep_events, rep_wall = asyncio.run(bench_replay(10))
    print(
        f"baseline replay of 08 over TCP: {rep_events} events in {rep_wall:.2f} s: "
        f"{rep_events / rep_wall:.0f} events/s"
    )
    tcp_events, joins, tcp_wall = asyncio.run(bench_tcp(args.rate, args.seconds))
    print(
        f"tcp: asked {args.rate:g} calls/s for {tcp_wall:.1f} s: {joins / tcp_wall:.0f} "
        f"callers/s arrived, {tcp_events / tcp_wall:.0f} events/s read "
        f"({tcp_events / tcp_wall / (rep_events / rep_wall):.2f}x the replay baseline)"
    )


if __name__ == "__main__":
    main()
