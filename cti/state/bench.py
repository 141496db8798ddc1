"""Benchmark: screen-pop latency from the AMI wire to the agent's WebSocket.

Run through `scripts/bench-pop`. Two processes, one monotonic clock (CLOCK_MONOTONIC is
system-wide on Linux, so timestamps compare across them):

- the driver (this process, `main`): an AMI peer that replays the server bytes of
  `08-burst-60-calls.ami` as fast as the socket takes them, noting the moment the last byte of
  each `AgentCalled` was handed to the kernel; and N agent clients, each logged in through
  `POST /api/login` at a seat and holding a real WebSocket on `/ws/agent`, noting the moment
  each pop frame arrives;
- the server (`serve`): the CTI stack as production wires it — the AMI stream read and parsed,
  `StateService` (tracker, real Locator in SQLite, call log, the privacy audit of each card
  shown), the bus, and the web app from `cti.web.create_app` on a real port. Its RSS is read
  from /proc. The Locator holds 10,000 residents and every caller of the recording is one
  of them (`--callers registered`, the hotline's case: each pop carries a card with next of
  kin), or only the archive's 8-row sample, which has none of them (`--callers unknown`).

Floors, measured in the same run with the same peer and bytes: a bare reader in the server
process that only parses, and per AgentCalled (1) notes the moment it was parsed ("parse
only", the floor of issue 5's tables: it has one process hop fewer than a pop) and (2) writes
a minimal frame to one WebSocket client of the driver, stamped there as the agents' pops are
("parse + relay": the same two ends as a pop, nothing between them but parsing). The ratios
say what state + locator + bus + our WebSocket path add.

The server logs as `cti serve` does (INFO to stderr, here a file). `--breakdown` also times
the stages of each pop (parsed, published, handed to the socket; wrappers that cost a few
µs a pop); `BENCH_POP_PROFILE=file` runs the measured server under cProfile during the
replay. `--bus memory redis` runs both buses in turns, sharing the floors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from cti.ami import AMIParser, Event, encode_greeting, server_bytes, shared_dir

DEFAULT_TRACE = shared_dir() / "asterisk-traces/08-burst-60-calls.ami"
DEFAULT_REGISTRY = shared_dir() / "registry/sample-residents.csv"
# `--callers registered`: the hotline's registry size, the trace's callers among them.
REGISTERED_RESIDENTS = 10_000
PASSWORD = "bench-only"
REDIS_URL = "redis://127.0.0.1:6379/0"


# --- the AMI peer (driver side) --------------------------------------------------------------


def burst_messages(trace: Path) -> list[tuple[bytes, str | None]]:
    """The recording's server stream cut into messages: (bytes, Uniqueid if AgentCalled)."""
    data = server_bytes(trace.read_bytes())
    greeting_end = data.index(b"\n") + 1
    body = data[greeting_end:]
    out: list[tuple[bytes, str | None]] = []
    start = 0
    parser = AMIParser(expect_greeting=False)
    while True:
        end = body.find(b"\r\n\r\n", start)
        if end < 0:
            break
        raw = body[start : end + 4]
        start = end + 4
        parser.feed(raw)
        called = None
        for message in parser.messages():
            if isinstance(message, Event) and message.name == "AgentCalled":
                called = message.get("Uniqueid")
        out.append((raw, called))
    return out


def trace_callers(trace: Path) -> list[str]:
    """The caller numbers of the recording's queue calls (QueueCallerJoin), in order."""
    parser = AMIParser(expect_greeting=False)
    data = server_bytes(trace.read_bytes())
    parser.feed(data[data.index(b"\n") + 1 :])
    numbers: dict[str, None] = {}
    for message in parser.messages():
        if isinstance(message, Event) and message.name == "QueueCallerJoin":
            number = message.get("CallerIDNum")
            if number and number.lstrip("+").isdigit():
                numbers[number] = None
    return list(numbers)


