"""The agents' duty on two and three nodes sharing the real Redis and one duty table: only the
acting node drives Asterisk, commands made through the others reach it, a takeover restores
and sends only what differs, and a command during a failover waits or fails cleanly."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from cti.cluster import NoActingNode
from cti.db import create_engine, upgrade
from queues import BadPauseReason, NotOnDuty, SeatDuty, SqlDutyStore, Wanted
from seats import parse_skills
from tests.support.duty_nodes import Cluster, DutyNode
from tests.support.redis import REDIS_URL, delete_keys
from tests.support.waiting import eventually

pytestmark = pytest.mark.redis


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'duty.sqlite3'}")
    await upgrade(engine, "head")
    prefix = f"test-duty:{uuid.uuid4().hex}:"
    made = Cluster(prefix, SqlDutyStore(engine))
    try:
        yield made
    finally:
        await made.close()
        await engine.dispose()
        await delete_keys(prefix)


async def _ghost_holds_the_lease(prefix: str) -> None:
    """A holder that never answers (a node frozen while holding it) for a minute."""
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.set(f"{prefix}cluster:lease", "ghost 999", px=60_000)
    finally:
        await client.aclose()


async def _ghost_gone(prefix: str) -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.delete(f"{prefix}cluster:lease")
    finally:
        await client.aclose()


def _paused(cluster: Cluster, queue: str, seat: str) -> tuple[str, str] | None:
    member = cluster.pbx.member(queue, seat)
    return None if member is None else (member["Paused"], member["PausedReason"])


async def test_a_pause_through_a_node_that_does_not_act_is_sent_once_by_the_acting_node(
    cluster: Cluster,
) -> None:
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    assert (a.duty.acting, b.duty.acting) == (True, False)

    duty = await b.duty.login("a07", "seat07", parse_skills("zh"))
    assert (duty.seat, duty.queues) == ("seat07", (Wanted("q-zh", 0),))
    await eventually(lambda: _paused(cluster, "q-zh", "seat07") == ("0", ""), what="added")
    assert a.ami.member_actions() == [("QueueAdd", "q-zh", "seat07")]

    paused = await b.duty.pause("a07", "meal")
    assert (paused.status, paused.reason) == ("paused", "meal")
    assert b.duty.duty_of("a07") == paused  # the answer is read back on b at once
    await eventually(lambda: _paused(cluster, "q-zh", "seat07") == ("1", "meal"), what="paused")
    assert a.ami.member_actions()[1:] == [("QueuePause", "q-zh", "seat07")]

    # The acting node's errors are raised on the calling node as the same exceptions.
    with pytest.raises(BadPauseReason):
        await b.duty.pause("a07", "nap")
    with pytest.raises(NotOnDuty):
        await b.duty.ready("nobody")

    # A call answered: the acting node pauses the seat for after-call work; b, hearing the
    # same event, changes and sends nothing.
    await b.duty.ready("a07")
    await eventually(lambda: _paused(cluster, "q-zh", "seat07") == ("0", ""), what="ready")
    cluster.pbx.tell(
        "AgentConnect",
        {"Queue": "q-zh", "Interface": "Local/seat07@agents/n", "MemberName": "seat07",
         "Uniqueid": "1700000000.1"},
    )  # fmt: skip
    await eventually(
        lambda: _paused(cluster, "q-zh", "seat07") == ("1", "after-call-work"), what="acw"
    )
    await eventually(lambda: (b.duty.duty_of("a07") or duty).status == "on_call", what="mirror")
    assert b.ami.sent == [] and b.bus.messages == []
    assert [m["status"] for agent, m in a.bus.messages if m["type"] == "duty"][-1] == "on_call"


async def test_the_acting_node_killed_another_restores_and_sends_only_what_differs(
    cluster: Cluster,
) -> None:
    a = await cluster.start("node-a")
    # b and c do not reload the saved duties by themselves here: what they hold after the
    # takeover comes from the restore.
    b = await cluster.start("node-b", mirror_every_s=3600)
    c = await cluster.start("node-c", mirror_every_s=3600)
    await a.duty.login("a07", "seat07", parse_skills("zh"))
    await a.duty.login("a21", "seat21", parse_skills("ko"))
    await a.duty.pause("a21", "break")
    await eventually(lambda: _paused(cluster, "q-ko", "seat21") == ("1", "break"), what="paused")
    assert await a.duty.drained(5.0)
    for node in (b, c):
        node.service.mirror([])  # whatever they mirrored: forgotten, not reloaded for an hour
    # Asterisk loses seat21 while no node acts: nobody hears it.
    await a.kill(cluster.pbx)
    killed_at = time.monotonic()
    cluster.pbx.silently_remove("q-ko", "seat21")

    acting: list[DutyNode] = await eventually(
        cluster.acting, within_s=3.0, what="a new acting node"
    )
    assert time.monotonic() - killed_at < 3.0
    (new,) = acting
    other = c if new is b else b
    assert [(d.agent, d.seat, d.status, d.reason) for d in new.duty.duties()] == [
        ("a07", "seat07", "ready", None),
        ("a21", "seat21", "paused", "break"),
    ]
    await eventually(lambda: _paused(cluster, "q-ko", "seat21") == ("1", "break"), what="re-add")
    await eventually(new.service.reconciler.settled.wait)
    # A fresh QueueStatus first, then only the member Asterisk lost, paused as it was.
    assert new.ami.sent[0][0] == "QueueStatus"
    assert new.ami.member_actions() == [("QueueAdd", "q-ko", "seat21")]
    assert other.ami.sent == []


async def test_a_command_during_the_failover_waits_and_is_carried_out_by_the_next_node(
    cluster: Cluster,
) -> None:
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    await a.duty.login("a07", "seat07", parse_skills("zh"))
    await eventually(lambda: _paused(cluster, "q-zh", "seat07") == ("0", ""), what="added")
    assert await a.duty.drained(5.0)
    await a.kill(cluster.pbx)
    assert not b.duty.acting  # a's lease is still in Redis: nobody acts for a while

    paused = await b.duty.pause("a07", "meal")

    assert b.duty.acting and (paused.status, paused.reason) == ("paused", "meal")
    await eventually(lambda: _paused(cluster, "q-zh", "seat07") == ("1", "meal"), what="paused")
    assert b.ami.member_actions() == [("QueuePause", "q-zh", "seat07")]


async def test_a_command_nobody_takes_fails_and_is_never_carried_out_late(
    cluster: Cluster,
) -> None:
    await cluster.store.save(SeatDuty("seat07", "a07", (Wanted("q-zh", 0),)))
    await _ghost_holds_the_lease(cluster.prefix)
    b = await cluster.start("node-b", wait_s=0.5)
    assert not b.duty.acting

    with pytest.raises(NoActingNode):
        await b.duty.pause("a07", "meal")
    # Meanwhile a22 logged in (the seat map has them) while their duty could not be set.
    cluster.seats.seated["seat22"] = "a22"
    cluster.seats.languages["a22"] = "en"

    await _ghost_gone(cluster.prefix)
    await eventually(lambda: b.duty.acting, within_s=3.0, what="b acts")
    await eventually(lambda: _paused(cluster, "q-en", "seat22") == ("0", ""), what="a22 added")
    await eventually(b.service.reconciler.settled.wait)
    # The expired pause was dropped, not carried out when b started acting.
    assert (b.duty.duty_of("a07") or SeatDuty("", "", ())).status == "ready"
    assert _paused(cluster, "q-zh", "seat07") == ("0", "")
    assert sorted(b.ami.member_actions()) == [
        ("QueueAdd", "q-en", "seat22"),
        ("QueueAdd", "q-zh", "seat07"),
    ]


async def test_a_logout_while_no_node_acts_is_owed_and_carried_out_once_one_does(
    cluster: Cluster,
) -> None:
    await cluster.store.save(SeatDuty("seat07", "a07", (Wanted("q-zh", 0),)))
    await _ghost_holds_the_lease(cluster.prefix)
    b = await cluster.start("node-b", wait_s=0.3)
    c = await cluster.start("node-c", wait_s=0.3)
    assert not b.duty.acting and not c.duty.acting

    await b.duty.logout("a07")  # the session already ended: no error for the agent

    await _ghost_gone(cluster.prefix)
    await eventually(lambda: len(cluster.acting()) == 1, within_s=3.0, what="a node acts")
    acting = cluster.acting()[0]
    await eventually(lambda: acting.duty.duty_of("a07") is None, what="the owed logout done")
    await eventually(acting.service.reconciler.settled.wait)
    assert cluster.pbx.member("q-zh", "seat07") is None
