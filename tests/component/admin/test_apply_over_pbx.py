"""Apply and rollback through the real AMI client: against the replay peer answering with
Asterisk 22's recorded words (19: QueueReload; 20: Permission denied; 02: a QueueAdd refused
for a queue Asterisk does not have), and against the simulator, whose QueueReload reads the
queues.conf the apply wrote. Every failed action is reported per action."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from cti import stop_task
from cti.admin import AdminService, MemoryVersionStore
from cti.ami import AMIClient, ReplayPeer
from cti.ami.trace import shared_dir
from cti.cluster import ClusterDuty, LocalLease
from cti.conf.model import AgentOverride, HotlineConfig, QueueSkill
from cti.settings import AMISettings, AsteriskConfSettings, Settings
from cti.sim import PbxConfig, SimConfig, SimThread
from queues import MemberInterfaces, MembershipService, MemoryDutyStore, registry
from queues.membership.models import Wanted
from queues.model import QueueSpec
from seats import MemoryAgentAccounts, parse_skills
from tests.support.waiting import eventually

PASSWORD = "correct horse 7"
TRACES = shared_dir() / "asterisk-traces"


def excerpt(out: Path, picks: Iterable[tuple[str, str, int]]) -> Path:
    """A recording made of recorded pieces: the greeting and Login of the first recording,
    then each (recording, action, n): the n-th `action` block with what Asterisk sent after
    it, byte for byte as recorded."""
    chunks: list[bytes] = []
    for i, (name, action, nth) in enumerate(picks):
        pieces = (TRACES / name).read_bytes().split(b"\n>>> Action: ")  # CRLF kept
        if i == 0:
            chunks.append(pieces[0])
            chunks += [p for p in pieces[1:] if p.startswith(b"Login\n")]
        chunks.append([p for p in pieces[1:] if p.startswith(action.encode() + b"\n")][nth])
    # Each piece lost its last "\n" to the separator: the last one gets it back.
    out.write_bytes(b"\n>>> Action: ".join(chunks) + b"\n")
    return out


class Nowhere:
    async def publish(self, agent_id: str, message: dict[str, Any]) -> int:
        return 0


def _accounts() -> MemoryAgentAccounts:
    accounts = MemoryAgentAccounts()
    accounts.add("a01", "王芳", "zh", PASSWORD, home_seat="seat01")
    return accounts


def _with_expert(config: HotlineConfig) -> HotlineConfig:
    """A lawyers' queue, and a01 serving q-zh and it."""
    law = QueueSpec(name="q-law", language="zh", kind="expert", title="律师")
    skills = (QueueSkill(queue="q-zh", penalty=0), QueueSkill(queue="q-law", penalty=0))
    return config.model_copy(
        update={
            "queues": (*config.queues, law),
            "agents": (AgentOverride(agent="a01", queues=skills),),
        }
    )


def _sl20(config: HotlineConfig) -> HotlineConfig:
    queues = tuple(
        q.model_copy(update={"service_level_s": 20}) if q.name == "q-zh" else q
        for q in config.queues
    )
    return config.model_copy(update={"queues": queues})


@asynccontextmanager
async def linked(
    port: int, etc: Path, *, with_duty: bool = True
) -> AsyncIterator[tuple[AdminService, MembershipService, AMIClient]]:
    ami = AMIClient(AMISettings(port=port, action_timeout_s=2.0))
    duty = MembershipService(
        ami,
        Nowhere(),
        MemoryDutyStore(),
        interfaces=MemberInterfaces("Local/{seat}@agents/n", "Custom:{seat}"),
        retry_s=0.3,
    )
    ami.subscribe(duty.on_event)
    ami.on_resynced(duty.on_resynced)
    ami.on_link(duty.on_link)
    runner = asyncio.create_task(duty.run())
    await ami.start()
    settings = Settings(conf=AsteriskConfSettings(asterisk_dir=etc))
    service = AdminService(
        settings,
        _accounts(),
        duty=ClusterDuty(duty, LocalLease()) if with_duty else None,
        sender=ami,
        store=MemoryVersionStore(),
    )
    try:
        await ami.wait_connected(10)
        yield service, duty, ami
    finally:
        await stop_task(runner)
        await ami.stop()
        registry.install(HotlineConfig().queues)


def _outcomes(results: Iterable[Any]) -> list[tuple[str, bool, str]]:
    return [(r.action, r.ok, r.message) for r in results]


async def test_19_apply_and_rollback_each_get_asterisks_queue_reloaded(tmp_path: Path) -> None:
    trace = excerpt(
        tmp_path / "19-apply-rollback.ami",
        [
            ("19-config-live-apply.ami", "QueueReload", 0),
            ("19-config-live-apply.ami", "QueueReload", 0),
        ],
    )
    async with (
        ReplayPeer(trace) as peer,
        linked(peer.port, tmp_path / "etc", with_duty=False) as (
            service,
            _,
            _,
        ),
    ):
        summary, _ = await service.apply(0, _sl20(service.current.config), "boss", "SL 20")
        assert [(a, ok) for a, ok, _ in _outcomes(summary.results)] == [
            ("write", True),
            ("QueueReload", True),
        ]
        assert summary.results[1].message == "Queue reloaded successfully"
        assert summary.asterisk_applied
        assert "servicelevel = 20" in (tmp_path / "etc" / "queues.conf").read_text()

        back, _ = await service.rollback(0, 1, "boss")
        assert (back.version, back.rollback_of, back.asterisk_applied) == (2, 0, True)
        assert "servicelevel = 20" not in (tmp_path / "etc" / "queues.conf").read_text()
        reloads = [a for a in peer.received if a.name == "QueueReload"]
        assert [(a.get("Parameters"), a.get("Members")) for a in reloads] == [("yes", "no")] * 2