def bench_residents(callers: str, trace: Path) -> list[Any]:
    """The residents the bench server knows.

    `registered` (the default): 10,000 generated residents, as many as the hotline's registry,
    and each caller of the trace is the mobile or landline of one of them (with one or two
    next of kin).
    Every pop then carries a resident card, as for the hotline's callers.
    `unknown`: the archive's 8-row sample, which has none of the trace's callers, so every pop
    says "unknown". That was the bench's only case before 2026-11-30's fourth pass.
    """
    from dataclasses import replace

    from cti.settings import LocatorSettings
    from locator import parse_file
    from locator.callerid import to_e164
    from locator.generate import generate_residents

    settings = LocatorSettings()
    if callers == "unknown":
        return list(parse_file(DEFAULT_REGISTRY, settings).records)
    records = list(generate_residents(REGISTERED_RESIDENTS, seed=15))
    with_kin = (n for n, r in enumerate(records) if r.next_of_kin)
    for number in trace_callers(trace):
        e164 = to_e164(number, settings.region, settings.home_area_code)
        if e164 is not None:
            n = next(with_kin)
            if e164.startswith(("+861", "+8210")):  # a Chinese or Korean mobile
                records[n] = replace(records[n], mobiles=(e164,))
            else:
                records[n] = replace(records[n], landlines=(e164,))
    return records


class Peer:
    """A TCP server that replays the burst, when told to, to `readers` connections at once
    (several CTI nodes reading the same PBX): each message goes to every reader before the
    next, and an AgentCalled's moment is noted once it was handed to the kernel for all."""

    def __init__(
        self, messages: list[tuple[bytes, str | None]], rate: float | None, readers: int = 1
    ) -> None:
        self.messages = messages
        self.rate = rate  # messages per second; None: as fast as the socket takes them
        self.readers = readers
        self.writers: list[asyncio.StreamWriter] = []
        self.written: dict[str, int] = {}
        self.connected = asyncio.Event()  # every reader is connected
        self.go = asyncio.Event()
        self.done = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(encode_greeting())
        await writer.drain()
        self.writers.append(writer)
        if len(self.writers) >= self.readers:
            self.connected.set()
        await self.go.wait()
        if writer is self.writers[0]:
            await self._replay()
        with contextlib.suppress(ConnectionError):
            await reader.read()  # hold the connection until the server goes
        writer.close()

    async def _replay(self) -> None:
        self.written.clear()
        writers = list(self.writers)
        start = time.monotonic()
        for i, (raw, called) in enumerate(self.messages):
            if self.rate is not None:
                delay = start + i / self.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            for writer in writers:
                writer.write(raw)
            if called is not None:
                self.written[called] = time.monotonic_ns()
            for writer in writers:
                if writer.transport.get_write_buffer_size() > 256 * 1024:
                    await writer.drain()
        for writer in writers:
            await writer.drain()
        self.done.set()


# --- the server process ----------------------------------------------------------------------


class OpenAccounts:
    """Bench accounts: every agent id exists and `PASSWORD` opens it (no argon2 per login)."""

    async def authenticate(self, agent_id: str, password: str) -> Any:
        return await self.get(agent_id) if password == PASSWORD else None

    async def get(self, agent_id: str) -> Any:
        from seats import AgentProfile

        return AgentProfile(id=agent_id, name=agent_id, languages=("zh",))


async def _read_ami(host: str, port: int, on_event: Any) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    parser = AMIParser()
    try:
        while data := await reader.read(65536):
            parser.feed(data)
            for message in parser.messages():
                if isinstance(message, Event):
                    await on_event(message)
    finally:
        writer.close()


