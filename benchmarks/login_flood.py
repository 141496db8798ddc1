"""Screen-pop latency while `POST /api/login` is flooded (issue 10, point 4).

The pop bench's stack (`cti.state.bench`: AMI peer replaying the 60-call burst, the server in
its own process with the state machine, locator, bus and web app, 52 agents on real
WebSockets), with accounts whose `flood*` ids are checked with real argon2 exactly as
`MemoryAgentAccounts` does. Before the burst is replayed, the driver fires a flood of
concurrent logins at the same server:

- `right`: N distinct agents with the right password at seats beyond the measured ones (a
  shift change gone wrong, or a script);
- `wrong`: N wrong passwords for one agent from one address (a guesser).

Printed per run: pop p50/p99/max, the flood's answers by status and the time to the last
one, and how long one real login (`probe`, started with the flood) took.
Run: `scripts/bench-login-flood [--flood none right wrong] [--size 300] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from cti.state import bench

RIGHT = "flood-right-password"
FLOOD_SEAT_BASE = 100  # flood logins take seat100…, away from the measured seat01..seat52
SEATS_FOR_FLOOD = 1000  # the bench server's CTI_SEATS__COUNT
_OPEN = bench.OpenAccounts


class FloodAccounts:
    """`bench*` open without argon2 (as in the pop bench); `flood*` and `probe` checked with
    argon2 (one hash, verified the way the real accounts verify)."""

    def __init__(self) -> None:
        from seats.passwords import hash_password

        self._hash = hash_password(RIGHT)
        self._open = _OPEN()

    async def authenticate(self, agent_id: str, password: str) -> Any:
        if agent_id.startswith("bench"):
            return await self._open.authenticate(agent_id, password)
        from seats import AgentProfile
        from seats.passwords import verify_password

        checks: Any = None
        with contextlib.suppress(ImportError):  # the bounded checks, once they exist
            from seats.passwords import CHECKS

            checks = CHECKS
        if checks is not None:
            ok = await checks.verify(self._hash, password)
        else:
            ok = await asyncio.to_thread(verify_password, self._hash, password)
        return AgentProfile(id=agent_id, name=agent_id, languages=("zh",)) if ok else None

    async def get(self, agent_id: str) -> Any:
        return await self._open.get(agent_id)


@dataclass
class FloodResult:
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    last_answer_s: float = 0.0
    probe_s: float | None = None
    probe_status: int | None = None


async def _flood(base: str, kind: str, size: int, result: FloodResult) -> None:
    start = time.monotonic()
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(n: int) -> None:
            if kind == "right":
                body = {"agent": f"flood{n:04d}", "password": RIGHT}
                body["seat"] = f"seat{FLOOD_SEAT_BASE + n:02d}"
            else:
                body = {"agent": "flood-victim", "password": f"guess{n}", "seat": "seat99"}
            try:
                async with session.post(f"{base}/api/login", json=body) as resp:
                    await resp.read()
                    result.statuses[resp.status] += 1
            except aiohttp.ClientError:
                result.statuses[0] += 1
            result.last_answer_s = time.monotonic() - start

        async def probe() -> None:
            await asyncio.sleep(0.05)  # behind the flood's first wave
            t0 = time.monotonic()
            body = {"agent": "probe", "password": RIGHT, "seat": "seat99"}
            for _ in range(100):  # a page retries when told to
                async with session.post(f"{base}/api/login", json=body) as resp:
                    await resp.read()
                    result.probe_status = resp.status
                    if resp.status not in (429, 503):
                        break
                    await asyncio.sleep(float(resp.headers.get("Retry-After", "1")))
            result.probe_s = time.monotonic() - t0

        await asyncio.gather(probe(), *(one(n) for n in range(size)))


async def run_once(
    kind: str, size: int, agents: int, rate: float
) -> tuple[bench.Result, FloodResult]:
    """One replay of the burst with `agents` connected while the flood `kind` runs."""
    peer = bench.Peer(bench.burst_messages(bench.DEFAULT_TRACE), rate)
    expected = sum(1 for _, called in peer.messages if called)
    server = await asyncio.start_server(peer.handle, "127.0.0.1", 0)
    peer_port = server.sockets[0].getsockname()[1]
    env = dict(os.environ)
    from cti.settings import Settings

    if "seats" in Settings.model_fields:  # the flood's seats must exist
        env["CTI_SEATS__COUNT"] = str(SEATS_FOR_FLOOD)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.login_flood", "serve", "--peer-port", str(peer_port),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    received: dict[str, int] = {}
    flood = FloodResult()
    tasks: list[asyncio.Task[None]] = []
    try:
        base = f"http://127.0.0.1:{int((await bench._line(proc)).split()[1])}"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            ready: asyncio.Queue[str] = asyncio.Queue()
            all_in = asyncio.Event()
            for n in range(1, agents + 1):
                agent, seat = f"bench{n:04d}", f"seat{n:02d}"
                client = bench._agent(session, base, agent, seat, received, ready, all_in, expected)
                tasks.append(asyncio.create_task(client))
            for _ in range(agents):
                await asyncio.wait_for(ready.get(), 60)
            await bench._send(proc, "connect-ami")
            await bench._line(proc)
            await peer.connected.wait()
            flooding = asyncio.create_task(_flood(base, kind, size, flood)) if size else None
            await asyncio.sleep(0.3)  # the flood is in full swing
            peer.go.set()
            await peer.done.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_in.wait(), 30)
            if flooding is not None:
                await flooding
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
    latencies = [(received[u] - peer.written[u]) / 1e6 for u in peer.written if u in received]
    return bench.Result(latencies, len(received), expected, None), flood


async def amain(args: argparse.Namespace) -> int:
    print(f"load average at start: {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs")
    failed = False
    for kind in args.flood:
        size = 0 if kind == "none" else args.size
        lat: list[float] = []
        for _ in range(args.repeat):
            result, flood = await run_once(kind, size, args.agents, args.rate)
            lat += result.latencies_ms
            failed |= result.pops != result.expected
            probe = f"{flood.probe_s:.2f} s ({flood.probe_status})" if flood.probe_s else "-"
            print(
                f"  {kind:<5} x{size}: pops {result.pops}/{result.expected}  "
                f"p99 {bench._pct(result.latencies_ms, 99):.1f} ms  "
                f"flood answers {dict(sorted(flood.statuses.items()))} "
                f"last after {flood.last_answer_s:.2f} s  probe login {probe}",
                flush=True,
            )
        print(
            f"{kind:<5} pooled: p50 {statistics.median(lat):.2f} ms  "
            f"p99 {bench._pct(lat, 99):.2f} ms  max {max(lat):.2f} ms",
            flush=True,
        )
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """`scripts/bench-login-flood`, or the server side (`serve`)."""
    parser = argparse.ArgumentParser(prog="bench-login-flood")
    sub = parser.add_subparsers(dest="mode")
    srv = sub.add_parser("serve")
    srv.add_argument("--peer-port", type=int, required=True)
    parser.add_argument("--flood", nargs="+", choices=["none", "right", "wrong"],
                        default=["none", "right", "wrong"])  # fmt: skip
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--agents", type=int, default=52)
    parser.add_argument("--rate", type=float, default=2000.0, help="paced replay, messages/s")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if args.mode == "serve":
        bench.OpenAccounts = FloodAccounts  # type: ignore[misc,assignment]
        asyncio.run(bench.serve(args.peer_port, False, "memory"))
        return 0
    return asyncio.run(amain(args))


if __name__ == "__main__":
    raise SystemExit(main())
