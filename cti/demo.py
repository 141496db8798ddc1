"""`cti demo`: the PBX simulator, the CTI server and agent pages on loopback, in one command.

What a new user runs (through `scripts/demo`): a registry of generated residents in SQLite,
demo agent accounts at a few seats, the simulator placing calls from registered and
unregistered numbers, and the server popping them on the agents' pages. Ctrl-C stops it all.
SIGUSR1 restarts the simulator (like `core restart now`) to show the reconnect and resync.
With `--pbx asterisk` the same runs on the real Asterisk 22.10.1 of `shared/asterisk/`
(`cti.testbed`: the recordings' configuration on free ports, callers placed by Originate,
Local seats that answer), and SIGUSR1 sends it `core restart now`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import signal
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from cti.db import create_engine, upgrade
from cti.settings import AMISettings, HTTPSettings, IVRSettings, MembersSettings, Settings
from cti.sim import LoadConfig, PbxConfig, SimConfig, SimThread
from locator import ResidentRecord, generate_residents, registry_version, save_residents
from seats import SqlAgentAccounts

log = logging.getLogger(__name__)

DEMO_PASSWORD = "demo-pass"


@dataclass(frozen=True, slots=True)
class DemoAgent:
    """A demo login: agent id, display name, languages, seat."""

    agent_id: str
    name: str
    languages: str
    seat: str


DEMO_AGENTS = (
    DemoAgent("agent01", "王芳", "zh", "seat01"),
    DemoAgent("agent02", "李强", "zh,en", "seat02"),
    DemoAgent("agent41", "Emma Clark", "en,zh", "seat41"),
    DemoAgent("agent47", "김민지", "ko,zh", "seat47"),
)


@dataclass(frozen=True, slots=True)
class DemoSupervisor:
    """The demo's supervisor login (no seat): the one who opens `/wallboard`."""

    agent_id: str
    name: str
    languages: str


DEMO_SUPERVISOR = DemoSupervisor("super01", "陈组长", "zh,en,ko")


def register(sub: Any) -> None:
    """Add the `demo` subcommand."""
    p = sub.add_parser("demo", help="run the simulator + CTI server + agent pages on loopback")
    p.add_argument("--rate", type=float, default=240.0, help="calls per hour (default 240)")
    p.add_argument("--duration", type=float, default=0.0, help="seconds to run (0: until ^C)")
    p.add_argument("--port", type=int, default=8080, help="HTTP port of the agent pages")
    p.add_argument("--ami-port", type=int, default=0, help="simulator AMI port (0: any free)")
    p.add_argument("--residents", type=int, default=3000, help="registry size to generate")
    p.add_argument("--dir", type=Path, default=Path("var/demo"), help="where the demo DB lives")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--pbx",
        choices=["sim", "asterisk"],
        default="sim",
        help="the PBX simulator (default), or the real Asterisk of ../shared/asterisk",
    )
    p.set_defaults(func=run)


def caller_ids(records: Sequence[ResidentRecord], seed: int) -> tuple[str, ...]:
    """Caller IDs as the trunk delivers them: mostly registered residents (national format),
    household landlines, unknown local numbers, `<unknown>` and foreign +82/+1 numbers."""
    rng = random.Random(seed)
    registered = [_national(p) for r in records for p in (*r.mobiles, *r.landlines)]
    picked = rng.sample(registered, min(len(registered), 300))
    unknown = [f"13{rng.randrange(10**9):09d}" for _ in range(60)]
    foreign = ["+821012345678", "+821098765432", "+15551234567", "+16175550123"] * 5
    return tuple(picked + unknown + foreign + ["<unknown>"] * 10)


def _national(e164: str) -> str:
    # Asterisk shows what the trunk sent: `05356683318` for a landline, 11 digits for a mobile.
    if e164.startswith("+865"):
        return "0" + e164[3:]
    return e164.removeprefix("+86")


