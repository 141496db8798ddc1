"""The replay test peer itself, driven by a bare socket and our sans-IO parser."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cti.ami.peer import ReplayPeer
from cti.ami.protocol import AMIParser, Event, Greeting, Message, Response, encode_action


class Wire:
    """A minimal AMI client: write actions, read parsed messages."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = AMIParser()
        self.pending: list[Message] = []

    @classmethod
    async def open(cls, port: int) -> Wire:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    def send(self, name: str, action_id: str, **fields: str) -> None:
        self.writer.write(encode_action(name, fields, action_id))

    async def recv(self, count: int) -> list[Message]:
        while len(self.pending) < count:
            data = await asyncio.wait_for(self.reader.read(65536), 5)
            if not data:
                raise EOFError(f"closed with {len(self.pending)} messages pending")
            self.parser.feed(data)
            self.pending.extend(self.parser.messages())
        out, self.pending = self.pending[:count], self.pending[count:]
        return out

    async def until(self, predicate: object) -> list[Message]:
        out: list[Message] = []
        while True:
            (message,) = await self.recv(1)
            out.append(message)
            if callable(predicate) and predicate(message):
                return out

    async def closed(self) -> bool:
        data = await asyncio.wait_for(self.reader.read(65536), 5)
        return data == b""

    def close(self) -> None:
        self.writer.close()


async def login(wire: Wire, secret: str = "ctisecret") -> Response:
    (greeting,) = await wire.recv(1)
    assert isinstance(greeting, Greeting)
    wire.send("Login", "my-login", Username="cti", Secret=secret)
    (response,) = await wire.recv(1)
    assert isinstance(response, Response)
    return response


async def test_login_reply_carries_the_clients_action_id(traces_dir: Path) -> None:
    async with ReplayPeer(traces_dir / "01-status.ami") as peer:
        wire = await Wire.open(peer.port)
        response = await login(wire)
        assert response.ok and response.action_id == "my-login"
        assert response.message == "Authentication accepted"
        wire.close()


async def test_wrong_secret_gets_authentication_failed_and_close(traces_dir: Path) -> None:
    async with ReplayPeer(traces_dir / "01-status.ami") as peer:
        wire = await Wire.open(peer.port)
        response = await login(wire, secret="wrongsecret")
        assert response.status == "Error"
        assert response.message == "Authentication failed"
        assert response.action_id == "my-login"
        assert await wire.closed()


async def test_recorded_list_answer_is_replayed_with_our_action_id(traces_dir: Path) -> None:
    async with ReplayPeer(traces_dir / "10b-restart-after.ami") as peer:
        wire = await Wire.open(peer.port)
        await login(wire)
        await wire.until(lambda m: isinstance(m, Event) and m.name == "SuccessfulAuth")
        wire.send("QueueStatus", "mine-7")
        got = await wire.until(lambda m: isinstance(m, Event) and m.name == "QueueStatusComplete")
        assert all(m.action_id == "mine-7" for m in got if not isinstance(m, Greeting))
        assert [m["Queue"] for m in got if isinstance(m, Event) and m.name == "QueueParams"] == [
            "q-zh",
            "q-en",
            "q-ko",
        ]


async def test_unexpected_actions_get_recording_shaped_answers(traces_dir: Path) -> None:
    async with ReplayPeer(traces_dir / "03-call-answered.ami") as peer:
        wire = await Wire.open(peer.port)
        await login(wire)
        await wire.until(lambda m: isinstance(m, Event) and m.name == "SuccessfulAuth")
        wire.send("Ping", "p-1")
        wire.send("CoreShowChannels", "c-1")
        wire.send("Frobnicate", "f-1")
        got = await wire.until(lambda m: isinstance(m, Response) and m.action_id == "f-1")
        pong = next(m for m in got if m.action_id == "p-1")
        assert isinstance(pong, Response) and pong["Ping"] == "Pong"
        complete = next(m for m in got if isinstance(m, Event) and m.action_id == "c-1")
        assert complete.name == "CoreShowChannelsComplete" and complete["ListItems"] == "0"
        error = got[-1]
        assert isinstance(error, Response) and error.status == "Error"
        assert error.message is not None
        assert error.message.startswith("Invalid/unknown command: Frobnicate.")