async def _serve_floor(peer_port: int, stdin: asyncio.StreamReader) -> None:
    """The floor: a bare reader that parses the AMI stream and, for each `AgentCalled`,
    notes the moment it was parsed and writes a minimal frame (`{"type":"pop","call_id":…}`,
    no lookup, no bus, no state) to the one WebSocket client the driver holds. The driver
    stamps that frame as it stamps the agents' pops: the same two ends, only the work
    between them differs."""
    from aiohttp import web

    seen: list[tuple[str, int]] = []
    clients: list[web.WebSocketResponse] = []
    connected = asyncio.Event()

    async def ws_handler(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        clients.append(ws)
        connected.set()
        async for _ in ws:
            pass
        return ws

    async def note(event: Event) -> None:
        if event.name == "AgentCalled":
            uid = event["Uniqueid"]
            seen.append((uid, time.monotonic_ns()))
            for ws in clients:
                await ws.send_str(f'{{"type":"pop","call_id":"{uid}"}}')

    app = web.Application()
    app.router.add_get("/ws/floor", ws_handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(f"http {runner.addresses[0][1]}", flush=True)
    while (line := (await stdin.readline()).decode().strip()) != "connect-ami":
        if not line:
            return
    task = asyncio.create_task(_read_ami("127.0.0.1", peer_port, note))
    print("ok", flush=True)
    await stdin.readline()  # the driver says the burst is written and the frames are in
    print("seen " + json.dumps(seen), flush=True)
    await stdin.read()
    task.cancel()
    await runner.cleanup()


async def serve(
    peer_port: int,
    baseline: bool,
    bus_kind: str,
    call_log: bool = True,
    profile: Path | None = None,
    breakdown: bool = False,
    node: tuple[int, str] | None = None,
    callers: str = "registered",
    trace: Path = DEFAULT_TRACE,
) -> None:
    """The server process: prints `http <port>` then runs until stdin closes.

    `callers`, `trace`: which residents it knows (`bench_residents`).

    `node` = (index, Redis key prefix): one node of a cluster on the Redis bus — the seat
    map shared through Redis (every node's tracker knows who sits where, so every node
    builds each pop and publishes it `once` by its ring's key), node 0 the acting one.
    """
    from aiohttp import web

    from cti.bus import Bus, InProcessBus, RedisBus
    from cti.db import create_engine, upgrade
    from cti.logs import setup as setup_logging
    from cti.settings import LocatorSettings, SeatsSettings, Settings
    from cti.state import CallLog, CallTracker, StateService
    from cti.tasks import settle_heap
    from cti.web import WebServices, create_app
    from locator import Locator, save_residents
    from seats import RedisSeatDirectory, SeatDirectory

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)

    if baseline:
        await _serve_floor(peer_port, stdin)
        return

    # Logged as `cti serve` logs (INFO, one line a record, to stderr; the driver sends it
    # to a file): the log lines on the pop's path are paid here as in production.
    setup_logging()
    tmp = tempfile.TemporaryDirectory()
    engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.sqlite3'}")
    await upgrade(engine)
    await save_residents(engine, bench_residents(callers, trace))
    locator = await Locator.open(engine, LocatorSettings())
    prefix = node[1] if node is not None else f"bench:{os.getpid()}:"
    bus: Bus = (
        RedisBus.from_url(REDIS_URL, prefix=prefix) if bus_kind == "redis" else InProcessBus()
    )
    seats: SeatDirectory
    if node is not None:
        seats = shared_seats = RedisSeatDirectory.from_url(REDIS_URL, prefix=prefix)
        await shared_seats.start()
    else:
        seats = SeatDirectory()
    state = StateService(
        CallTracker(seats),
        bus,
        locator,
        CallLog(engine) if call_log else None,
        acting=lambda: node is None or node[0] == 0,
    )
    published: list[str] = []  # several nodes: the pops this node's publish put out
    if node is not None:
        _note_published(bus, published)
    services = WebServices(accounts=OpenAccounts(), bus=bus, wrapups=state, seats=seats)
    # 1,000 bench agents sit at seat01…seat1000: more seats than the hotline's 52
    app = create_app(Settings(seats=SeatsSettings(count=9999)), services)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    writer_task = asyncio.create_task(state.run())
    ami_task: asyncio.Task[None] | None = None
    on_event = state.on_event
    stamps: dict[str, dict[str, int]] = {}
    if breakdown:
        on_event = _stamp_stages(state, bus, stamps)
    settle_heap()  # as `cti serve` does once started
    print(f"http {port}", flush=True)
    profiler = cProfile.Profile() if profile is not None else None
    while line := (await stdin.readline()).decode().strip():
        if line == "connect-ami":
            if profiler is not None:
                profiler.enable()
            ami_task = asyncio.create_task(_read_ami("127.0.0.1", peer_port, on_event))
            print("ok", flush=True)
        elif line == "stamps":
            print("stamps " + json.dumps(stamps), flush=True)
        elif line == "published":
            print("published " + json.dumps(published), flush=True)
    if profiler is not None and profile is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    await state.flush()
    for owned in (ami_task, writer_task):
        if owned is not None:
            owned.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await owned
    await runner.cleanup()
    await locator.close()
    await bus.close()
    if isinstance(seats, RedisSeatDirectory):
        await seats.close()
    await engine.dispose()
    tmp.cleanup()


def _note_published(bus: Any, published: list[str]) -> None:
    """Several nodes: note the call id of every pop this node's publish put out (a `once`
    publish another node won returns 0)."""
    post = bus.post

    def noting(agent_id: str, message: dict[str, Any], **kw: Any) -> asyncio.Future[int]:
        posted: asyncio.Future[int] = post(agent_id, message, **kw)
        if message.get("type") == "pop":

            def note(done: asyncio.Future[int]) -> None:
                if not done.cancelled() and done.exception() is None and done.result():
                    published.append(message["call_id"])

            posted.add_done_callback(note)
        return posted

    bus.post = noting


def _stamp_stages(state: Any, bus: Any, stamps: dict[str, dict[str, int]]) -> Any:
    """`--breakdown`: note per call when its AgentCalled was parsed, its pop published (handed
    to the agent's reader) and handed to the agent's socket (wrappers around the service, the
    bus and the socket: a few µs more per pop, so the headline figures are taken without
    them)."""
    from cti.bus.base import Subscriber
    from cti.web.sockets import AgentSocket

    async def on_event(event: Event) -> None:
        if event.name == "AgentCalled":
            stamps.setdefault(event.get("Uniqueid") or "", {})["parsed"] = time.monotonic_ns()
        await state.on_event(event)

    offer = Subscriber.offer

    def stamped_offer(self: Subscriber, message: dict[str, Any]) -> None:
        # Published = handed to the agent's reader (either bus, after Redis answered).
        if message.get("type") == "pop" and "call_id" in message:
            stamps.setdefault(message["call_id"], {}).setdefault("published", time.monotonic_ns())
        offer(self, message)

    send = AgentSocket.send

    async def stamped_send(self: AgentSocket, message: Any) -> bool:
        # The socket's reader task woke and hands the pop to the socket (JSON, the write);
        # a stamp after the send would come late: the coroutine resumes after the write.
        if message.get("type") == "pop":
            stamps.setdefault(message["call_id"], {}).setdefault("socket", time.monotonic_ns())
        return await send(self, message)

    send_now = AgentSocket.send_now

    def stamped_send_now(self: AgentSocket, message: Any) -> bool:
        # The publisher's own call hands the pop to an idle socket (no task woke for it). No
        # stamp after the write: on loopback the send wakes the client, which on this 2-core
        # VM often runs (and stamps the pop) before the server's syscall returns.
        if message.get("type") == "pop":
            stamps.setdefault(message["call_id"], {}).setdefault("socket", time.monotonic_ns())
        return send_now(self, message)

    setattr(Subscriber, "offer", stamped_offer)  # noqa: B010 (a bench-only wrapper)
    setattr(AgentSocket, "send", stamped_send)  # noqa: B010 (a bench-only wrapper)
    setattr(AgentSocket, "send_now", stamped_send_now)  # noqa: B010 (a bench-only wrapper)
    return on_event


# --- the driver --------------------------------------------------------------------------------


@dataclass
class Result:
    latencies_ms: list[float]
    pops: int
    expected: int
    rss_mb: float | None
    # --breakdown: per stage (wire→parsed, parsed→published, published→socket,
    # socket→client), the latencies in ms
    stages: dict[str, list[float]] = field(default_factory=dict)
    # The floor only: AgentCalled written → parsed by the bare reader (stamped in the server
    # process, no hop to a client: the floor of issue 5's tables)
    parsed_ms: list[float] = field(default_factory=list)


def rss_mb(pid: int) -> float | None:
    """Resident set size of `pid` in MB, from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def _spawn(
    peer_port: int,
    baseline: bool,
    bus_kind: str,
    breakdown: bool,
    node: tuple[int, str] | None = None,
    callers: str = "registered",
    trace: Path = DEFAULT_TRACE,
) -> asyncio.subprocess.Process:
    args = ["-m", "cti.state.bench", "serve", "--peer-port", str(peer_port), "--bus", bus_kind]
    args += ["--callers", callers, "--trace", str(trace)]
    if node is not None:
        args += ["--node-index", str(node[0]), "--prefix", node[1]]
    if baseline:
        args.append("--baseline")
    elif breakdown:
        args.append("--breakdown")
    if os.environ.get("BENCH_POP_NO_CALL_LOG"):
        args.append("--no-call-log")
    if os.environ.get("BENCH_POP_PROFILE") and not baseline:
        args += ["--profile", os.environ["BENCH_POP_PROFILE"]]
    # The server's log goes to a file (as it would to journald): the last server's log is
    # kept in $BENCH_POP_LOG, default /tmp/bench-pop.log.
    log_path = os.environ.get("BENCH_POP_LOG") or os.path.join(
        tempfile.gettempdir(), "bench-pop.log"
    )
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log_fd,
        )
    finally:
        os.close(log_fd)


async def _line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    return (await asyncio.wait_for(proc.stdout.readline(), 120)).decode().strip()


async def _send(proc: asyncio.subprocess.Process, text: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(text.encode() + b"\n")
    await proc.stdin.drain()


# Logins in flight at once: 1,000 at once on the Redis seat map ran it out of connections
# (503 store_unavailable); a shift's logins are not what is measured here.
_LOGINS = asyncio.Semaphore(50)


async def _agent(
    session: aiohttp.ClientSession,
    base: str,
    agent: str,
    seat: str,
    received: dict[str, int],
    ready: asyncio.Queue[str],
    all_in: asyncio.Event,
    expected: int,
    frames: list[str] | None = None,
) -> None:
    async with _LOGINS:
        resp = await session.post(
            f"{base}/api/login", json={"agent": agent, "password": PASSWORD, "seat": seat}
        )
        resp.raise_for_status()
        token = (await resp.json())["token"]
    async with session.ws_connect(f"{base}/ws/agent?token={token}&last_seq=0") as ws:
        await ready.put(agent)
        await stamp_pops(ws, received, all_in, expected, frames)


async def _floor_client(
    session: aiohttp.ClientSession,
    base: str,
    received: dict[str, int],
    ready: asyncio.Queue[str],
    all_in: asyncio.Event,
    expected: int,
) -> None:
    async with session.ws_connect(f"{base}/ws/floor") as ws:
        await ready.put("floor")
        await stamp_pops(ws, received, all_in, expected)


async def stamp_pops(
    ws: aiohttp.ClientWebSocketResponse,
    received: dict[str, int],
    all_in: asyncio.Event,
    expected: int,
    frames: list[str] | None = None,
) -> None:
    """Note when each call's first pop frame arrived (`frames`: every pop frame, in order)."""
    async for frame in ws:
        if frame.type != aiohttp.WSMsgType.TEXT:
            break
        at = time.monotonic_ns()
        message = json.loads(frame.data)
        if message.get("type") == "pop":
            received.setdefault(message["call_id"], at)
            if frames is not None:
                frames.append(message["call_id"])
            if len(received) >= expected:
                all_in.set()


async def run_once(
    agents: int,
    trace: Path,
    bus_kind: str,
    baseline: bool,
    rate: float | None,
    breakdown: bool = False,
    callers: str = "registered",
) -> Result:
    """One measured replay with `agents` connected (or the bare-reader baseline)."""
    peer = Peer(burst_messages(trace), rate)
    expected = sum(1 for _, called in peer.messages if called)
    server = await asyncio.start_server(peer.handle, "127.0.0.1", 0)
    peer_port = server.sockets[0].getsockname()[1]
    proc = await _spawn(peer_port, baseline, bus_kind, breakdown, callers=callers, trace=trace)
    received: dict[str, int] = {}
    parsed: dict[str, int] = {}
    stamps: dict[str, dict[str, int]] = {}
    tasks: list[asyncio.Task[None]] = []
    try:
        http_port = int((await _line(proc)).split()[1])
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            ready: asyncio.Queue[str] = asyncio.Queue()
            all_in = asyncio.Event()
            base = f"http://127.0.0.1:{http_port}"
            if baseline:
                client = _floor_client(session, base, received, ready, all_in, expected)
                tasks.append(asyncio.create_task(client))
            for n in range(1, 0 if baseline else agents + 1):
                agent, seat = f"bench{n:04d}", f"seat{n:02d}"
                client = _agent(session, base, agent, seat, received, ready, all_in, expected)
                tasks.append(asyncio.create_task(client))
            for _ in tasks:
                await asyncio.wait_for(ready.get(), 60)
            await _send(proc, "connect-ami")
            await _line(proc)
            await peer.connected.wait()
            peer.go.set()
            await peer.done.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_in.wait(), 10)
            rss = None if baseline else rss_mb(proc.pid)
            if baseline:
                await _send(proc, "written")
                parsed = dict(json.loads((await _line(proc)).split(" ", 1)[1]))
            elif breakdown:
                await _send(proc, "stamps")
                stamps = json.loads((await _line(proc)).split(" ", 1)[1])
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        server.close()
    latencies = [
        (received[uid] - peer.written[uid]) / 1e6 for uid in peer.written if uid in received
    ]
    result = Result(
        latencies, len(received), expected, rss, _stages(peer.written, stamps, received)
    )
    result.parsed_ms = [
        (parsed[uid] - peer.written[uid]) / 1e6 for uid in peer.written if uid in parsed
    ]
    return result


