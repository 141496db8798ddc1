"""Two `cti serve` processes on one real Asterisk 22, one Redis and one PostgreSQL, as an
operator runs them (docs/architecture.md, "Several CTI nodes"); agents logged in on both.

Real calls through the queues ring Local seats: each AgentCalled (seen on the test's own AMI
connection) gives exactly one pop, on whichever node the agent's socket is, and each call one
call-log row; only the acting node drives the queue members, so every seat is a member of its
language queues exactly once. Then the acting node is killed (SIGKILL): the other one acts
within 3 s, the members stay right, and the next calls pop on the survivor's agents and on
the killed node's agents once they reconnect to the survivor.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from cti.ami import AMIClient, Event
from cti.db import create_engine, upgrade
from cti.settings import LocatorSettings
from cti.testbed import LOCAL_SEAT_INTERFACE, Asterisk
from locator import parse_file, save_residents
from seats import SqlAgentAccounts
from tests.asterisk.conftest import AMI_SECRET, AMI_USER, PASSWORD, AgentConsole, Pbx
from tests.support.cti_nodes import ServeProcess, acting, health, spawn_serve, stop_all
from tests.support.postgres import create_pg_database, drop_pg_database, pg_url
from tests.support.redis import REDIS_URL, delete_keys
from tests.support.waiting import eventually

pytestmark = [pytest.mark.asterisk, pytest.mark.redis, pytest.mark.postgres]

# agent -> (seat, languages): all four take q-zh calls; a07 and a21 q-en, a31 q-ko too.
AGENTS = {
    "a07": ("seat07", ("zh", "en")),
    "a31": ("seat31", ("ko", "zh")),
    "a21": ("seat21", ("en", "zh")),
    "a08": ("seat08", ("zh",)),
}
MEMBERS = Counter((f"q-{lang}", seat) for seat, langs in AGENTS.values() for lang in langs)
SEAT_OF_INTERFACE = re.compile(r"^Local/(seat\d+)@")
TAKEOVER_S = 3.0  # the lease: another node acts at most 2.5 s after the last renew


class AmiWatch:
    """What Asterisk itself says, on the test's AMI connection (not a CTI node's)."""

    def __init__(self, ami: AMIClient) -> None:
        self.events: list[Event] = []
        self.unsubscribe = ami.subscribe(self._on)

    def _on(self, event: Event) -> None:
        self.events.append(event)

    def named(self, name: str, since: int = 0) -> list[Event]:
        """The events called `name`, from the `since`-th event seen on."""
        return [e for e in self.events[since:] if e.name == name]

    def calls(self, since: int = 0) -> list[str]:
        """The Uniqueid of every caller that joined a queue (the call_id)."""
        return [e["Uniqueid"] for e in self.named("QueueCallerJoin", since)]

    def rings(self, since: int = 0) -> Counter[tuple[str, str]]:
        """(call_id, seat) of every AgentCalled: one per ring of a seat."""
        return Counter(
            (e["Uniqueid"], seat_of(e["Interface"])) for e in self.named("AgentCalled", since)
        )

    def answered(self, since: int = 0) -> dict[str, str]:
        """call_id -> the seat that answered it (AgentConnect)."""
        return {e["Uniqueid"]: seat_of(e["Interface"]) for e in self.named("AgentConnect", since)}


def seat_of(interface: str) -> str:
    found = SEAT_OF_INTERFACE.match(interface)
    assert found is not None, interface
    return found.group(1)


@dataclass
class TwoNodes:
    """The two nodes, a client session for the agents' pages, the shared database."""

    nodes: list[ServeProcess]
    http: aiohttp.ClientSession
    db_url: str
    consoles: list[AgentConsole] = field(default_factory=list)

    async def login(self, node: ServeProcess, agent: str) -> AgentConsole:
        """The agent logs in on `node` at their seat and opens /ws/agent there."""
        seat = AGENTS[agent][0]
        body = {"agent": agent, "password": PASSWORD, "seat": seat}
        async with self.http.post(node.url("/api/login"), json=body) as resp:
            assert resp.status == 200, await resp.text()
            answer = await resp.json()
        return await self._open(node, agent, answer["token"], answer["last_seq"])

    async def reconnect(self, console: AgentConsole, node: ServeProcess) -> AgentConsole:
        """The agent's page opens its socket again on `node`, from the last seq it got."""
        last_seq = max((m["seq"] for m in console.messages if "seq" in m), default=0)
        return await self._open(node, console.agent, console.token, last_seq)

    async def _open(
        self, node: ServeProcess, agent: str, token: str, last_seq: int
    ) -> AgentConsole:
        ws = await self.http.ws_connect(node.url(f"/ws/agent?token={token}&last_seq={last_seq}"))
        console = AgentConsole(agent, AGENTS[agent][0], token, ws)
        console.reader = asyncio.create_task(console.read(), name=f"ws-{agent}-{node.name}")
        self.consoles.append(console)
        return console

    def messages(self, kind: str) -> list[dict[str, Any]]:
        """Every message of type `kind` any agent socket got, on either node."""
        return [m for c in self.consoles for m in c.messages if m["type"] == kind]

    def pops(self) -> Counter[tuple[str, str]]:
        """(call_id, seat) of every pop any agent socket got."""
        return Counter((m["call_id"], m["seat"]) for m in self.messages("pop"))

    def completed(self) -> set[str]:
        """The call_id of every `completed` any agent socket got."""
        return {m["call_id"] for m in self.messages("completed")}

    async def call_log(self) -> list[tuple[str, str | None, str | None]]:
        """(call_id, seat, outcome) of every call-log row, in call_id order."""
        engine = create_engine(self.db_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text("SELECT call_id, seat, outcome FROM call_log ORDER BY call_id")
                )
                return [(r.call_id, r.seat, r.outcome) for r in rows]
        finally:
            await engine.dispose()


