"""What one node's IVR learnt reaches the other nodes' notes (the pop may be any node's)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
import redis.asyncio as aioredis

from cti.cluster.ivr import IvrShare
from ivr import Learnt
from ivr.notes import IvrNotes
from tests.support.redis import REDIS_URL, delete_keys
from tests.support.waiting import eventually

pytestmark = pytest.mark.redis


async def test_a_note_taken_on_one_node_is_known_on_the_others() -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    notes = [IvrNotes() for _ in range(3)]
    shares = [
        IvrShare(aioredis.Redis.from_url(REDIS_URL), n, node_id=f"node-{i}", prefix=prefix)
        for i, n in enumerate(notes)
    ]
    tasks = [asyncio.create_task(share.run()) for share in shares]
    try:
        await asyncio.sleep(0.2)  # every node listening
        learnt = Learnt("ko", "q-duty", 10, "emergency", ("R00017",))
        notes[1].remember("1795361860.17", learnt)
        await eventually(lambda: notes[0].learnt("1795361860.17") == learnt)
        await eventually(lambda: notes[2].learnt("1795361860.17") == learnt)
        # Handed on once: the node that took it does not take it back as another's.
        assert len(notes[1]) == 1
        # A note not understood (another version, a forged message) is dropped, not kept.
        client = aioredis.Redis.from_url(REDIS_URL)
        await client.publish(f"{prefix}ivr", '{"node": "x", "call_id": "1", "how": "bogus"}')
        await client.aclose()
        notes[1].remember("2.2", Learnt("zh", "q-zh", 0, "chosen"))
        await eventually(lambda: notes[0].learnt("2.2") is not None)
        assert notes[0].learnt("1") is None
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for share in shares:
            await share.close()
        await delete_keys(prefix)