STAGES = (
    ("wire → parsed", "wire", "parsed"),
    ("parsed → published", "parsed", "published"),
    ("published → socket", "published", "socket"),
    ("socket → client", "socket", "client"),
)


def _stages(
    wire: dict[str, int], stamps: dict[str, dict[str, int]], client: dict[str, int]
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for uid, at in stamps.items():
        times = {**at, "wire": wire.get(uid, 0), "client": client.get(uid, 0)}
        if all(times.get(k) for k in ("wire", "parsed", "published", "socket", "client")):
            for label, start, end in STAGES:
                out.setdefault(label, []).append((times[end] - times[start]) / 1e6)
    return out


@dataclass
class NodesResult:
    """`--nodes N`: every pop, the cross-node ones (the agent's node did not publish it:
    it came over Redis from the node whose `once` publish won), and duplicates."""

    all: Result
    cross_ms: list[float]
    same_ms: list[float]
    frames: int  # pop frames received (one per AgentCalled when nothing is duplicated)


async def run_nodes(
    agents: int, nodes: int, trace: Path, rate: float | None, callers: str = "registered"
) -> NodesResult:
    """One replay read by `nodes` CTI nodes (Redis bus, Redis seat map, one key prefix), the
    agents split across them (agent n on node (n - 1) % nodes)."""
    peer = Peer(burst_messages(trace), rate, readers=nodes)
    expected = sum(1 for _, called in peer.messages if called)
    server = await asyncio.start_server(peer.handle, "127.0.0.1", 0)
    peer_port = server.sockets[0].getsockname()[1]
    prefix = f"bench:{os.getpid()}:{time.monotonic_ns()}:"
    procs = [
        await _spawn(peer_port, False, "redis", False, (i, prefix), callers, trace)
        for i in range(nodes)
    ]
    received: dict[str, int] = {}
    frames: list[str] = []
    agent_of: dict[str, int] = {}  # call id -> node of the agent that got its pop
    published: dict[str, int] = {}  # call id -> node whose publish put the pop out
    tasks: list[asyncio.Task[None]] = []
    rss: list[float] = []
    try:
        ports = [int((await _line(proc)).split()[1]) for proc in procs]
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            ready: asyncio.Queue[str] = asyncio.Queue()
            all_in = asyncio.Event()
            node_frames: list[list[str]] = [[] for _ in procs]
            for n in range(1, agents + 1):
                index = (n - 1) % nodes
                base = f"http://127.0.0.1:{ports[index]}"
                agent, seat = f"bench{n:04d}", f"seat{n:02d}"
                got = node_frames[index]
                client = _agent(session, base, agent, seat, received, ready, all_in, expected, got)
                tasks.append(asyncio.create_task(client))
            for _ in tasks:
                await asyncio.wait_for(ready.get(), 60)
            await asyncio.sleep(0.5)  # every node's seat map has every login
            for proc in procs:
                await _send(proc, "connect-ami")
                await _line(proc)
            await peer.connected.wait()
            peer.go.set()
            await peer.done.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_in.wait(), 10)
            await asyncio.sleep(0.2)  # a duplicate would come now
            for index, proc in enumerate(procs):
                rss.append(rss_mb(proc.pid) or 0.0)
                await _send(proc, "published")
                for call_id in json.loads((await _line(proc)).split(" ", 1)[1]):
                    published[call_id] = index
            for index, got in enumerate(node_frames):
                frames.extend(got)
                agent_of.update({call_id: index for call_id in got})
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        server.close()
        await _delete_keys(prefix)
    latency = {
        uid: (received[uid] - peer.written[uid]) / 1e6 for uid in peer.written if uid in received
    }
    cross = [ms for uid, ms in latency.items() if published.get(uid, -1) != agent_of.get(uid)]
    same = [ms for uid, ms in latency.items() if published.get(uid, -1) == agent_of.get(uid)]
    result = Result(list(latency.values()), len(received), expected, max(rss) if rss else None)
    return NodesResult(result, cross, same, len(frames))


