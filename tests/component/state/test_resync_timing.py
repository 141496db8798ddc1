"""The resync's `at` is what the tracker compares live events with: it must not be later
than the snapshot itself, or an event handled while the lists were in flight (a caller
abandoning) loses to the older snapshot and the caller comes back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from cti.ami import AMIClient, ReplayPeer
from cti.ami.client import Resync
from cti.ami.protocol import Action
from cti.settings import AMISettings


class Stamped(list[Action]):
    """The peer's `received` list, noting when each action name first arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.first_at: dict[str, float] = {}

    def append(self, action: Action) -> None:
        self.first_at.setdefault(action.name.lower(), time.time())
        super().append(action)


async def test_resync_at_is_no_later_than_the_queue_status_request(traces_dir: Path) -> None:
    resyncs: list[Resync] = []
    async with ReplayPeer(traces_dir / "03-call-answered.ami") as peer:
        stamped = Stamped()
        peer.received = stamped
        client = AMIClient(AMISettings(port=peer.port, backoff_min_s=0.05, backoff_max_s=0.2))
        client.on_resynced(resyncs.append)
        await client.start()
        try:
            async with asyncio.timeout(10):
                while not resyncs:  # noqa: ASYNC110 - the client's task fills it
                    await asyncio.sleep(0.01)
        finally:
            await client.stop()
    assert resyncs[0].at.timestamp() <= stamped.first_at["queuestatus"]
