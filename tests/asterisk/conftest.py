"""The real-Asterisk tier: Asterisk 22.10.1 with the recording configuration on free ports
(one per test session), and `cti serve`'s own app (`create_app(settings)` with no injected
services) connected to it.

- `asterisk` (session): the process; the tier fails with run-asterisk's reason if it cannot
  start, and it is stopped at the end of the session whatever happened.
- `pbx` (per test): `cli()`, `originate()`, no-answer seats, restart/stop/start, over our own
  AMIClient logged in as `cti`; it leaves Asterisk idle (no members, no channels) for the next.
- Queue members come from the server itself: an agent's login makes the seat a member of
  the queues of the agent's languages (`members.interface` = `Local/{seat}@seats/n`, or
  `PJSIP/{seat}` for SIP seats), as in production.
- `cti` (per test): the server on aiohttp's test server with a fresh SQLite copy of a
  database prepared once with `cti registry import` and `cti agent add`; agents log in and
  read their WebSocket; the call log is read back from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from cti.ami import AMIClient
from cti.db import create_engine
from cti.settings import AMISettings, Settings, load_settings
from cti.state.models import CallLogEntry
from cti.testbed import (
    LOCAL_SEAT_INTERFACE,
    Asterisk,
    AsteriskError,
    Ports,
    originate_caller,
    pjsip_seats,
    write_config,
)
from cti.web import create_app
from tests.support.waiting import eventually

PASSWORD = "correct horse 7"
AMI_USER, AMI_SECRET = "cti", "ctisecret"  # recording-config/manager.conf
# id, name, languages, home seat
AGENTS = [
    ("a01", "王芳", "zh", "seat01"),
    ("a05", "赵磊", "zh", "seat05"),
    ("a07", "李娜", "zh,en", "seat07"),
    ("a08", "孙丽", "zh", "seat08"),
    ("a21", "Emily Chen", "en,zh", "seat21"),
    ("a22", "John Smith", "en", "seat22"),
    ("a31", "Park Jiwoo", "ko,zh", "seat31"),
]


# --- Asterisk (session) --------------------------------------------------------------------


@pytest.fixture(scope="session")
def asterisk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Asterisk]:
    """The test Asterisk, running for the whole session on its own ports."""
    base = tmp_path_factory.mktemp("asterisk")
    try:
        ports = Ports.allocate(pjsip_seats())
        pbx = Asterisk(base / "run", write_config(base / "conf", ports), ports)
    except (AsteriskError, OSError) as exc:
        pytest.fail(f"the test Asterisk's configuration: {exc}", pytrace=False)
    try:
        pbx.start()
    except (AsteriskError, OSError, subprocess.SubprocessError) as exc:
        pbx.stop()
        pytest.fail(f"the test Asterisk did not start: {exc}", pytrace=False)
    try:
        yield pbx
    finally:
        pbx.stop()


def _cti(args: list[str], *, env: dict[str, str], stdin: str = "") -> None:
    cti = Path(sys.executable).with_name("cti")
    command = [str(cti), *args] if cti.exists() else [sys.executable, "-m", "cti.cli", *args]
    done = subprocess.run(
        command, input=stdin, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"cti {' '.join(args)}: {done.stdout}{done.stderr}"


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory, registry_sample: Path) -> Path:
    """A migrated SQLite file with the archive sample imported and the agents added, made
    once with the real commands (`cti registry import`, `cti agent add`)."""
    path = tmp_path_factory.mktemp("cti-db") / "cti.sqlite3"
    env = {**os.environ, "CTI_DATABASE_URL": f"sqlite+aiosqlite:///{path}"}
    _cti(["registry", "import", str(registry_sample)], env=env)
    adds = [
        ["agent", "add", agent_id, "--name", name, "--languages", languages, "--seat", seat]
        for agent_id, name, languages, seat in AGENTS
    ]
    # One process per agent, two at a time: each pays Python's start and an argon2 hash.
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda args: _cti(args, env=env, stdin=PASSWORD + "\n"), adds))
    return path


# --- the PBX helper (per test) -------------------------------------------------------------


def ami_settings(asterisk: Asterisk, **overrides: Any) -> AMISettings:
    """AMI settings pointing at the test Asterisk as `cti` (override e.g. the user)."""
    values: dict[str, Any] = {
        "port": asterisk.ports.ami,
        "username": AMI_USER,
        "secret": AMI_SECRET,
        **overrides,
    }
    return AMISettings(**values)


@dataclass
class Pbx:
    """The test's hands on Asterisk: CLI, AMI actions, restart/stop/start."""

    asterisk: Asterisk
    ami: AMIClient
    no_answer_seats: list[str] = field(default_factory=list)

    async def cli(self, command: str) -> str:
        """One CLI command's output."""
        return await asyncio.to_thread(self.asterisk.cli, command)

    async def no_answer(self, seat: str) -> None:
        """Make the seat's Local phone ring and never answer (`[seats]` → agents-noanswer)."""
        await self._set_global(f"NOANSWER_{seat}", "1")
        self.no_answer_seats.append(seat)

    async def _set_global(self, name: str, value: str) -> None:
        await self.ami.wait_connected(15)
        await self.ami.send("Setvar", {"Variable": name, "Value": value})

    async def originate(
        self,
        caller_id: str | None,
        *,
        lang: str | None = None,
        talk_s: float | None = None,
        caller_context: str = "caller",
    ) -> None:
        """A caller into the hotline (`Local/89000@inbound/n`), as the recordings' scripts.

        `caller_id` like `"张先生" <05356683318>` (None: no caller ID at all); `lang` sets
        LANGSEL (the queue q-<lang>); `talk_s` how long Local seats talk (`__TALK`);
        `caller_context` is what the caller's side does: `caller` waits 30 s, `caller-short`
        hangs up after 4 s.
        """
        await self.ami.wait_connected(15)
        await originate_caller(
            self.ami, caller_id, lang=lang, talk_s=talk_s, caller_context=caller_context
        )

    async def restart_now(self) -> None:
        """`core restart now`: the AMI connection closes with no goodbye."""
        await asyncio.to_thread(self.asterisk.cli, "core restart now")

    async def stop(self) -> None:
        """Stop Asterisk (`core stop now`) and wait until the process is gone."""
        await asyncio.to_thread(self.asterisk.stop)

    async def start(self) -> None:
        """Start it again (returns once AMI accepts connections and boot has finished)."""
        await asyncio.to_thread(self.asterisk.start)

    async def ami_accepting(self) -> bool:
        """True when the AMI port takes a TCP connection right now."""
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", self.asterisk.ports.ami)
        except OSError:
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    async def channels(self) -> int:
        """How many channels exist now."""
        out = await self.cli("core show channels count")
        return int(out.split()[0])

    async def clean_up(self) -> None:
        """Leave Asterisk idle for the next test: running, no channels, no dynamic members
        (the server adds them at login and a stopped server leaves them), seats answering."""
        if self.asterisk.pid() is None:
            await self.start()
        await asyncio.to_thread(self.asterisk.wait_fully_booted)
        await self.ami.wait_connected(15)
        for seat in self.no_answer_seats:
            await self._set_global(f"NOANSWER_{seat}", "")
        await self.cli("channel request hangup all")
        await eventually(lambda: self._idle(), within_s=20, what="no channels left")
        status = await self.ami.send_list("QueueStatus")
        for member in status.events:
            if member.name == "QueueMember" and member.get("Membership") == "dynamic":
                fields = {"Queue": member["Queue"], "Interface": member["Location"]}
                await self.ami.send("QueueRemove", fields)

    async def _idle(self) -> bool:
        return await self.channels() == 0