async def _prepare_database(db_url: str, registry_sample: Path) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade(engine, "head")
        parsed = parse_file(registry_sample, LocatorSettings())
        await save_residents(engine, parsed.records)
        accounts = SqlAgentAccounts(engine)
        for agent, (seat, langs) in AGENTS.items():
            await accounts.add(agent, f"Agent {agent}", ",".join(langs), PASSWORD, seat)
    finally:
        await engine.dispose()


@pytest.fixture
async def two_nodes(
    asterisk: Asterisk, pbx: Pbx, tmp_path: Path, registry_sample: Path
) -> AsyncIterator[TwoNodes]:
    """Two `cti serve` processes on a fresh PostgreSQL database and a Redis prefix of their
    own, against the session's Asterisk (stopped before `pbx` cleans Asterisk up)."""
    db = await create_pg_database("two_nodes")
    db_url = pg_url(db)
    prefix = f"test-two-nodes:{uuid.uuid4().hex}:"
    nodes: list[ServeProcess] = []
    made: TwoNodes | None = None
    http = aiohttp.ClientSession()
    try:
        await _prepare_database(db_url, registry_sample)
        env = {
            **os.environ,
            "CTI_DATABASE_URL": db_url,
            "CTI_REDIS_URL": REDIS_URL,
            "CTI_REDIS_PREFIX": prefix,
            "CTI_AMI__PORT": str(asterisk.ports.ami),
            "CTI_AMI__USERNAME": AMI_USER,
            "CTI_AMI__SECRET": AMI_SECRET,
            "CTI_IVR__PORT": "0",
            "CTI_MEMBERS__INTERFACE": LOCAL_SEAT_INTERFACE,
            "CTI_MEMBERS__RETRY_S": "0.2",
            "CTI_MEMBERS__ACW_TIMEOUT_S": "0",  # no after-call work: seats ready again at once
        }
        nodes.extend(spawn_serve(f"node-{i}", env, tmp_path) for i in range(2))
        made = TwoNodes(nodes, http, db_url)
        yield made
    finally:
        for console in made.consoles if made is not None else ():
            await console.close()
        await http.close()
        stop_all(nodes)
        await delete_keys(prefix)
        await drop_pg_database(db)


