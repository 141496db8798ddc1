"""Benchmark: our parser against panoramisk's parsing on the 60-call burst recording.

Run through `scripts/bench-ami`. Both parsers get the same server bytes in the same chunks in
the same run; the figure is the best of `--repeat` runs for each (least disturbed by noise).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cti.ami.protocol import _LINE_CACHE, AMIParser, Event
from cti.ami.trace import server_bytes, shared_dir

DEFAULT_TRACE = shared_dir() / "asterisk-traces/08-burst-60-calls.ami"


def chunks_of(data: bytes, size: int) -> list[bytes]:
    """The stream cut into reads of `size` bytes, as a socket would deliver it."""
    return [data[i : i + size] for i in range(0, len(data), size)]


def parse_ours(chunks: list[bytes]) -> int:
    """Events our parser yields for the chunks, starting from a cold line cache.

    The cache is emptied first so that every run pays for learning this recording's lines,
    as a freshly started process would.
    """
    _LINE_CACHE.clear()
    parser = AMIParser()
    count = 0
    for chunk in chunks:
        parser.feed(chunk)
        for message in parser.messages():
            if isinstance(message, Event):
                count += 1
    return count


class _Factory:
    """The parts of panoramisk's Manager that AMIProtocol.data_received touches."""

    save_stream = None
    forgetable_actions = ()

    def __init__(self) -> None:
        self.awaiting_actions: list[Any] = []
        self.events = 0

    def dispatch(self, message: Any) -> None:
        self.events += 1

    def connection_lost(self, exc: object) -> None:
        pass


class _Transport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def parse_panoramisk(chunks: list[bytes]) -> int:
    """Events panoramisk's AMIProtocol dispatches for the same chunks (UTF-8 configured)."""
    from panoramisk.ami_protocol import AMIProtocol

    protocol = AMIProtocol()
    protocol.connection_made(_Transport())
    factory = _Factory()
    protocol.factory = factory
    protocol.encoding = "utf-8"
    for chunk in chunks:
        protocol.data_received(chunk)
    return factory.events


def best_rates(
    runners: dict[str, Callable[[list[bytes]], int]], chunks: list[bytes], repeat: int
) -> dict[str, tuple[int, float]]:
    """(events, events per CPU second) of each runner's fastest run.

    Runs are interleaved (a, b, a, b...) and timed in process CPU time, so a busy machine
    slows both sides alike instead of whichever happened to run during the noise.
    """
    best = dict.fromkeys(runners, float("inf"))
    events = dict.fromkeys(runners, 0)
    for _ in range(repeat):
        for name, fn in runners.items():
            start = time.process_time()
            events[name] = fn(chunks)
            best[name] = min(best[name], time.process_time() - start)
    return {name: (events[name], events[name] / best[name]) for name in runners}


def main(argv: list[str] | None = None) -> int:
    """Print events/s for both parsers and the ratio ours/panoramisk."""
    parser = argparse.ArgumentParser(prog="bench-ami")
    parser.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--chunk", type=int, default=4096, help="bytes per simulated read")
    args = parser.parse_args(argv)
    data = server_bytes(args.trace.read_bytes())
    chunks = chunks_of(data, args.chunk)
    print(f"{args.trace.name}: {len(data):,} server bytes in {len(chunks):,} reads of {args.chunk}")
    rates = best_rates({"ours": parse_ours, "panoramisk": parse_panoramisk}, chunks, args.repeat)
    ours_events, ours = rates["ours"]
    pano_events, pano = rates["panoramisk"]
    print(f"ours        {ours_events:>6} events  {ours:>12,.0f} events/s")
    print(f"panoramisk  {pano_events:>6} events  {pano:>12,.0f} events/s")
    print(f"ratio ours/panoramisk: {ours / pano:.2f}x (target >= 2.00x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
