"""Several CTI nodes' duty on one Redis: each a `ClusterDuty` over a `MembershipService` with
its own `RedisLease`, all hearing one fake Asterisk whose member actions each node records.

`FakePbx` keeps the queue members: a member action changes them and every node hears the
matching `QueueMember*` event (every node reads AMI); `QueueStatus` lists them. `silently_*`
changes them without an event (what the nodes missed while no node acted).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import redis.asyncio as aioredis

from cti.ami import Event, Resync
from cti.cluster import ClusterDuty, RedisLease
from queues import DutyStore, MemberInterfaces, MembershipService
from seats import parse_skills
from tests.support.redis import REDIS_URL

MEMBER_ACTIONS = frozenset({"QueueAdd", "QueueRemove", "QueuePause", "QueuePenalty"})
INTERFACE = "Local/{seat}@agents/n"


class FakePbx:
    """One Asterisk's queue members, shared by the nodes (see the module docstring)."""

    def __init__(self) -> None:
        self.members: dict[tuple[str, str], dict[str, str]] = {}  # (queue, seat) -> fields
        self.listeners: list[Callable[[Event], None]] = []

    def member(self, queue: str, seat: str) -> dict[str, str] | None:
        return self.members.get((queue, seat))

    def apply(self, name: str, fields: dict[str, str]) -> None:
        queue, seat = fields["Queue"], fields["Interface"].split("/")[1].split("@")[0]
        key = (queue, seat)
        if name == "QueueAdd":
            self.members[key] = {
                "Queue": queue,
                "Interface": fields["Interface"],
                "MemberName": seat,
                "Penalty": fields.get("Penalty", "0"),
                "Paused": "1" if fields.get("Paused") == "true" else "0",
                "PausedReason": fields.get("Reason", ""),
                "Status": "1",
                "InCall": "0",
            }
            self._tell("QueueMemberAdded", self.members[key])
        elif name == "QueueRemove":
            gone = self.members.pop(key)
            self._tell("QueueMemberRemoved", gone)
        elif name == "QueuePause":
            paused = fields.get("Paused") == "true"
            self.members[key]["Paused"] = "1" if paused else "0"
            self.members[key]["PausedReason"] = fields.get("Reason", "") if paused else ""
            self._tell("QueueMemberPause", self.members[key])
        elif name == "QueuePenalty":
            self.members[key]["Penalty"] = fields["Penalty"]
            self._tell("QueueMemberPenalty", self.members[key])

    def status(self) -> list[Event]:
        return [Event(tuple(m.items()), "QueueMember") for m in self.members.values()]

    def tell(self, name: str, headers: dict[str, str]) -> None:
        """Every node hears an event (AgentConnect, AgentComplete...)."""
        self._tell(name, headers)

    def silently_remove(self, queue: str, seat: str) -> None:
        del self.members[(queue, seat)]

    def _tell(self, name: str, headers: dict[str, str]) -> None:
        event = Event(tuple(headers.items()), name)
        loop = asyncio.get_running_loop()
        for listener in list(self.listeners):
            loop.call_soon(listener, event)


class NodeAmi:
    """One node's AMI client: records what this node sent, forwards it to the PBX."""

    connected = True

    def __init__(self, pbx: FakePbx) -> None:
        self.pbx = pbx
        self.sent: list[tuple[str, dict[str, str]]] = []

    async def send(self, name: str, fields: Iterable[tuple[str, str]] = ()) -> object:
        values = dict(fields)
        self.sent.append((name, values))
        if name == "QueueStatus":
            return SimpleNamespace(events=self.pbx.status())
        self.pbx.apply(name, values)
        return None

    def member_actions(self) -> list[tuple[str, str, str]]:
        """(action, queue, seat) of each member action sent, in order."""
        return [
            (name, f["Queue"], f["Interface"].split("/")[1].split("@")[0])
            for name, f in self.sent
            if name in MEMBER_ACTIONS
        ]


@dataclass
class Recorded:
    """A bus that keeps what this node published."""

    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def publish(self, agent_id: str, message: dict[str, Any]) -> int:
        self.messages.append((agent_id, message))
        return len(self.messages)


@dataclass
class Profile:
    skills: tuple[Any, ...]


@dataclass
class SeatMap:
    """The shared seat map (seat -> agent) and the accounts' skills, as the takeover reads
    them."""

    seated: dict[str, str] = field(default_factory=dict)
    languages: dict[str, str] = field(default_factory=dict)

    def occupied(self) -> dict[str, str]:
        return dict(self.seated)

    async def profile(self, agent: str) -> Profile | None:
        langs = self.languages.get(agent)
        return None if langs is None else Profile(parse_skills(langs))


@dataclass
class DutyNode:
    """One node: its lease, duty service, facade, AMI record and owned tasks."""

    name: str
    lease: RedisLease
    service: MembershipService
    duty: ClusterDuty
    ami: NodeAmi
    bus: Recorded
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    alive: bool = True

    async def kill(self, pbx: FakePbx) -> None:
        """Gone without a goodbye: no release, no more renewals, nothing heard or sent."""
        self.alive = False
        if self.service.on_event in pbx.listeners:
            pbx.listeners.remove(self.service.on_event)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Cluster:
    """Nodes on one Redis prefix, one fake Asterisk and one duty store."""

    def __init__(self, prefix: str, store: DutyStore, seats: SeatMap | None = None) -> None:
        self.prefix = prefix
        self.store = store
        self.pbx = FakePbx()
        self.seats = seats or SeatMap()
        self.nodes: list[DutyNode] = []
        self._clients: list[aioredis.Redis] = []

    def _redis(self) -> aioredis.Redis:
        client = aioredis.Redis.from_url(REDIS_URL)
        self._clients.append(client)
        return client

    async def start(
        self, name: str, *, wait_s: float = 4.0, mirror_every_s: float = 1.0
    ) -> DutyNode:
        """A node, started as `cti serve` starts it (the first one takes the lease at once)."""
        lease = RedisLease(self._redis(), name, prefix=self.prefix)
        ami = NodeAmi(self.pbx)
        bus = Recorded()
        service = MembershipService(
            ami,
            bus,
            self.store,
            interfaces=MemberInterfaces(INTERFACE),
            acting=lambda: lease.held,
        )
        duty = ClusterDuty(
            service,
            lease,
            redis=self._redis(),
            listener=self._redis(),
            prefix=self.prefix,
            seats=self.seats,
            profile_of=self.seats.profile,
            wait_s=wait_s,
            mirror_every_s=mirror_every_s,
        )
        await lease.step()
        self.pbx.listeners.append(service.on_event)
        # The node's own AMI resync at connect: it follows Asterisk's members from here.
        service.on_resynced(Resync(datetime.now(UTC), self.pbx.status(), []))
        await duty.start()
        node = DutyNode(name, lease, service, duty, ami, bus)
        node.tasks = [
            asyncio.create_task(lease.run(), name=f"{name}-lease"),
            asyncio.create_task(service.run(), name=f"{name}-duty"),
            asyncio.create_task(duty.run(), name=f"{name}-cluster-duty"),
        ]
        self.nodes.append(node)
        return node

    def acting(self) -> list[DutyNode]:
        return [n for n in self.nodes if n.alive and n.duty.acting]

    async def close(self) -> None:
        for node in self.nodes:
            if node.alive:
                await node.kill(self.pbx)
        for client in self._clients:
            await client.aclose()
