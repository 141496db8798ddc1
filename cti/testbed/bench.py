"""`scripts/bench-pop --pbx asterisk`: the server's share of ring → pop on real calls.

Real Asterisk 22.10.1 (the test bed) places a few hundred calls into q-zh, rung to Local
seats that answer and talk 1 s. Between Asterisk and its AMI clients sits a pass-through TCP
proxy in this process: after handing each read from Asterisk to a client's socket it notes,
per AgentCalled completed in that read, the moment (CLOCK_MONOTONIC, system-wide on Linux).

- The server is `cti serve` itself, in its own process (production wiring: AMI client, state
  machine, locator over the archive sample, call log in SQLite, bus, web app, membership); N
  agents log in over HTTP and hold `/ws/agent`. Latency = pop frame received here − the
  AgentCalled bytes handed to the server's connection.
- The floor, in the same run: a bare reader in its own process, connected through the same
  proxy, that logs in and only parses (`AMIParser`), noting each AgentCalled as it is parsed.

Both see the same calls from the same Asterisk at the same time, so their ratio is what the
state machine, locator, bus and WebSocket add. The driver's own event loop (proxy and agent
sockets) is in both paths' measurement of arrival only for the server side; see the docs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from cti.ami import AMIParser, Event, encode_action, shared_dir
from cti.state.bench import stamp_pops
from cti.testbed.asterisk import free_port
from cti.testbed.calls import originate_caller
from cti.testbed.running import RunningAsterisk

REGISTRY = shared_dir() / "registry" / "sample-residents.csv"
PASSWORD = "bench-pass-1"
CALLER_IDS = ('"张先生" <05356683318>', '"刘淑珍" <13805356789>', "13912340000", None)


@dataclass
class Tap:
    """One client connection through the proxy: when each AgentCalled reached its socket."""

    written: dict[str, int] = field(default_factory=dict)  # caller Uniqueid -> ns


class Proxy:
    """A pass-through AMI proxy noting when AgentCalled bytes are handed to each client."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.taps: list[Tap] = []
        self.first_client = asyncio.Event()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tap = Tap()
        self.taps.append(tap)
        self.first_client.set()
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        parser = AMIParser()

        async def down() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                at = time.monotonic_ns()
                parser.feed(data)
                for message in parser.messages():
                    if isinstance(message, Event) and message.name == "AgentCalled":
                        tap.written.setdefault(message.get("Uniqueid") or "", at)
                await writer.drain()

        async def up() -> None:
            while data := await reader.read(65536):
                up_writer.write(data)
                await up_writer.drain()

        tasks = [asyncio.create_task(down()), asyncio.create_task(up())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            writer.close()
            up_writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def floor_reader(port: int) -> None:
    """The floor process: log in, parse, print `<Uniqueid> <ns>` per AgentCalled."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode_action("Login", [("Username", "cti"), ("Secret", "ctisecret")], "floor"))
    parser = AMIParser()
    seen: set[str] = set()
    while data := await reader.read(65536):
        parser.feed(data)
        for message in parser.messages():
            if isinstance(message, Event) and message.name == "AgentCalled":
                uid = message.get("Uniqueid") or ""
                if uid not in seen:
                    seen.add(uid)
                    print(uid, time.monotonic_ns(), flush=True)


async def _prepare_db(url: str, agents: int) -> None:
    from cti.db import create_engine, upgrade
    from cti.settings import LocatorSettings
    from locator import parse_file, save_residents
    from seats import SqlAgentAccounts

    engine = create_engine(url)
    try:
        await upgrade(engine, "head")
        await save_residents(engine, parse_file(REGISTRY, LocatorSettings()).records)
        accounts = SqlAgentAccounts(engine)
        for n in range(1, agents + 1):
            await accounts.add(f"b{n:02d}", f"bench {n}", "zh", PASSWORD, f"seat{n:02d}")
    finally:
        await engine.dispose()


async def _wait_http(port: int, within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    async with aiohttp.ClientSession() as http:
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/health") as resp:
                    if resp.status == 200:
                        return
            if time.monotonic() > deadline:
                raise TimeoutError("cti serve did not become healthy")
            await asyncio.sleep(0.1)


@dataclass
class Pops:
    """When each call's first pop frame arrived; `all_in` once `expected` calls popped."""

    expected: int
    at: dict[str, int] = field(default_factory=dict)
    all_in: asyncio.Event = field(default_factory=asyncio.Event)


async def _agent(
    http: aiohttp.ClientSession, base: str, n: int, pops: Pops, ready: asyncio.Event
) -> None:
    login = {"agent": f"b{n:02d}", "password": PASSWORD, "seat": f"seat{n:02d}"}
    async with http.post(f"{base}/api/login", json=login) as resp:
        resp.raise_for_status()
        token = (await resp.json())["token"]
    async with http.ws_connect(f"{base}/ws/agent?token={token}") as ws:
        ready.set()
        await stamp_pops(ws, pops.at, pops.all_in, pops.expected)


@dataclass
class Figures:
    """Latencies in ms."""

    values: list[float]

    def line(self, label: str) -> str:
        v = self.values
        if not v:
            return f"{label:<34} no samples"
        return (
            f"{label:<34} n {len(v)}  p50 {statistics.median(v):.2f} ms  "
            f"p99 {_pct(v, 99):.2f} ms  max {max(v):.2f} ms"
        )


def _pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


async def run(calls: int, call_rate: float, agents: int, workdir: Path) -> int:
    """Place `calls` calls at `call_rate`/s to `agents` Local seats; print the figures."""
    url = f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}"
    await _prepare_db(url, agents)
    async with RunningAsterisk(workdir / "asterisk") as asterisk:
        proxy = Proxy(asterisk.port)
        await proxy.start()
        floor = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cti.testbed.bench", "floor", "--port", str(proxy.port),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        floor_seen: dict[str, int] = {}

        async def read_floor() -> None:
            assert floor.stdout is not None
            while line := await floor.stdout.readline():
                uid, ns = line.decode().split()
                floor_seen[uid] = int(ns)

        floor_task = asyncio.create_task(read_floor())
        await asyncio.wait_for(proxy.first_client.wait(), 30)
        floor_tap = proxy.taps[0]
        http_port = free_port()
        env = {
            **os.environ,
            "CTI_DATABASE_URL": url,
            "CTI_AMI__PORT": str(proxy.port),
            "CTI_HTTP__PORT": str(http_port),
            "CTI_MEMBERS__INTERFACE": "Local/{seat}@agents/n",
            "CTI_MEMBERS__ACW_TIMEOUT_S": "0",
        }
        cti = Path(sys.executable).with_name("cti")
        with (workdir / "cti-serve.log").open("wb") as log_file:
            server = await asyncio.create_subprocess_exec(
                str(cti), "serve", env=env, stdout=log_file, stderr=log_file
            )
        pops = Pops(calls)
        try:
            await _wait_http(http_port)
            base = f"http://127.0.0.1:{http_port}"
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                readies = [asyncio.Event() for _ in range(agents)]
                clients = [
                    asyncio.create_task(_agent(http, base, n + 1, pops, readies[n]))
                    for n in range(agents)
                ]
                for ready in readies:
                    await asyncio.wait_for(ready.wait(), 30)
                assert asterisk.ami is not None
                await _members_in(asterisk, agents)  # the server made each seat a member
                started = time.monotonic()
                for i in range(calls):
                    delay = started + i / call_rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    caller = CALLER_IDS[i % len(CALLER_IDS)]
                    await originate_caller(asterisk.ami, caller, talk_s=1)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(pops.all_in.wait(), 60)
                for client in clients:
                    client.cancel()
                await asyncio.gather(*clients, return_exceptions=True)
        finally:
            server.terminate()
            floor.terminate()
            await server.wait()
            await floor.wait()
            floor_task.cancel()
            await proxy.close()

    server_taps = [tap for tap in proxy.taps[1:] if tap.written]
    written = {uid: ns for tap in server_taps for uid, ns in tap.written.items()}
    share = Figures([(pops.at[u] - written[u]) / 1e6 for u in pops.at if u in written])
    floor_figures = Figures(
        [(floor_seen[u] - floor_tap.written[u]) / 1e6 for u in floor_seen if u in floor_tap.written]
    )
    print(f"calls placed {calls} at {call_rate:g}/s to {agents} Local seats; pops {len(pops.at)}")
    print(floor_figures.line("floor (proxy → parse only)"))
    print(share.line("server (proxy → pop frame)"))
    if floor_figures.values and share.values:
        ratio50 = statistics.median(share.values) / statistics.median(floor_figures.values)
        ratio99 = _pct(share.values, 99) / _pct(floor_figures.values, 99)
        print(f"server / floor: x{ratio50:.1f} at p50, x{ratio99:.1f} at p99")
    return 0 if len(pops.at) >= calls * 0.95 else 1


