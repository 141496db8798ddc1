"""The simulator on its own event loop in a thread, as Asterisk is its own process.

The demo and tests use it so the CTI server's loop never runs the PBX, and the client meets
the greeting over a real socket from another loop, as it meets Asterisk's.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from cti.sim.load import LoadConfig
from cti.sim.pbx import CallerSpec
from cti.sim.queues import QueueCounts
from cti.sim.server import SimConfig, SimServer

T = TypeVar("T")


class SimThread:
    """Owns a thread running a `SimServer`. Use `async with SimThread(config) as sim:`."""

    def __init__(self, config: SimConfig) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pbx-sim", daemon=True)
        self.server = SimServer(config)

    @property
    def port(self) -> int:
        """The simulator's AMI port (after `start`)."""
        return self.server.port

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the simulator's loop and wait for it from the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def start(self) -> None:
        """Start the thread and the server; returns once it listens."""
        self.thread.start()
        await self.call(self.server.start())

    async def stop(self) -> None:
        """Stop the server, then the loop and the thread."""
        try:
            await self.call(self.server.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            await asyncio.to_thread(self.thread.join, 5)
            self.loop.close()

    async def restart(self) -> None:
        """Restart on the same port with a fresh PBX (see `SimServer.restart`)."""
        await self.call(self.server.restart())

    async def place_call(self, spec: CallerSpec) -> None:
        """A caller dials in now."""

        async def place() -> None:
            self.server.place_call(spec)

        await self.call(place())

    async def placed(self) -> int:
        """Calls the load generator placed so far."""

        async def count() -> int:
            return self.server.arrivals.placed if self.server.arrivals else 0

        return await self.call(count())

    async def start_arrivals(self, load: LoadConfig) -> None:
        """Callers start arriving now (see `SimServer.start_arrivals`)."""

        async def start() -> None:
            self.server.start_arrivals(load)

        await self.call(start())

    async def stop_arrivals(self) -> None:
        """The load generator stops; calls already placed go on to their end."""

        async def stop() -> None:
            self.server.stop_arrivals()

        await self.call(stop())

    async def drained(self) -> bool:
        """No call is left in the PBX."""

        async def check() -> bool:
            return self.server.drained()

        return await self.call(check())

    async def counts(self) -> dict[str, QueueCounts]:
        """Each queue's counters in the model (joined, answered, within 15 s, ...)."""

        async def read() -> dict[str, QueueCounts]:
            return {name: q.counts() for name, q in self.server.pbx.queues.items()}

        return await self.call(read())

    async def __aenter__(self) -> SimThread:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
