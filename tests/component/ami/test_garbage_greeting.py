"""Something other than Asterisk on the AMI port (an SSH daemon, a web server, a dead
proxy's banner): the client names it, keeps retrying, and comes up once Asterisk answers."""

from __future__ import annotations

import asyncio

import pytest

from cti.ami.client import AMIClient, LinkState
from cti.ami.peer import ReplayPeer
from cti.settings import AMISettings
from tests.conftest import TRACES
from tests.support.waiting import eventually


@pytest.mark.parametrize(
    "banner",
    [b"SSH-2.0-OpenSSH_9.6\r\n", b"HTTP/1.1 400 Bad Request\r\n\r\n", b"\x16\x03\x01\x00\xff\r\n"],
    ids=["ssh", "http", "binary"],
)
async def test_a_garbage_greeting_is_named_retried_and_recovered_from(
    banner: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.write(banner)
        await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = AMISettings(port=port, backoff_min_s=0.05, backoff_max_s=0.2)
    client = AMIClient(settings)
    states: list[LinkState] = []
    client.on_link(states.append)
    peer = ReplayPeer(TRACES / "01-status.ami", port=port)
    try:
        await client.start()
        await eventually(lambda: connections >= 3, within_s=10)
        assert not client.connected
        assert not any(s.live for s in states)
        assert "greeting" in caplog.text.lower()
        server.close()  # the impostor goes; Asterisk takes its port
        await server.wait_closed()
        await peer.start()
        await eventually(lambda: client.connected, within_s=10)
    finally:
        await client.stop()
        server.close()
        await peer.stop()
