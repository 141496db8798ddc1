"""`scripts/bench-ivr`: the FastAGI menu under 200 concurrent sessions, against a bare reader.

Servers under test run in this process, one after the other, interleaved `--repeat` times:
- `ivr`: `ivr.IvrServer` (sans-IO parser + menu, the asyncio server moving bytes);
- `bare`: a bare asyncio handler doing the same exchange (`readuntil` the environment, then
  the very command lines the menu sends for a caller pressing 2, one `readline` per reply):
  no parsing, no menu, the floor.
The callers play Asterisk's side in a child process (the environment of `cti.sim.agi`, the
recordings' reply lines, no parsing: lean, so the servers are what is measured), so the two
sides do not share an event loop: `--sessions` calls, `--concurrency` at a time, each
pressing 2 after the menu's four prompts. Per session: from the connect to the moment the
caller reads `SET VARIABLE QUEUE`. Reported: sessions/s (wall) and p50/p99 of that latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

from cti.sim.agi import AgiCall, environment
from ivr import CallerFacts, IvrServer, LanguageMenu
from ivr.protocol import Command, parse_reply_line

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def menu_commands(press: str = "2") -> list[bytes]:
    """The lines the menu sends a caller who presses `press` at the digit wait."""
    menu = LanguageMenu(CallerFacts())
    step = menu.start()
    sent: list[bytes] = []
    while isinstance(step, Command):
        sent.append(step.encode())
        line = f"200 result={ord(press)}" if step.text.startswith("WAIT FOR DIGIT") else None
        reply = parse_reply_line(line or "200 result=-1 endpos=0")
        assert reply is not None
        step = menu.send(reply)
    return sent


def bare_handler() -> Handler:
    commands = menu_commands()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\n\n")
            for command in commands:
                writer.write(command)
                await reader.readline()
        finally:
            writer.close()

    return handle


_QUEUE_LINE = b'SET VARIABLE QUEUE "q-en"\n'


async def _clients(port: int, sessions: int, concurrency: int) -> dict[str, object]:
    """Lean callers (recorded reply lines, no parsing), so the servers are what is measured."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(i: int) -> None:
        async with gate:
            started = loop.time()
            queue_at = None
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(environment(AgiCall("13805356789", f"1795361860.{i}"), "127.0.0.1", port))
            while line := await reader.readline():
                if line == _QUEUE_LINE:
                    queue_at = loop.time() - started
                if line.startswith(b"WAIT FOR DIGIT"):
                    writer.write(b"200 result=50\n")  # 2
                elif line.startswith(b"STREAM FILE"):
                    writer.write(b"200 result=-1 endpos=0\n")  # 12: no prompts here
                else:
                    writer.write(b"200 result=1\n")
            writer.close()
            if queue_at is None:
                raise RuntimeError(f"session {i}: no SET VARIABLE QUEUE q-en")
            latencies.append(queue_at)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(sessions)))
    return {"wall_s": time.perf_counter() - started, "latencies": latencies}


async def _run_clients(port: int, sessions: int, concurrency: int) -> dict[str, object]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.ivr",
        "--client",
        str(port),
        "--sessions",
        str(sessions),
        "--concurrency",
        str(concurrency),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"client process failed ({proc.returncode})")
    result: dict[str, object] = json.loads(out)
    return result


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(name: str, sessions: int, concurrency: int) -> dict[str, float]:
    if name == "ivr":
        ivr = IvrServer(port=0)
        await ivr.start()
        port, stop = ivr.port, ivr.stop
    else:
        server = await asyncio.start_server(bare_handler(), "127.0.0.1", 0, backlog=1024)
        port = int(server.sockets[0].getsockname()[1])

        async def stop() -> None:
            server.close()

    try:
        result = await _run_clients(port, sessions, concurrency)
    finally:
        await stop()
    latencies = [float(x) for x in result["latencies"]]  # type: ignore[attr-defined]
    wall = float(result["wall_s"])  # type: ignore[arg-type]
    return {
        "sessions_per_s": sessions / wall,
        "p50_ms": _p(latencies, 0.50) * 1000,
        "p99_ms": _p(latencies, 0.99) * 1000,
    }


async def _main(args: argparse.Namespace) -> None:
    runs: dict[str, list[dict[str, float]]] = {"ivr": [], "bare": []}
    for _ in range(args.repeat):
        for name in runs:
            runs[name].append(await _measure(name, args.sessions, args.concurrency))
    print(
        f"{args.sessions} FastAGI sessions, {args.concurrency} at a time, caller presses 2 "
        f"after 4 prompts ({len(menu_commands())} commands); "
        f"connect → SET VARIABLE QUEUE; median of {args.repeat} runs"
    )
    print(f"{'server':<8}{'sessions/s':>12}{'p50 ms':>10}{'p99 ms':>10}")
    for name, results in runs.items():
        med = {k: statistics.median(r[k] for r in results) for k in results[0]}
        print(
            f"{name:<8}{med['sessions_per_s']:>12,.0f}{med['p50_ms']:>10.1f}{med['p99_ms']:>10.1f}"
        )


def main() -> None:
    """Entry point of `scripts/bench-ivr` (and of its client process with `--client PORT`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        result = asyncio.run(_clients(args.client, args.sessions, args.concurrency))
        json.dump(result, sys.stdout)
        return
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