async def _members_in(asterisk: RunningAsterisk, agents: int, within_s: float = 30.0) -> None:
    """Wait until the server (its membership service) made every bench seat a q-zh member."""
    assert asterisk.ami is not None
    deadline = time.monotonic() + within_s
    while True:
        result = await asterisk.ami.send_list("QueueStatus", {"Queue": "q-zh"})
        members = [e for e in result.events if e.name == "QueueMember"]
        if len(members) >= agents:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(members)} of {agents} seats joined q-zh")
        await asyncio.sleep(0.2)


def main(argv: Sequence[str] | None = None) -> int:
    """`scripts/bench-pop --pbx asterisk [--calls 300] [--call-rate 4] [--seats 20]`."""
    parser = argparse.ArgumentParser(prog="bench-pop --pbx asterisk")
    sub = parser.add_subparsers(dest="mode")
    fl = sub.add_parser("floor")
    fl.add_argument("--port", type=int, required=True)
    parser.add_argument("--pbx", choices=["asterisk"], default="asterisk")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--call-rate", type=float, default=4.0, help="calls placed per second")
    parser.add_argument("--seats", type=int, default=20, help="agents logged in at Local seats")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (logs)")
    args = parser.parse_args(argv)
    if args.mode == "floor":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(floor_reader(args.port))
        return 0
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        return asyncio.run(run(args.calls, args.call_rate, args.seats, args.keep.resolve()))
    with tempfile.TemporaryDirectory(prefix="bench-pop-asterisk-") as tmp:
        return asyncio.run(run(args.calls, args.call_rate, args.seats, Path(tmp)))


if __name__ == "__main__":
    raise SystemExit(main())
