"""The simulator over real TCP: greeting, login, a call's events, restart on the same port."""

from __future__ import annotations

import asyncio

from cti.ami import AMIParser, Event, Greeting, Message, Response, encode_action
from cti.sim.pbx import CallerSpec, PbxConfig
from cti.sim.server import SimConfig, SimServer

FAST = PbxConfig(no_answer_ratio=0.0, answer_delay=(0.05, 0.05), retry=0.05)


class Peer:
    """A bare AMI client: enough to read what the simulator writes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = AMIParser()
        self.pending: list[Message] = []

    @classmethod
    async def connect(cls, port: int) -> Peer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def next(self, wait: float = 5.0) -> Message | None:
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), wait)
            if not data:
                return None
            self.parser.feed(data)
            self.pending.extend(self.parser.messages())
        return self.pending.pop(0)

    async def send(self, name: str, fields: dict[str, str], action_id: str) -> None:
        self.writer.write(encode_action(name, fields, action_id))
        await self.writer.drain()

    async def until(self, predicate: type | str, wait: float = 5.0) -> Message:
        while True:
            msg = await self.next(wait)
            assert msg is not None, "connection closed"
            if isinstance(predicate, str):
                if isinstance(msg, Event) and msg.name == predicate:
                    return msg
            elif isinstance(msg, predicate):
                return msg

    async def login(self, secret: str = "ctisecret") -> Response:
        assert isinstance(await self.next(), Greeting)
        await self.send("Login", {"Username": "cti", "Secret": secret}, "login-1")
        reply = await self.until(Response)
        assert isinstance(reply, Response)
        return reply

    def close(self) -> None:
        self.writer.close()


async def test_greeting_has_no_blank_line_and_login_is_accepted() -> None:
    async with SimServer(SimConfig(pbx=FAST)) as sim:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        first = await asyncio.wait_for(reader.readline(), 5)
        assert first == b"Asterisk Call Manager/11.0.0\r\n"
        peer = Peer(reader, writer)
        peer.parser = AMIParser(expect_greeting=False)
        await peer.send("Login", {"Username": "cti", "Secret": "ctisecret"}, "login-1")
        reply = await peer.until(Response)
        assert isinstance(reply, Response)
        assert reply.ok and reply.message == "Authentication accepted"
        assert (await peer.until("FullyBooted")).get("Status") == "Fully Booted"
        peer.close()


async def test_wrong_secret_is_refused_like_06_and_the_session_ends() -> None:
    async with SimServer(SimConfig(pbx=FAST)) as sim:
        peer = await Peer.connect(sim.port)
        reply = await peer.login(secret="wrongsecret")
        assert reply.status == "Error"
        assert reply.message == "Authentication failed"
        assert reply.action_id == "login-1"
        assert await peer.next() is None


async def test_actions_before_login_are_refused() -> None:
    async with SimServer(SimConfig(pbx=FAST)) as sim:
        peer = await Peer.connect(sim.port)
        assert isinstance(await peer.next(), Greeting)
        await peer.send("QueueStatus", {}, "qs-1")
        reply = await peer.until(Response)
        assert isinstance(reply, Response) and reply.status == "Error"
        peer.close()


async def test_a_placed_call_reaches_the_client_as_join_connect_complete() -> None:
    async with SimServer(SimConfig(pbx=FAST)) as sim:
        peer = await Peer.connect(sim.port)
        await peer.login()
        await peer.send(
            "QueueAdd",
            {"Queue": "q-zh", "Interface": "Local/seat07@agents/n", "MemberName": "seat07"},
            "add-1",
        )
        added = await peer.until(Response)
        assert isinstance(added, Response) and added.message == "Added interface to queue"
        sim.place_call(CallerSpec("q-zh", "05356683318", "张先生", "zh", talk=0.1))
        join = await peer.until("QueueCallerJoin")
        assert join.get("CallerIDName") == "张先生"
        called = await peer.until("AgentCalled")
        assert called.get("MemberName") == "seat07"
        await peer.until("AgentConnect")
        done = await peer.until("AgentComplete")
        assert done.get("Reason") == "agent"
        peer.close()


async def test_restart_closes_without_goodbye_and_forgets_members() -> None:
    async with SimServer(SimConfig(pbx=FAST)) as sim:
        port = sim.port
        peer = await Peer.connect(port)
        await peer.login()
        await peer.send("QueueAdd", {"Queue": "q-ko", "Interface": "PJSIP/seat47"}, "add-1")
        await peer.until(Response)
        await sim.restart()
        assert sim.port == port
        # 10a: the socket just closes; nothing more arrives.
        while (msg := await peer.next()) is not None:
            assert not (isinstance(msg, Response) and msg.status == "Goodbye")
        again = await Peer.connect(port)
        assert (await again.login()).ok
        await again.send("QueueStatus", {}, "qs-1")
        members = []
        while True:
            msg = await again.next()
            assert msg is not None
            if isinstance(msg, Event) and msg.name == "QueueMember":
                members.append(msg)
            if isinstance(msg, Event) and msg.name == "QueueStatusComplete":
                break
        assert members == []  # 10b: dynamic members do not survive a restart
        again.close()