@pytest.fixture
async def pbx(asterisk: Asterisk) -> AsyncIterator[Pbx]:
    """The PBX helper; the test leaves Asterisk as it found it (idle, no members)."""
    client = AMIClient(ami_settings(asterisk, backoff_min_s=0.1, backoff_max_s=0.5))
    await client.start()
    await client.wait_connected(15)
    helper = Pbx(asterisk, client)
    try:
        yield helper
    finally:
        try:
            await helper.clean_up()
        finally:
            await client.stop()


# --- the CTI server (per test) -------------------------------------------------------------


@dataclass
class AgentConsole:
    """An agent logged in at a seat, reading /ws/agent like the agent page does."""

    agent: str
    seat: str
    token: str
    ws: ClientWebSocketResponse
    messages: list[dict[str, Any]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None
    received_at: list[float] = field(default_factory=list)  # time.monotonic() per message

    async def read(self) -> None:
        async for frame in self.ws:
            if frame.type is WSMsgType.TEXT:
                message = json.loads(frame.data)
                if message.get("type") == "heartbeat":
                    continue  # the link's keep-alive (no seq): the page only times it
                self.received_at.append(time.monotonic())
                self.messages.append(message)

    def of_call(self, call_id: str) -> list[dict[str, Any]]:
        """The messages about one call, in order."""
        return [m for m in self.messages if m.get("call_id") == call_id]

    def types_of_call(self, call_id: str) -> list[str]:
        """`pop`, `retract`, `answered`, `completed`... for one call, in order."""
        return [m["type"] for m in self.of_call(call_id)]

    async def next(
        self, match: Callable[[dict[str, Any]], bool], *, within_s: float = 20.0, what: str = ""
    ) -> dict[str, Any]:
        """The first message (already received or to come) that `match`es."""

        def found() -> dict[str, Any] | None:
            return next((m for m in self.messages if match(m)), None)

        message: dict[str, Any] = await eventually(
            found, within_s=within_s, what=what or f"a message for {self.agent}"
        )
        return message

    async def pop(self, number: str | None = None, *, within_s: float = 20.0) -> dict[str, Any]:
        """The first pop (for a caller number, when given)."""
        return await self.next(
            lambda m: m["type"] == "pop" and (number is None or m["caller"]["number"] == number),
            within_s=within_s,
            what=f"a pop for {number or 'any caller'} at {self.agent}",
        )

    async def close(self) -> None:
        await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


@dataclass
class Cti:
    """`cti serve`'s app against the test Asterisk."""

    client: TestClient[Any, Any]
    settings: Settings
    consoles: list[AgentConsole] = field(default_factory=list)

    async def login(self, agent: str, seat: str) -> AgentConsole:
        """POST /api/login, then open /ws/agent from the returned last_seq."""
        resp = await self.client.post(
            "/api/login", json={"agent": agent, "password": PASSWORD, "seat": seat}
        )
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        ws = await self.client.ws_connect(
            f"/ws/agent?token={body['token']}&last_seq={body['last_seq']}"
        )
        console = AgentConsole(agent, seat, body["token"], ws)
        console.reader = asyncio.create_task(console.read(), name=f"ws-{agent}")
        self.consoles.append(console)
        return console

    async def wrapup(self, console: AgentConsole, call_id: str, outcome: str = "resolved") -> None:
        """Save the agent's wrap-up of a completed call (ends after-call work)."""
        resp = await self.client.post(
            f"/api/calls/{call_id}/wrapup",
            json={"outcome": outcome, "note": ""},
            headers={"Authorization": f"Bearer {console.token}"},
        )
        assert resp.status == 200, await resp.text()

    async def health(self) -> tuple[int, dict[str, Any]]:
        """GET /health: status and body."""
        resp = await self.client.get("/health")
        return resp.status, await resp.json()

    async def call_log(self, call_id: str) -> dict[str, Any] | None:
        """The call log row of a call (column -> value), None until it is written."""
        engine = create_engine(self.settings.database_url)
        try:
            async with engine.connect() as conn:
                row = (
                    await conn.execute(select(CallLogEntry).where(CallLogEntry.call_id == call_id))
                ).first()
        finally:
            await engine.dispose()
        return None if row is None else dict(row._mapping)

    async def logged(self, call_id: str, within_s: float = 20.0) -> dict[str, Any]:
        """The call log row, once the call is written."""
        row: dict[str, Any] = await eventually(
            lambda: self.call_log(call_id), within_s=within_s, what=f"call {call_id} logged"
        )
        return row


def server_settings(
    asterisk: Asterisk, database: Path, *, interface: str = LOCAL_SEAT_INTERFACE, **ami: Any
) -> Settings:
    """`cti serve`'s settings: production defaults but the test database and Asterisk, and
    the member interface template (`Local/{seat}@seats/n`, or `PJSIP/{seat}`)."""
    return load_settings(
        database_url=f"sqlite+aiosqlite:///{database}",
        ami={"port": asterisk.ports.ami, "username": AMI_USER, "secret": AMI_SECRET, **ami},
        members={"interface": interface},
    )


@pytest.fixture
def database(tmp_path: Path, template_db: Path) -> Path:
    """A fresh copy of the prepared database for one test."""
    path = tmp_path / "cti.sqlite3"
    shutil.copy(template_db, path)
    return path


@pytest.fixture
async def cti(
    asterisk: Asterisk, pbx: Pbx, database: Path, aiohttp_client: Any
) -> AsyncIterator[Cti]:
    """The server against the test Asterisk, Local seats (stopped before `pbx` cleans up)."""
    settings = server_settings(asterisk, database)
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    server = Cti(client, settings)
    try:
        yield server
    finally:
        for console in server.consoles:
            await console.close()
