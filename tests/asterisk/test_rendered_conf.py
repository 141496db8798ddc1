"""The configuration `cti conf render` writes, loaded into the real Asterisk 22.10.1 on free
ports: it boots with nothing at WARNING or ERROR, has every queue and seat, an
administrator's queue change reaches it live (files rewritten + QueueReload sent by the
least-privileged CTI user) without dropping a dynamic member, and two callers who join a
queue together ring two free seats at once (`autofill = yes`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cti.ami import AMIClient, Event, Response
from cti.conf import HotlineConfig, RenderOptions, check, render, seat_password, write
from cti.conf.live import apply_files, diff_files, reload_actions
from cti.settings import AMISettings, AsteriskConfSettings, IVRSettings, Settings
from cti.testbed import Asterisk, AsteriskError, Ports, free_port, free_udp_and_tcp_port
from queues.model import QueueSpec
from tests.support.sipp import register_seat, seat_phone
from tests.support.waiting import eventually

pytestmark = pytest.mark.asterisk
SECRET = "rendered-ami-secret"
SEAT_KEY = "test-key"


@dataclass
class Rendered:
    asterisk: Asterisk
    settings: Settings
    files: dict[str, str]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    base = tmp_path_factory.mktemp("rendered")
    ami, sip, agi = free_port(), free_udp_and_tcp_port(), free_port()
    settings = Settings(
        ami=AMISettings(port=ami, username="cti", secret=SECRET),
        ivr=IVRSettings(port=agi),
        conf=AsteriskConfSettings(sip_bind=f"127.0.0.1:{sip}", seat_secret_key=SEAT_KEY),
    )
    files = render(HotlineConfig(), settings, RenderOptions())
    write(files, base / "conf")
    assert check(base / "conf") == []
    pbx = Asterisk(base / "run", base / "conf", Ports(ami=ami, sip=sip, agi=agi, trunk=0))
    try:
        pbx.start()
    except AsteriskError as exc:
        pytest.fail(f"the rendered configuration did not boot: {exc}", pytrace=False)
    try:
        yield Rendered(pbx, settings, files)
    finally:
        pbx.stop()


@pytest.fixture
async def ami(rendered: Rendered) -> AsyncIterator[AMIClient]:
    client = AMIClient(rendered.settings.ami.model_copy(update={"backoff_max_s": 0.5}))
    await client.start()
    await client.wait_connected(15)
    try:
        yield client
    finally:
        await client.stop()


def test_rendered_configuration_boots_with_a_clean_log(rendered: Rendered) -> None:
    assert rendered.asterisk.log_problems() == []
    log = rendered.asterisk.log_file.read_text(errors="replace")
    assert "ERROR" not in log
    assert "Invalid keyword" not in log  # a NOTICE, for a key in the wrong section


def test_every_queue_and_seat_of_the_model_is_loaded(rendered: Rendered) -> None:
    queues = rendered.asterisk.cli("queue show")
    for name in ("q-zh", "q-en", "q-ko", "q-duty"):
        assert f"{name} has 0 calls" in queues
    assert "'ringall' strategy" in rendered.asterisk.cli("queue show q-duty")
    endpoints = rendered.asterisk.cli("pjsip show endpoints")
    assert "seat01" in endpoints and "seat52" in endpoints
    assert "Objects found: 53" in endpoints  # 52 seats and the trunk
    assert "penaltychange" not in rendered.asterisk.cli("dialplan show hotline-queue")
    dialplan = rendered.asterisk.cli("dialplan show hotline")
    assert f"agi://127.0.0.1:{rendered.settings.ivr.port}/language-menu" in dialplan


async def test_a_queue_change_reaches_asterisk_live_and_keeps_dynamic_members(
    rendered: Rendered, ami: AMIClient, tmp_path: Path
) -> None:
    await ami.send(
        "QueueAdd",
        {"Queue": "q-zh", "Interface": "Local/seat07@agents/n", "MemberName": "seat07"},
    )
    model = HotlineConfig()
    changed = model.model_copy(
        update={
            "queues": (
                *(
                    q.model_copy(update={"service_level_s": 20, "weight": 2})
                    if q.name == "q-zh"
                    else q
                    for q in model.queues
                ),
                QueueSpec(name="q-law", language="zh", kind="expert", title="lawyer"),
            )
        }
    )
    new_files = render(changed, rendered.settings, RenderOptions())
    diff = diff_files(rendered.files, new_files)
    assert set(diff) == {"queues.conf", "extensions.conf"}
    results = await apply_files(
        new_files, reload_actions(diff), rendered.asterisk.rundir / "etc", ami
    )
    assert [(r.action, r.ok) for r in results] == [("write", True), ("QueueReload", True)]
    assert results[1].message == "Queue reloaded successfully"

    shown = rendered.asterisk.cli("queue show q-zh")
    assert "W:2" in shown and "within 20s" in shown
    assert "seat07" in shown  # the dynamic member stayed
    await eventually(lambda: "q-law has 0 calls" in rendered.asterisk.cli("queue show"))
    assert rendered.asterisk.log_problems() == []

    # and back (the next test module sees the rendered defaults again)
    back = await apply_files(
        rendered.files, reload_actions(diff), rendered.asterisk.rundir / "etc", ami
    )
    assert all(r.ok for r in back)
    await ami.send("QueueRemove", {"Queue": "q-zh", "Interface": "Local/seat07@agents/n"})


async def test_two_callers_joining_together_ring_two_free_seats_at_once(
    rendered: Rendered, ami: AMIClient, tmp_path: Path
) -> None:
    """`autofill = yes`: the second caller rings the other free seat at once. Asterisk's
    default (no) holds it behind the head caller until that one is connected or leaves:
    measured 30 s here (both phones ring unanswered; the head gives up after 30 s)."""
    seats = ("seat07", "seat08")
    sip_port = int(rendered.settings.conf.sip_bind.rsplit(":", 1)[1])
    called: list[tuple[float, Event]] = []

    def on_agent_called(event: Event) -> None:
        if event.name == "AgentCalled":
            called.append((time.monotonic(), event))

    async with contextlib.AsyncExitStack() as phones_up:
        phones = []
        for seat in seats:
            port = free_udp_and_tcp_port()
            phones.append(
                await phones_up.enter_async_context(
                    seat_phone(port, tmp_path, scenario="uas_noanswer.xml")
                )
            )
            registering = await register_seat(
                sip_port,
                tmp_path,
                seat=seat,
                password=seat_password(SEAT_KEY, seat),
                contact=f"sip:{seat}@127.0.0.1:{port}",
            )
            assert await registering.wait(30) == 0, registering.output()
            await ami.send(
                "QueueAdd", {"Queue": "q-zh", "Interface": f"PJSIP/{seat}", "MemberName": seat}
            )
        unsubscribe = ami.subscribe(on_agent_called)
        try:
            await eventually(
                lambda: rendered.asterisk.cli("queue show q-zh").count("(Not in use)") == 2,
                what="both seats free members of q-zh",
            )
            # Straight into the rendered [hotline-queue] (the IVR's part is not this test's).
            originates = [
                ami.send(
                    "Originate",
                    [
                        ("Channel", "Local/s@hotline-queue/n"),
                        ("Application", "Wait"),
                        ("Data", "30"),
                        ("CallerID", number),
                        ("Variable", "QUEUE=q-zh"),
                        ("Async", "true"),
                    ],
                    idempotent=False,
                )
                for number in ("05356683318", "05356683319")
            ]
            answers = await asyncio.gather(*originates)
            assert all(isinstance(r, Response) and r.ok for r in answers), answers

            def both_ringing() -> list[tuple[float, Event]]:
                rang = [f"{e['CallerIDNum']} at {e['MemberName']}" for _, e in called]
                assert len(rang) >= 2, f"not both callers ringing a seat, only: {rang}"
                return called[:2]

            both = await eventually(both_ringing, within_s=10)
            (first_at, first), (second_at, second) = both
            assert first["Channel"] != second["Channel"]  # two callers, not one ringing twice
            assert {first["MemberName"], second["MemberName"]} == set(seats)
            assert second_at - first_at < 0.5, (
                f"second caller rang {second_at - first_at:.3f} s later"
            )
        finally:
            unsubscribe()
            await asyncio.to_thread(rendered.asterisk.cli, "channel request hangup all")
            for seat in seats:
                await ami.send("QueueRemove", {"Queue": "q-zh", "Interface": f"PJSIP/{seat}"})
        for phone in phones:  # each rang once and was cancelled
            assert await phone.wait(30) == 0, phone.output()
    assert rendered.asterisk.log_problems() == []