async def queue_members(pbx: Pbx) -> list[Event]:
    """Every dynamic queue member Asterisk has now (QueueStatus)."""
    status = await pbx.ami.send_list("QueueStatus")
    return [
        e for e in status.events if e.name == "QueueMember" and e.get("Membership") == "dynamic"
    ]


async def members(pbx: Pbx) -> Counter[tuple[str, str]]:
    """(queue, seat) of every dynamic queue member."""
    return Counter((e["Queue"], seat_of(e["Location"])) for e in await queue_members(pbx))


async def members_right(pbx: Pbx) -> bool:
    return await members(pbx) == MEMBERS


async def members_ready(pbx: Pbx) -> bool:
    """Every seat in its queues once, none paused (on a call), in a call or in use."""
    found = await queue_members(pbx)
    ready = all(
        (e.get("Paused"), e.get("InCall"), e.get("Status")) == ("0", "0", "1") for e in found
    )
    return ready and Counter((e["Queue"], seat_of(e["Location"])) for e in found) == MEMBERS


def member_actions(node: ServeProcess) -> list[str]:
    """The node's log lines of member actions it sent Asterisk (the reconciler's)."""
    return [line for line in node.output().splitlines() if "member reconcile:" in line]


async def place(pbx: Pbx, langs: Iterable[str], *, talk_s: float) -> None:
    """One caller into q-<lang> for each of `langs`, all at once."""
    for n, lang in enumerate(langs):
        await pbx.originate(f'"Caller {n}" <0535668{n:04d}>', lang=lang, talk_s=talk_s)


async def busy_seats(pbx: Pbx) -> set[str]:
    """The seats Asterisk has on a call (a member in use or in a call)."""
    return {
        seat_of(e["Location"])
        for e in await queue_members(pbx)
        if e.get("Status") != "1" or e.get("InCall") == "1"
    }


async def ring_every_seat(pbx: Pbx, watch: AmiWatch, *, talk_s: float) -> None:
    """zh callers one after another, each once the one before is answered and its seat busy:
    the queue rings only a free seat, so each seat is rung once. (Not all at once: callers
    queued together ring one at a time here (the recording's queues.conf sets no `autofill`),
    the others look again every second, and `rrmemory` may then ring a seat whose call just
    ended rather than one never rung.)"""
    mark = len(watch.events)
    for count in range(1, len(AGENTS) + 1):
        await place(pbx, ["zh"], talk_s=talk_s)
        ringing = functools.partial(_answered_and_busy, pbx, watch, mark, count)
        await eventually(ringing, what=f"call {count} answered, {count} seats busy")


async def _answered_and_busy(pbx: Pbx, watch: AmiWatch, mark: int, count: int) -> bool:
    return len(watch.answered(mark)) >= count and len(await busy_seats(pbx)) >= count


async def settled(watch: AmiWatch, two: TwoNodes, since: int, count: int) -> bool:
    """`count` calls joined since the mark, each answered, and its agent got `completed`."""
    calls = watch.calls(since)
    answered = watch.answered(since)
    return len(calls) == count and set(calls) <= answered.keys() <= two.completed()


async def _rows_of(
    two: TwoNodes, answered: dict[str, str]
) -> list[tuple[str, str | None, str | None]] | None:
    """The call-log rows once there are as many as calls answered."""
    rows = await two.call_log()
    return rows if len(rows) >= len(answered) else None


@pytest.fixture
def watch(pbx: Pbx) -> Iterator[AmiWatch]:
    """Asterisk's events from now on, on the test's own AMI connection."""
    watching = AmiWatch(pbx.ami)
    try:
        yield watching
    finally:
        watching.unsubscribe()