async def _delete_keys(prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def _pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def report(label: str, result: Result, base: Result | None) -> dict[str, float]:
    """Print one line of figures (and ratios against the baseline); return the figures."""
    lat = result.latencies_ms
    figures = {
        "p50": statistics.median(lat),
        "p99": _pct(lat, 99),
        "max": max(lat),
    }
    line = (
        f"{label:<24} pops {result.pops}/{result.expected}  "
        f"p50 {figures['p50']:.2f} ms  p99 {figures['p99']:.2f} ms  max {figures['max']:.2f} ms"
    )
    if base is not None:
        for floor, name in ((base.latencies_ms, "relay floor"), (base.parsed_ms, "parse-only")):
            f50, f99 = statistics.median(floor), _pct(floor, 99)
            line += f"  x{figures['p50'] / f50:.1f} / x{figures['p99'] / f99:.1f} of {name}"
    if result.rss_mb is not None:
        line += f"  server RSS {result.rss_mb:.0f} MB"
    print(line, flush=True)
    for stage, values in result.stages.items():
        print(
            f"    {stage:<22} p50 {statistics.median(values):.3f} ms"
            f"  p99 {_pct(values, 99):.3f} ms",
            flush=True,
        )
    return figures


async def pooled(
    repeat: int, agents: int, args: argparse.Namespace, baseline: bool, rate: float | None
) -> Result:
    """`repeat` runs with their latencies pooled (the machine is shared: one run is noisy)."""
    runs = [
        await run_once(
            agents, args.trace, args.bus[0], baseline, rate, args.breakdown, args.callers
        )
        for _ in range(repeat)
    ]
    return pool(runs)


async def pooled_buses(
    repeat: int, agents: int, args: argparse.Namespace, rate: float | None
) -> dict[str, Result]:
    """`repeat` runs per bus, the buses taking turns (memory, redis, memory, …), so that
    each bus sees the same moments of a shared machine's load; pooled per bus."""
    runs: dict[str, list[Result]] = {kind: [] for kind in args.bus}
    for _ in range(repeat):
        for kind in args.bus:
            run = await run_once(
                agents, args.trace, kind, False, rate, args.breakdown, args.callers
            )
            runs[kind].append(run)
    return {kind: pool(results) for kind, results in runs.items()}


def pool(runs: list[Result]) -> Result:
    """Several runs' figures as one."""
    rss = [r.rss_mb for r in runs if r.rss_mb is not None]
    stages: dict[str, list[float]] = {}
    for r in runs:
        for stage, values in r.stages.items():
            stages.setdefault(stage, []).extend(values)
    return Result(
        [x for r in runs for x in r.latencies_ms],
        sum(r.pops for r in runs),
        sum(r.expected for r in runs),
        max(rss) if rss else None,
        stages,
        [x for r in runs for x in r.parsed_ms],
    )


async def amain_nodes(args: argparse.Namespace) -> int:
    """`--nodes N`: the paced replay read by N nodes on Redis, agents split across them."""
    rate = None if args.pace == "burst" else args.rate
    print(
        f"load average at start: {os.getloadavg()[0]:.1f}; {args.repeat} run(s) pooled each; "
        f"{args.nodes} nodes on Redis, agents split across them; callers: {args.callers}"
    )
    failed = False
    for agents in args.agents:
        runs = [
            await run_nodes(agents, args.nodes, args.trace, rate, args.callers)
            for _ in range(args.repeat)
        ]
        every = Result(
            [x for r in runs for x in r.all.latencies_ms],
            sum(r.all.pops for r in runs),
            sum(r.all.expected for r in runs),
            max(r.all.rss_mb or 0.0 for r in runs),
        )
        report(f"{agents} agents, all pops", every, None)
        for label, values in (
            ("cross-node", [x for r in runs for x in r.cross_ms]),
            ("same node", [x for r in runs for x in r.same_ms]),
        ):
            if values:
                report(
                    f"{agents} agents, {label}",
                    Result(values, len(values), len(values), None),
                    None,
                )
        frames = sum(r.frames for r in runs)
        print(f"    pop frames received {frames} for {every.expected} AgentCalled", flush=True)
        failed |= every.pops != every.expected or frames != every.expected
    return 1 if failed else 0


_CALLERS = {
    "registered": f"registered (each one of {REGISTERED_RESIDENTS:,} residents: pops carry a card)",
    "unknown": "unknown (the 8-row sample: pops say unknown)",
}


async def amain(args: argparse.Namespace) -> int:
    if args.nodes > 1:
        return await amain_nodes(args)
    failed = False
    paces: list[tuple[str, float | None]] = []
    if args.pace in ("burst", "both"):
        paces.append(("burst", None))
    if args.pace in ("paced", "both"):
        paces.append(("paced", args.rate))
    print(f"load average at start: {os.getloadavg()[0]:.1f}; {args.repeat} run(s) pooled each")
    print(f"callers: {_CALLERS[args.callers]}")
    for pace, rate in paces:
        print(f"-- {pace}" + (f" ({rate:.0f} messages/s)" if rate else " (as fast as possible)"))
        base = await pooled(args.repeat, 0, args, True, rate)
        report("floor: parse + relay", base, None)
        parse_only = Result(base.parsed_ms, base.pops, base.expected, None)
        report("floor: parse only", parse_only, None)
        for agents in args.agents:
            results = await pooled_buses(args.repeat, agents, args, rate)
            figures = {}
            for kind, result in results.items():
                figures[kind] = report(f"{agents} agents ({kind})", result, base)
                failed |= result.pops != result.expected
            if "memory" in figures and "redis" in figures:
                mem, red = figures["memory"], figures["redis"]
                print(
                    f"    redis − memory: p50 {red['p50'] - mem['p50']:+.2f} ms"
                    f"  p99 {red['p99'] - mem['p99']:+.2f} ms",
                    flush=True,
                )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """`scripts/bench-pop [--agents 52 1000] [--bus memory|redis]`, or the server side."""
    parser = argparse.ArgumentParser(prog="bench-pop")
    sub = parser.add_subparsers(dest="mode")
    srv = sub.add_parser("serve")
    srv.add_argument("--peer-port", type=int, required=True)
    srv.add_argument("--baseline", action="store_true")
    srv.add_argument("--bus", choices=["memory", "redis"], default="memory")
    srv.add_argument("--no-call-log", action="store_true")
    srv.add_argument("--profile", type=Path, default=None)
    srv.add_argument("--breakdown", action="store_true")
    srv.add_argument("--node-index", type=int, default=None)
    srv.add_argument("--prefix", default=None)
    srv.add_argument("--callers", choices=["registered", "unknown"], default="registered")
    srv.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument("--agents", type=int, nargs="+", default=[52, 1000])
    parser.add_argument(
        "--bus",
        choices=["memory", "redis"],
        nargs="+",
        default=["memory"],
        help="one or both: with both, the runs take turns and share the floors",
    )
    parser.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument(
        "--callers",
        choices=["registered", "unknown"],
        default="registered",
        help="registered: each caller is one of 10,000 residents, every pop carries a card "
        "(the hotline's case); unknown: the 8-row sample, every pop says unknown",
    )
    # The recording: 60 calls originated in 3 s, 7,000 server messages (with the list
    # replies) in about 3.6 s on the real Asterisk: ~2,000 messages/s.
    parser.add_argument("--rate", type=float, default=2000.0, help="paced replay, messages/s")
    parser.add_argument("--pace", choices=["burst", "paced", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--nodes",
        type=int,
        default=1,
        help="N > 1: N nodes on the Redis bus read the same PBX, agents split across them",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time each stage of the pop (wrappers add a few µs: not for headline figures)",
    )
    args = parser.parse_args(argv)
    if args.mode == "serve":
        asyncio.run(
            serve(
                args.peer_port,
                args.baseline,
                args.bus,
                not args.no_call_log,
                args.profile,
                args.breakdown,
                (args.node_index, args.prefix) if args.node_index is not None else None,
                args.callers,
                args.trace,
            )
        )
        return 0
    return asyncio.run(amain(args))


if __name__ == "__main__":
    raise SystemExit(main())