async def test_restart_recording_closes_with_no_reply_after_core_restart(
    traces_dir: Path,
) -> None:
    async with ReplayPeer(traces_dir / "10a-restart-before.ami") as peer:
        wire = await Wire.open(peer.port)
        await login(wire)
        for name, aid in [("QueueAdd", "a"), ("QueueAdd", "b"), ("QueuePause", "c")]:
            wire.send(name, aid)
            await wire.until(lambda m, aid=aid: isinstance(m, Response) and m.action_id == aid)
        wire.send("Originate", "o")
        await wire.until(lambda m: isinstance(m, Response) and m.action_id == "o")
        wire.send("QueueStatus", "q")
        await wire.until(lambda m: isinstance(m, Event) and m.name == "QueueStatusComplete")
        wire.send("Command", "restart", Command="core restart now")
        tail = b""
        while chunk := await asyncio.wait_for(wire.reader.read(65536), 5):
            tail += chunk
        assert b"restart" not in tail


async def test_streaming_mode_plays_a_call_without_the_recorded_actions(
    traces_dir: Path,
) -> None:
    async with ReplayPeer(traces_dir / "03-call-answered.ami", wait_for_actions=False) as peer:
        wire = await Wire.open(peer.port)
        await login(wire)
        got = await wire.until(lambda m: isinstance(m, Event) and m.name == "AgentComplete")
        called = next(m for m in got if isinstance(m, Event) and m.name == "AgentCalled")
        assert called["CallerIDName"] == "张先生"
        # The recorded answers to QueueAdd/Originate were dropped: we never asked.
        assert not any(isinstance(m, Response) and m.action_id != "my-login" for m in got)


@pytest.mark.parametrize("chunk", [1, 7, "random"])
async def test_chunked_writes_still_carry_whole_caller_names(
    traces_dir: Path, chunk: int | str
) -> None:
    async with ReplayPeer(
        traces_dir / "03-call-answered.ami",
        wait_for_actions=False,
        chunk=chunk,  # type: ignore[arg-type]
    ) as peer:
        wire = await Wire.open(peer.port)
        await login(wire)
        got = await wire.until(lambda m: isinstance(m, Event) and m.name == "QueueCallerJoin")
        assert got[-1]["CallerIDName"] == "张先生"


async def test_close_after_bytes_cuts_the_stream(traces_dir: Path) -> None:
    async with ReplayPeer(
        traces_dir / "03-call-answered.ami", wait_for_actions=False, close_after_bytes=5000
    ) as peer:
        reader, writer = await asyncio.open_connection("127.0.0.1", peer.port)
        writer.write(encode_action("Login", {"Username": "cti", "Secret": "ctisecret"}, "l"))
        total = b""
        while chunk := await asyncio.wait_for(reader.read(65536), 5):
            total += chunk
        assert len(total) == 5000
        writer.close()


async def test_pings_unanswered_when_told(traces_dir: Path) -> None:
    async with ReplayPeer(traces_dir / "03-call-answered.ami", answer_pings=False) as peer:
        wire = await Wire.open(peer.port)
        await login(wire)
        await wire.until(lambda m: isinstance(m, Event) and m.name == "SuccessfulAuth")
        wire.send("Ping", "p-1")
        wire.send("CoreSettings", "cs-1")
        got = await wire.until(lambda m: isinstance(m, Response) and m.action_id == "cs-1")
        assert not any(m.action_id == "p-1" for m in got if not isinstance(m, Greeting))
        assert [a.name for a in peer.actions("Ping")] == ["Ping"]


async def test_each_connection_replays_from_the_start(traces_dir: Path) -> None:
    async with ReplayPeer(traces_dir / "01-status.ami") as peer:
        for attempt in range(2):
            wire = await Wire.open(peer.port)
            response = await login(wire)
            assert response.ok
            wire.close()
            assert peer.connections == attempt + 1
