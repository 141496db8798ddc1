"""Time from a PBX restart's reconnect to "every member back", at 52 and 1,000 members.

The PBX simulator (AMI over TCP, its own thread) restarts as `core restart now` does; the real
AMI client reconnects and resyncs; the duty service's reconciler re-adds every seat with its
pause. Measured: from the link being live again (the resync handed over) to the reconciler
finding nothing left to do and the simulator holding every member. Baseline in the same run:
the same re-adding with one action in flight at a time (what a naive client does).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from typing import Any

from cti import stop_task
from cti.ami import AMIClient, ListResult
from cti.settings import AMISettings
from cti.sim import PbxConfig, SimConfig, SimThread
from queues import MemberInterfaces, MembershipService, MemoryDutyStore
from seats import parse_skills


class _Nowhere:
    async def publish(self, agent_id: str, message: dict[str, Any]) -> int:
        return 0


async def _members(ami: AMIClient) -> int:
    result = await ami.send("QueueStatus")
    assert isinstance(result, ListResult)
    return sum(1 for e in result.events if e.name == "QueueMember")


async def one_run(seats: int, concurrency: int) -> float:
    """Seconds from the link live again to every member back, after one restart."""
    async with SimThread(SimConfig(pbx=PbxConfig(no_answer_ratio=0.0))) as sim:
        ami = AMIClient(AMISettings(port=sim.port, action_timeout_s=30.0))
        duty = MembershipService(
            ami, _Nowhere(), MemoryDutyStore(), interfaces=MemberInterfaces("Local/{seat}@agents/n")
        )
        duty.reconciler._limit = asyncio.Semaphore(concurrency)  # the variable measured
        ami.subscribe(duty.on_event)
        ami.on_resynced(duty.on_resynced)
        ami.on_link(duty.on_link)
        live = asyncio.Event()
        ami.on_link(lambda link: live.set() if link.live else live.clear())
        runner = asyncio.create_task(duty.run())
        await ami.start()
        try:
            await ami.wait_connected(10)
            for n in range(1, seats + 1):
                duty.login(f"a{n:04d}", f"seat{n:04d}", parse_skills("zh"))
            duty.pause("a0001", "meal")  # a pause must come back too
            await _settled(duty, ami, seats)
            live.clear()
            await sim.restart()
            await live.wait()  # handed over after the resync, as the reconciler gets it
            live_at = time.perf_counter()
            await _settled(duty, ami, seats)
            return time.perf_counter() - live_at
        finally:
            await stop_task(runner)
            await ami.stop()


async def _settled(duty: MembershipService, ami: AMIClient, seats: int) -> None:
    while True:
        await duty.reconciler.settled.wait()
        if await _members(ami) == seats:
            return
        await asyncio.sleep(0.001)


async def main(args: argparse.Namespace) -> None:
    print(f"{'members':>8} {'ours p50':>9} {'ours max':>9} {'one-by-one':>11} {'ratio':>6}")
    for seats in args.members:
        ours = [await one_run(seats, 16) for _ in range(args.repeat)]
        naive = [await one_run(seats, 1) for _ in range(args.repeat)]
        p50, base = statistics.median(ours), statistics.median(naive)
        print(
            f"{seats:>8} {p50 * 1000:>7.1f}ms {max(ours) * 1000:>7.1f}ms "
            f"{base * 1000:>9.1f}ms {base / p50:>5.1f}x",
            flush=True,
        )


if __name__ == "__main__":
    logging.disable(logging.WARNING)  # one warning per restart: noise in a table
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, nargs="+", default=[52, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