async def prepare(url: str, residents: int, seed: int) -> list[ResidentRecord]:
    """Migrate the demo database, fill the registry once, create the demo agents and the
    supervisor."""
    engine = create_engine(url)
    try:
        await upgrade(engine, "head")
        records = list(generate_residents(residents, seed))
        if await registry_version(engine) == 0:
            await save_residents(engine, records)
        accounts = SqlAgentAccounts(engine)
        for a in DEMO_AGENTS:
            await accounts.add(a.agent_id, a.name, a.languages, DEMO_PASSWORD, a.seat)
        s = DEMO_SUPERVISOR
        await accounts.add(s.agent_id, s.name, s.languages, DEMO_PASSWORD, role="supervisor")
        return records
    finally:
        await engine.dispose()


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What `cti demo` runs: rates, ports, the registry and where the database lives."""

    rate: float = 240.0
    port: int = 8080
    ami_port: int = 0
    residents: int = 3000
    dir: Path = Path("var/demo")
    seed: int = 1
    talk: tuple[float, float] = (15.0, 45.0)
    pbx: str = "sim"  # or "asterisk"


class DemoPbx(Protocol):
    """What the demo needs of its PBX: the simulator or the test-bed Asterisk."""

    @property
    def port(self) -> int:
        """Its AMI port on 127.0.0.1."""

    async def placed(self) -> int:
        """How many calls it placed."""

    async def restart(self) -> None:
        """Restart as `core restart now` does."""


@dataclass(frozen=True, slots=True)
class RunningDemo:
    """A demo that is up: the PBX (simulator or Asterisk), the web app and its port."""

    sim: DemoPbx
    app: web.Application
    http_port: int


@contextlib.asynccontextmanager
async def running_demo(options: DemoOptions) -> AsyncIterator[RunningDemo]:
    """Prepare the database, start the simulator (own thread) and the CTI server (this loop);
    stop both on exit, server first."""
    url = f"sqlite+aiosqlite:///{options.dir.resolve() / 'cti.sqlite3'}"
    records = await prepare(url, options.residents, options.seed)
    ivr_port = _free_port()  # the language menu's FastAGI port, known to the PBX in advance
    async with _pbx(options, records, ivr_port) as sim:
        settings = Settings(
            database_url=url,
            ivr=IVRSettings(port=_agi_port(sim, ivr_port)),
            ami=AMISettings(port=sim.port),
            members=MembersSettings(interface="Local/{seat}@agents/n", acw_timeout_s=20),
            http=HTTPSettings(host="127.0.0.1", port=options.port),
        )
        from cti.web import create_app  # the whole server: only when the demo runs
        from cti.web.access_log import AccessLogger

        app = create_app(settings)
        # the access log without query strings: a page's `?token=` must not reach it
        runner = web.AppRunner(app, shutdown_timeout=5, access_log_class=AccessLogger)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", options.port)
            await site.start()
            port = runner.addresses[0][1]
            yield RunningDemo(sim, app, port)
        finally:
            await runner.cleanup()


@contextlib.asynccontextmanager
async def _pbx(
    options: DemoOptions, records: Sequence[ResidentRecord], ivr_port: int
) -> AsyncIterator[DemoPbx]:
    """The simulator, or the test-bed Asterisk with callers arriving at the same rate."""
    if options.pbx == "asterisk":
        from cti.testbed import RunningAsterisk  # only when asked for

        async with RunningAsterisk(
            (options.dir / "asterisk").resolve(),
            caller_ids=caller_ids(records, options.seed),
            rate_per_hour=options.rate,
            talk=options.talk,
            seed=options.seed,
        ) as asterisk:
            yield asterisk
        return
    sim_config = SimConfig(
        port=options.ami_port,
        pbx=PbxConfig(seed=options.seed, no_answer_ratio=0.1),
        load=LoadConfig(
            rate_per_hour=options.rate,
            caller_ids=caller_ids(records, options.seed),
            talk=options.talk,
            seed=options.seed,
        ),
        # No member is pre-seated: a seat joins its queues when its agent logs in, and is
        # put back by the server after a PBX restart, as with a real Asterisk.
        seats=(),
        ivr=("127.0.0.1", ivr_port),  # callers walk the server's language menu first
    )
    async with SimThread(sim_config) as sim:
        yield sim


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _agi_port(pbx: DemoPbx, default: int) -> int:
    """The test-bed Asterisk's dialplan calls the AGI port it was given; the simulator ours."""
    ports = getattr(getattr(pbx, "asterisk", None), "ports", None)
    return int(ports.agi) if ports is not None else default


