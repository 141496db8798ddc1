"""AMIClient against the replay peer playing real Asterisk 22 recordings."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from cti.ami.client import (
    AMIAuthError,
    AMIClient,
    AMIConnectionLost,
    AMIError,
    Resync,
)
from cti.ami.lists import ListResult
from cti.ami.peer import ReplayPeer
from cti.ami.protocol import AMIParser, Event, LocalProtocolError, Response
from cti.ami.trace import ClientAction, load_trace, server_bytes
from cti.settings import AMISettings
from tests.conftest import TRACES as SHARED_TRACES
from tests.support.waiting import eventually

TRACES = SHARED_TRACES
RECORDINGS = [p for p in sorted(TRACES.glob("*.ami")) if p.name != "06-bad-login.ami"]


def fast(port: int, **overrides: float | str) -> AMISettings:
    """Settings shrunk so that reconnects happen in tens of milliseconds."""
    values: dict[str, float | str] = {
        "port": port,
        "backoff_min_s": 0.05,
        "backoff_max_s": 0.2,
        "action_timeout_s": 5.0,
    }
    values.update(overrides)
    return AMISettings.model_validate(values)


class Recorder:
    """Collects what a client publishes."""

    def __init__(self, client: AMIClient) -> None:
        self.events: list[Event] = []
        self.resyncs: list[Resync] = []
        client.subscribe(self.events.append)
        client.on_resynced(self.resyncs.append)


@pytest.fixture
async def running() -> AsyncIterator[Callable[[AMISettings], AMIClient]]:
    clients: list[AMIClient] = []

    def make(settings: AMISettings) -> AMIClient:
        client = AMIClient(settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.stop()


def recorded_answers(path: Path) -> dict[str, Response]:
    parser = AMIParser()
    parser.feed(server_bytes(path.read_bytes()))
    return {m.action_id: m for m in parser.messages() if isinstance(m, Response) and m.action_id}


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
async def test_client_replays_each_recording_with_typed_answers(
    path: Path, running: Callable[[AMISettings], AMIClient]
) -> None:
    answers = recorded_answers(path)
    actions = [s for s in load_trace(path) if isinstance(s, ClientAction)]
    async with ReplayPeer(path) as peer:
        client = running(fast(peer.port))
        seen = Recorder(client)
        await client.start()
        await client.wait_connected(5)
        await eventually(lambda: len(seen.resyncs) == 1)
        for action in actions[1:]:
            fields = [(k, v) for k, v in action.headers if k.lower() not in ("action", "actionid")]
            recorded = answers.get(action.action_id or "")
            idempotent = action.name != "Originate"
            if recorded is None:
                # 10a: `core restart now` closes the connection with no reply.
                with pytest.raises(AMIConnectionLost):
                    await client.send(action.name, fields, idempotent=idempotent)
                break
            if recorded.status == "Error":
                with pytest.raises(AMIError) as info:
                    await client.send(action.name, fields, idempotent=idempotent)
                assert info.value.message == recorded.message
                continue
            result = await client.send(action.name, fields, idempotent=idempotent)
            if recorded.starts_list:
                assert isinstance(result, ListResult)
                assert result.complete is not None
                assert result.complete["ListItems"] == str(len(result.events))
            else:
                assert isinstance(result, Response)
                assert result.status == recorded.status
                assert result.message == recorded.message
        assert peer.actions("Login")[0]["Username"] == "cti"
        # Events came through to the subscriber, none of them a list answer of ours.
        assert seen.events
        assert not any(e.name.endswith("Complete") and e.action_id for e in seen.events)


async def test_call_events_reach_subscribers_with_the_caller_name(
    traces_dir: Path, running: Callable[[AMISettings], AMIClient]
) -> None:
    async with ReplayPeer(
        traces_dir / "03-call-answered.ami", wait_for_actions=False, chunk="random"
    ) as peer:
        client = running(fast(peer.port))
        seen = Recorder(client)
        await client.start()
        await eventually(lambda: any(e.name == "AgentComplete" for e in seen.events))
        called = next(e for e in seen.events if e.name == "AgentCalled")
        assert called["CallerIDName"] == "张先生"
        assert called["MemberName"] == "seat07"


async def test_bad_login_names_the_user_and_retries_with_backoff(
    traces_dir: Path,
    running: Callable[[AMISettings], AMIClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with ReplayPeer(traces_dir / "06-bad-login.ami") as peer:
        client = running(fast(peer.port, secret="wrongsecret", refused_retry_s=0.3))
        caplog.set_level(logging.ERROR, logger="cti.ami.client")
        await client.start()
        await eventually(lambda: len(peer.actions("Login")) >= 3)
        await asyncio.sleep(0.5)
        assert not client.connected
        assert isinstance(client.last_error, AMIAuthError)
        assert client.last_error.username == "cti"
        assert (
            client.last_error.message == "AMI login refused for user 'cti': Authentication failed"
        )
        assert "user 'cti'" in caplog.text
        # A configuration fault: retried every refused_retry_s (0.24-0.3 s here), never in a
        # tight loop.
        assert len(peer.actions("Login")) <= 6
        assert client.link.reason == "login refused for user 'cti'"


async def test_reconnects_resyncs_and_publishes_after_the_peer_drops_mid_stream(
    traces_dir: Path, running: Callable[[AMISettings], AMIClient]
) -> None:
    async with ReplayPeer(traces_dir / "03-call-answered.ami") as peer:
        client = running(fast(peer.port))
        seen = Recorder(client)
        await client.start()
        await eventually(lambda: len(seen.resyncs) == 1)
        first = seen.resyncs[0]
        await peer.drop_connections()
        await eventually(lambda: len(seen.resyncs) == 2)
        assert client.connected
        assert peer.connections == 2
        assert seen.resyncs[1].at > first.at
        assert [e["Queue"] for e in seen.resyncs[1].queue_status] == ["q-zh", "q-en", "q-ko"]
        assert seen.resyncs[1].channels == []


async def test_connection_cut_after_n_bytes_reconnects(
    traces_dir: Path, running: Callable[[AMISettings], AMIClient]
) -> None:
    async with ReplayPeer(
        traces_dir / "03-call-answered.ami", wait_for_actions=False, close_after_bytes=20_000
    ) as peer:
        client = running(fast(peer.port))
        seen = Recorder(client)
        await client.start()
        await eventually(lambda: peer.connections >= 3)
        assert len(seen.resyncs) >= 2
        assert any(e.name == "QueueCallerJoin" for e in seen.events)


async def test_peer_that_stops_answering_pings_is_detected_within_2_seconds(
    traces_dir: Path, running: Callable[[AMISettings], AMIClient]
) -> None:
    async with ReplayPeer(traces_dir / "03-call-answered.ami", answer_pings=False) as peer:
        client = running(AMISettings(port=peer.port))  # the real 1 s / 1 s watchdog
        await client.start()
        await client.wait_connected(5)
        started = time.monotonic()
        await eventually(lambda: not client.connected, within_s=10)
        detected = time.monotonic() - started
        # First Ping at 1 s, no Pong (and no other byte) by 2 s: dead. The slack is for a
        # loaded test machine.
        assert 1.8 <= detected <= 2.6
        assert client.link.live is False
        assert peer.actions("Ping")


async def test_originate_in_flight_is_failed_and_never_resent(
    traces_dir: Path, running: Callable[[AMISettings], AMIClient]
) -> None:
    async with ReplayPeer(traces_dir / "01-status.ami", unanswered=("Originate",)) as peer:
        client = running(fast(peer.port))
        seen = Recorder(client)
        await client.start()
        await eventually(lambda: len(seen.resyncs) == 1)
        originate = asyncio.create_task(
            client.send(
                "Originate",
                {"Channel": "Local/89000@inbound/n", "Context": "caller", "Exten": "wait"},
                idempotent=False,
            )
        )
        await eventually(lambda: len(peer.actions("Originate")) == 1)
        await peer.drop_connections()
        with pytest.raises(AMIConnectionLost) as info:
            await originate
        assert info.value.maybe_executed
        assert "not re-sent" in str(info.value)
        await eventually(lambda: len(seen.resyncs) == 2)
        await asyncio.sleep(0.2)
        assert len(peer.actions("Originate")) == 1


async def test_run_as_an_owned_task_stops_cleanly_when_cancelled(traces_dir: Path) -> None:
    async with ReplayPeer(traces_dir / "01-status.ami") as peer:
        client = AMIClient(fast(peer.port))
        task = asyncio.create_task(client.run())
        await client.wait_connected(5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not client.connected
        with pytest.raises(AMIConnectionLost):
            await client.send("Ping")


async def test_send_on_a_stopped_client_fails_at_once() -> None:
    client = AMIClient(AMISettings(port=1))
    with pytest.raises(AMIConnectionLost) as info:
        await client.send("Ping")
    assert not info.value.maybe_executed


async def test_injection_is_refused_before_any_byte_is_sent(
    traces_dir: Path, running: Callable[[AMISettings], AMIClient]
) -> None:
    async with ReplayPeer(traces_dir / "01-status.ami") as peer:
        client = running(fast(peer.port))
        seen = Recorder(client)
        await client.start()
        await eventually(lambda: len(seen.resyncs) == 1)
        before = len(peer.received)
        with pytest.raises(LocalProtocolError):
            await client.send(
                "QueuePause", {"Interface": "x", "Reason": "meal\r\nAction: Originate"}
            )
        await asyncio.sleep(0.1)
        assert len(peer.received) == before
        assert not peer.actions("Originate")


async def test_raising_subscriber_does_not_stop_others_or_the_reader(
    traces_dir: Path,
    running: Callable[[AMISettings], AMIClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with ReplayPeer(traces_dir / "03-call-answered.ami", wait_for_actions=False) as peer:
        client = running(fast(peer.port))

        def explode(event: Event) -> None:
            raise RuntimeError("subscriber bug")

        client.subscribe(explode)
        seen = Recorder(client)
        await client.start()
        await eventually(lambda: any(e.name == "AgentComplete" for e in seen.events))
        assert "subscriber bug" in caplog.text
        assert "FullyBooted" in caplog.text  # the failing event is logged
        result = await client.send("Ping")
        assert isinstance(result, Response) and result["Ping"] == "Pong"


async def test_restart_closes_then_client_finds_the_restarted_asterisk_empty(
    traces_dir: Path, running: Callable[[AMISettings], AMIClient]
) -> None:
    before = ReplayPeer(traces_dir / "10a-restart-before.ami")
    port = await before.start()
    client = running(fast(port, backoff_min_s=0.1, backoff_max_s=0.3))
    seen = Recorder(client)
    try:
        await client.start()
        await eventually(lambda: len(seen.resyncs) == 1)
        await client.send("QueueAdd", {"Queue": "q-zh", "Interface": "Local/seat01@agents/n"})
        await client.send("QueueAdd", {"Queue": "q-en", "Interface": "Local/seat21@agents/n"})
        await client.send("QueuePause", {"Interface": "Local/seat01@agents/n", "Paused": "true"})
        await client.send("Originate", {"Channel": "Local/89000@inbound/n"}, idempotent=False)
        status = await client.send_list("QueueStatus")
        assert [e["Name"] for e in status.named("QueueMember")] == ["seat01", "seat21"]
        assert len(status.named("QueueEntry")) == 1
        with pytest.raises(AMIConnectionLost):
            await client.send("Command", {"Command": "core restart now"})
    finally:
        await before.stop()
    after = ReplayPeer(traces_dir / "10b-restart-after.ami", port=port)
    await after.start()
    try:
        await eventually(lambda: len(seen.resyncs) == 2, within_s=10)
        fresh = seen.resyncs[1]
        assert {e.name for e in fresh.queue_status} == {"QueueParams"}
        assert all(e["Calls"] == "0" for e in fresh.queue_status)
        assert fresh.channels == []
    finally:
        await after.stop()


async def test_endless_message_hits_the_buffer_cap_and_the_client_reconnects(
    running: Callable[[AMISettings], AMIClient], caplog: pytest.LogCaptureFixture
) -> None:
    connections = 0

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.write(b"Asterisk Call Manager/11.0.0\r\nEvent: Flood\r\n")
        line = b"X: " + b"y" * 1000 + b"\r\n"
        try:
            for _ in range(1200):  # > 1 MiB without a blank line
                writer.write(line)
                await writer.drain()
            await reader.read()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(flood, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = running(fast(port))
        await client.start()
        await eventually(lambda: connections >= 2, within_s=10)
        assert "no message end within 1048576 bytes" in caplog.text
        assert not client.connected
    finally:
        server.close()


async def test_handlers_see_events_and_resync_in_arrival_order(
    traces_dir: Path, running: Callable[[AMISettings], AMIClient]
) -> None:
    async with ReplayPeer(traces_dir / "01-status.ami") as peer:
        client = running(fast(peer.port))
        order: list[str] = []
        dropped: list[str] = []

        async def on_event(event: Event) -> None:
            await asyncio.sleep(0)
            order.append(event.name)

        def on_resync(resync: Resync) -> None:
            order.append("resync")

        client.subscribe(on_event)
        client.on_resynced(on_resync)
        unsubscribe = client.subscribe(lambda e: dropped.append(e.name))
        unsubscribe()
        await client.start()
        await eventually(lambda: "resync" in order)
        # 01 sends FullyBooted and SuccessfulAuth right after the Login answer, before the
        # resync's list answers: they are handled first.
        assert order == ["FullyBooted", "SuccessfulAuth", "resync"]
        assert dropped == []


async def test_greeting_read_before_connection_is_recorded_still_counts() -> None:
    # On loopback the greeting can be in the socket before create_connection() returns; it
    # used to be dropped, and the login waited out the whole action timeout.
    from cti.ami.client import _Protocol

    client = AMIClient(fast(1))
    protocol = _Protocol(client)
    assert client._protocol is None
    protocol.data_received(b"Asterisk Call Manager/11.0.0\r\n")
    assert protocol.greeting.done()
    assert protocol.greeting.result().version == "11.0.0"
