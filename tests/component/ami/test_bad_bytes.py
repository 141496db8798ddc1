"""A caller name that is not UTF-8 (GBK from an old trunk) through the replay peer and the
AMIClient: it costs that one value, never the connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from cti.ami.client import AMIClient
from cti.ami.peer import ReplayPeer
from cti.ami.protocol import Event
from cti.settings import AMISettings
from tests.support.gbk import NAME_REPLACED, write_gbk_recording
from tests.support.waiting import eventually


def fast(port: int) -> AMISettings:
    """Settings shrunk so that a dropped connection would show within the test."""
    return AMISettings.model_validate(
        {"port": port, "backoff_min_s": 0.05, "backoff_max_s": 0.2, "action_timeout_s": 5.0}
    )


@pytest.fixture
async def client_factory() -> AsyncIterator[Callable[[int], AMIClient]]:
    clients: list[AMIClient] = []

    def make(port: int) -> AMIClient:
        client = AMIClient(fast(port))
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.stop()


async def test_gbk_caller_name_arrives_replaced_and_the_client_stays_connected(
    traces_dir: Path, tmp_path: Path, client_factory: Callable[[int], AMIClient]
) -> None:
    trace = write_gbk_recording(traces_dir, tmp_path)
    async with ReplayPeer(trace, wait_for_actions=False, chunk="random") as peer:
        client = client_factory(peer.port)
        events: list[Event] = []
        client.subscribe(events.append)
        await client.start()
        await eventually(lambda: any(e.name == "AgentComplete" for e in events))
        called = next(e for e in events if e.name == "AgentCalled")
        assert called["CallerIDName"] == NAME_REPLACED
        assert called["CallerIDNum"] == "05356683318"
        assert called["MemberName"] == "seat07"
        assert client.connected
        assert peer.connections == 1
        assert client.connections == 1