async def test_two_nodes_pop_each_ring_once_and_the_survivor_takes_over_on_real_asterisk(
    pbx: Pbx, two_nodes: TwoNodes, watch: AmiWatch
) -> None:
    started = time.monotonic()
    http, nodes = two_nodes.http, two_nodes.nodes
    for node in nodes:
        await eventually(functools.partial(health, http, node), within_s=30, what=node.name)
    first = await eventually(lambda: acting(http, nodes), what="one node acts")
    (other,) = [n for n in nodes if n is not first]
    other_health = await health(http, other)
    assert other_health is not None
    assert (other_health["acting"], other_health["acting_node"]) == (False, first.name)

    # Agents split across the nodes: those on `other` have their logins forwarded.
    doomed = [await two_nodes.login(first, "a07"), await two_nodes.login(first, "a31")]
    living = [await two_nodes.login(other, "a21"), await two_nodes.login(other, "a08")]

    # 2. Every seat a member of its language queues exactly once, sent by the acting node.
    await eventually(lambda: members_right(pbx), what="the seats in their queues")
    assert member_actions(first), first.output()[-3000:]
    assert member_actions(other) == []

    # 1. Real calls: every ring pops once, on whichever node its agent is; one row per call.
    mark = len(watch.events)
    await pbx.originate('"张先生" <05356683318>', talk_s=1)  # a registered household
    await place(pbx, ["ko", "en", "zh", "zh", "en"], talk_s=1)
    await eventually(
        lambda: settled(watch, two_nodes, mark, 6), within_s=30, what="six calls answered"
    )
    household = [p for p in two_nodes.messages("pop") if p["caller"]["number"] == "05356683318"]
    assert [[r["id"] for r in p["residents"]] for p in household] == [["LS0001", "LS0002"]]
    rings = watch.rings()
    assert two_nodes.pops() == rings, (two_nodes.pops(), rings)
    assert sum(rings.values()) >= 6
    answered = watch.answered()
    logged = await eventually(lambda: _rows_of(two_nodes, answered), what="a call-log row per call")
    assert logged == sorted((call, seat, "answered") for call, seat in answered.items())
    # Nobody left their queues or joined twice; after the calls every seat is ready again.
    await eventually(lambda: members_ready(pbx), what="every seat ready after the calls")
    assert member_actions(other) == []  # nor paused them for the calls

    # 3. The acting node killed in the middle of a call: the other acts within 3 s, the
    # members stay as they were, and the seat that was on the call is ready once it ends
    # (the survivor read the call's end although the dead node had started it).
    under_way = len(watch.events)
    await place(pbx, ["zh"], talk_s=3)
    await eventually(lambda: watch.answered(under_way), what="a call under way")
    first.kill()
    killed_at = time.monotonic()
    await eventually(lambda: acting(http, [other]), within_s=10, what=f"{other.name} acts")
    takeover_s = time.monotonic() - killed_at
    assert takeover_s < TAKEOVER_S, f"{other.name} acted {takeover_s:.2f} s after the kill"
    body = await health(http, other)
    assert body is not None and body["acting_node"] == other.name
    assert await members(pbx) == MEMBERS
    await eventually(lambda: watch.named("AgentComplete", under_way), what="the call ends")
    await eventually(lambda: members_ready(pbx), what="every seat ready after the call")

    # Every seat rung once more, the killed node's agents' too; they reconnect to the
    # survivor and get their pop (replayed from the last seq they got).
    mark = len(watch.events)
    await ring_every_seat(pbx, watch, talk_s=3)
    back = [await two_nodes.reconnect(console, other) for console in doomed]
    await eventually(
        lambda: settled(watch, two_nodes, under_way, 5), within_s=30, what="all calls answered"
    )
    after = watch.rings(mark)
    assert {seat for _, seat in after} == {seat for seat, _ in AGENTS.values()}, after
    for console in (*living, *back):
        got = [
            m for m in console.messages if m["type"] == "pop" and (m["call_id"], m["seat"]) in after
        ]
        assert len(got) == 1, (console.agent, console.messages)
    assert two_nodes.pops() == watch.rings()
    answered = watch.answered()
    logged = await eventually(lambda: _rows_of(two_nodes, answered), what="a call-log row per call")
    assert logged == sorted((call, seat, "answered") for call, seat in answered.items())
    await eventually(lambda: members_ready(pbx), what="every seat ready at the end")
    assert watch.named("QueueMemberRemoved") == []
    print(
        f"\n[two nodes] {other.name} acted {takeover_s:.2f} s after {first.name} was killed; "
        f"{sum(watch.rings().values())} rings, {len(answered)} calls; "
        f"{time.monotonic() - started:.1f} s in all"
    )