async def serve(args: argparse.Namespace) -> None:
    """Run the whole demo until the duration is over or SIGINT/SIGTERM."""
    options = DemoOptions(
        rate=args.rate,
        port=args.port,
        ami_port=args.ami_port,
        residents=args.residents,
        dir=args.dir,
        seed=args.seed,
        pbx=args.pbx,
    )
    stop = asyncio.Event()
    restart = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(NotImplementedError, AttributeError):
        loop.add_signal_handler(signal.SIGUSR1, restart.set)
    print("cti demo: preparing the registry and demo agents…", flush=True)
    async with running_demo(options) as demo:
        _print_welcome(demo.http_port, demo.sim.port, options.rate, options.pbx)
        _print_ivr(demo.app)
        try:
            await _wait(stop, restart, demo.sim, args.duration)
        finally:
            placed = await demo.sim.placed()
            print(f"cti demo: stopping after {placed} calls placed", flush=True)


async def _wait(stop: asyncio.Event, restart: asyncio.Event, sim: DemoPbx, duration: float) -> None:
    deadline = loop_time() + duration if duration else None
    while not stop.is_set():
        left = None if deadline is None else deadline - loop_time()
        if left is not None and left <= 0:
            return
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(restart.wait())]
        _, pending = await asyncio.wait(waiters, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        for w in pending:
            w.cancel()
        if restart.is_set():
            restart.clear()
            print("cti demo: restarting the PBX (the server must reconnect)", flush=True)
            await sim.restart()


def loop_time() -> float:
    """The running loop's clock."""
    return asyncio.get_running_loop().time()


def _print_welcome(http_port: int, ami_port: int, rate: float, pbx: str = "sim") -> None:
    base = f"http://127.0.0.1:{http_port}"
    what = "Asterisk 22.10.1 (test bed), AMI" if pbx == "asterisk" else "PBX simulator"
    print(f"cti demo: {what} on 127.0.0.1:{ami_port}, {rate:g} calls/h", flush=True)
    print(f"cti demo: agent pages at {base}/agent — log in as:", flush=True)
    for a in DEMO_AGENTS:
        print(f"  {a.agent_id} / {DEMO_PASSWORD}  ({a.name}, {a.seat}, {a.languages})")
    print(f"cti demo: wallboard at {base}/wallboard — log in as:", flush=True)
    s = DEMO_SUPERVISOR
    print(f"  {s.agent_id} / {DEMO_PASSWORD}  ({s.name}, supervisor)", flush=True)
    print("cti demo: Ctrl-C stops everything; `kill -USR1 <pid>` restarts the PBX", flush=True)


def _print_ivr(app: web.Application) -> None:
    from cti.web.keys import IVR

    if IVR in app:
        port = app[IVR].port
        print(
            f"cti demo: language menu at agi://127.0.0.1:{port}/language-menu"
            f" (try: cti ivr try --port {port} --keys 3)",
            flush=True,
        )


def run(args: argparse.Namespace) -> int:
    """Entry point of `cti demo`."""
    from cti.logs import setup as setup_logging

    setup_logging()  # one record, one line: a CR/LF in a logged value cannot forge a record
    asyncio.run(serve(args))
    return 0