async def test_20_a_denied_reload_is_reported_and_the_version_says_asterisk_lacks_it(
    tmp_path: Path,
) -> None:
    trace = excerpt(tmp_path / "login.ami", [("19-config-live-apply.ami", "QueueReload", 0)])
    # Only the Login is waited for; the QueueReload is answered as 20 answers a user without
    # the action's class.
    trace.write_bytes(trace.read_bytes().split(b"\n>>> Action: QueueReload")[0] + b"\n")
    store = MemoryVersionStore()
    async with (
        ReplayPeer(trace, denied=("queuereload",)) as peer,
        linked(peer.port, tmp_path / "etc", with_duty=False) as (service, _, ami),
    ):
        service = AdminService(
            Settings(conf=AsteriskConfSettings(asterisk_dir=tmp_path / "etc")),
            _accounts(),
            sender=ami,
            store=store,
        )
        summary, _ = await service.apply(0, _sl20(service.current.config), "boss")
    action, ok, message = _outcomes(summary.results)[1]
    assert (action, ok) == ("QueueReload", False)
    assert message.startswith("permission denied"), message  # 20's words, named by the client
    assert summary.results[0].ok  # the file was written: Asterisk will read it at a reload
    assert not summary.asterisk_applied
    restarted = AdminService(Settings(), _accounts(), store=store)
    await restarted.load()
    assert restarted.history()[0].asterisk_applied is False
    assert restarted.history()[0].results[1].message == message


async def test_02_a_member_add_asterisk_refuses_is_reported_and_the_duty_says_not_a_member(
    tmp_path: Path,
) -> None:
    trace = excerpt(
        tmp_path / "02-requeue.ami",
        [
            ("02-queue-admin.ami", "QueueAdd", 0),  # a01 logs in: q-zh, Added interface
            ("19-config-live-apply.ami", "QueueReload", 0),
            ("02-queue-admin.ami", "QueueAdd", 2),  # q-law: No such queue
        ],
    )
    async with (
        ReplayPeer(trace) as peer,
        linked(peer.port, tmp_path / "etc") as (
            service,
            duty,
            _,
        ),
    ):
        duty.login("a01", "seat01", parse_skills("zh"))
        await eventually(lambda: duty.reconciler.member("q-zh", "seat01"), what="seat01 in q-zh")
        summary, plan = await service.apply(0, _with_expert(service.current.config), "boss")
        assert [(r.agent, r.before, r.after) for r in plan.requeues] == [
            ("a01", ["q-zh:0"], ["q-zh:0", "q-law:0"])
        ]
        assert [(a.action, a.fields.get("Queue")) for a in plan.actions] == [
            ("QueueReload", None),
            ("QueueAdd", "q-law"),
        ]
        assert _outcomes(summary.results)[1:] == [
            ("QueueReload", True, "Queue reloaded successfully"),
            ("requeue a01", True, "the reconciler follows"),
        ]
        errors = await eventually(lambda: duty.reconciler.errors, what="the refused QueueAdd")
        assert errors[0] == "QueueAdd q-law seat01: Unable to add interface to queue: No such queue"
        view = duty.view(duty.duties()[0])
        assert [(q["queue"], q["member"]) for q in view["queues"]] == [
            ("q-zh", True),
            ("q-law", False),
        ]
        assert any(a.name == "QueueAdd" and a.get("Queue") == "q-law" for a in peer.received)


async def test_over_the_simulator_a_new_queue_appears_its_member_is_added_and_rollback_removes(
    tmp_path: Path,
) -> None:
    etc = tmp_path / "etc"
    pbx = PbxConfig(conf_dir=etc, no_answer_ratio=0.0, answer_delay=(0.05, 0.05), retry=0.05)
    async with SimThread(SimConfig(pbx=pbx)) as sim, linked(sim.port, etc) as (service, duty, _):
        duty.login("a01", "seat01", parse_skills("zh"))
        await eventually(lambda: duty.reconciler.member("q-zh", "seat01"))
        summary, _ = await service.apply(0, _with_expert(service.current.config), "boss")
        assert summary.asterisk_applied, summary.results
        await eventually(lambda: duty.reconciler.member("q-law", "seat01"), what="in q-law")
        assert duty.duties()[0].queues == (Wanted("q-zh", 0), Wanted("q-law", 0))

        back, _ = await service.rollback(0, 1, "boss")
        assert back.asterisk_applied, back.results
        await eventually(
            lambda: duty.reconciler.member("q-law", "seat01") is None, what="out of q-law"
        )
        assert duty.duties()[0].queues == (Wanted("q-zh", 0),)
        assert not duty.reconciler.errors


async def test_over_the_simulator_without_the_file_the_add_is_refused_per_action(
    tmp_path: Path,
) -> None:
    # Asterisk reads another directory than the one written: the reload succeeds but brings
    # no q-law, and the member action is refused with Asterisk's words.
    pbx = PbxConfig(no_answer_ratio=0.0, answer_delay=(0.05, 0.05), retry=0.05)
    async with (
        SimThread(SimConfig(pbx=pbx)) as sim,
        linked(sim.port, tmp_path / "etc") as (
            service,
            duty,
            _,
        ),
    ):
        duty.login("a01", "seat01", parse_skills("zh"))
        await eventually(lambda: duty.reconciler.member("q-zh", "seat01"))
        summary, _ = await service.apply(0, _with_expert(service.current.config), "boss")
        assert summary.asterisk_applied
        errors = await eventually(lambda: duty.reconciler.errors, what="a refused QueueAdd")
        assert errors[0] == "QueueAdd q-law seat01: Unable to add interface to queue: No such queue"
        assert duty.reconciler.member("q-zh", "seat01") is not None
