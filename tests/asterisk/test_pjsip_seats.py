"""Production shape: seats are SIP phones (`PJSIP/seatNN`, members as the server adds them
with its default interface template) answered by sipp, and callers arrive over a SIP trunk
(sipp's `uac_caller.xml`), as in 13-pjsip-seat-call.ami and 14-sip-caller-ids.ami."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cti.testbed import Asterisk
from cti.web import create_app
from tests.asterisk.conftest import Cti, Pbx, server_settings
from tests.asterisk.test_local_seats import on_queue
from tests.support.sipp import seat_phone, trunk_call

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def cti_sip(
    asterisk: Asterisk, pbx: Pbx, database: Path, aiohttp_client: Any
) -> AsyncIterator[Cti]:
    """The server with SIP seats: members are `PJSIP/{seat}` (the production default)."""
    settings = server_settings(asterisk, database, interface="PJSIP/{seat}")
    assert settings.members.interface == "PJSIP/{seat}"
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    server = Cti(client, settings)
    try:
        yield server
    finally:
        for console in server.consoles:
            await console.close()


async def test_trunk_call_from_a_household_pops_at_the_sip_seat_then_completes(
    asterisk: Asterisk, cti_sip: Cti, tmp_path: Path
) -> None:
    async with seat_phone(asterisk.ports.seats["seat07"], tmp_path) as phone:
        agent = await cti_sip.login("a07", "seat07")
        await on_queue(agent, "q-zh")

        caller = await trunk_call(
            asterisk.ports.sip,
            tmp_path,
            from_='"张先生" <sip:05356683318@127.0.0.1>',
            header1="X-Case: household-landline",
        )
        pop = await agent.pop("05356683318")
        assert pop["queue"] == "q-zh"
        assert pop["seat"] == "seat07"
        assert pop["caller"]["name"] == "张先生"  # UTF-8 display name through SIP and AMI
        assert [r["id"] for r in pop["residents"]] == ["LS0001", "LS0002"]
        call_id = pop["call_id"]
        # uas_answer.xml: 180, answers after 2 s, talks 3 s, then the seat hangs up.
        completed = await agent.next(
            lambda m: m["type"] == "completed" and m["call_id"] == call_id, within_s=30
        )
        assert agent.types_of_call(call_id) == ["pop", "answered", "completed"]
        answered = agent.of_call(call_id)[1]
        assert 1.0 <= answered["ring_s"] <= 4.0
        assert completed["hung_up_by"] == "agent"
        assert 2.0 <= completed["talk_s"] <= 5.0
        assert await phone.wait(30) == 0, phone.output()
        assert await caller.wait(30) == 0, caller.output()

    row = await cti_sip.logged(call_id)
    assert (row["outcome"], row["agent"], row["seat"]) == ("answered", "a07", "seat07")
    assert row["caller_number"] == "05356683318"
    assert row["resident_ids"] == "LS0001 LS0002"


async def test_anonymous_trunk_caller_with_asserted_identity_pops_the_asserted_number(
    asterisk: Asterisk, cti_sip: Cti, tmp_path: Path
) -> None:
    async with seat_phone(asterisk.ports.seats["seat08"], tmp_path) as phone:
        agent = await cti_sip.login("a08", "seat08")
        await on_queue(agent, "q-zh")

        # The carrier withholds the caller from the called party (`Privacy: id`) but asserts
        # the identity to a trusted peer (`trust_id_inbound = yes`): Asterisk reports the
        # asserted number and `<unknown>` as the name (14-sip-caller-ids.ami).
        caller = await trunk_call(
            asterisk.ports.sip,
            tmp_path,
            from_='"Anonymous" <sip:anonymous@anonymous.invalid>',
            header1="Privacy: id",
            header2="P-Asserted-Identity: <sip:13805356789@127.0.0.1>",
        )
        pop = await agent.pop("13805356789")
        assert pop["caller"]["name"] is None  # `<unknown>` is no name
        assert pop["caller"]["kind"] == "domestic"
        assert pop["caller"]["normalized"] == "+8613805356789"
        assert [r["id"] for r in pop["residents"]] == ["LS0003"]
        call_id = pop["call_id"]
        await agent.next(
            lambda m: m["type"] == "completed" and m["call_id"] == call_id, within_s=30
        )
        assert agent.types_of_call(call_id) == ["pop", "answered", "completed"]
        assert await phone.wait(30) == 0, phone.output()
        assert await caller.wait(30) == 0, caller.output()

    row = await cti_sip.logged(call_id)
    assert row["outcome"] == "answered"
    assert row["caller_number"] == "13805356789"
    assert row["caller_name"] is None
    assert row["resident_ids"] == "LS0003"


async def test_trunk_caller_hanging_up_while_the_sip_seat_rings_is_abandoned(
    asterisk: Asterisk, cti_sip: Cti, tmp_path: Path
) -> None:
    # uas_noanswer.xml: the phone rings until CANCEL; uac_caller_short.xml: the caller (answered
    # by the `inbound` context, waiting in q-zh) hangs up after 4 s.
    seat_port = asterisk.ports.seats["seat01"]
    async with seat_phone(seat_port, tmp_path, scenario="uas_noanswer.xml") as phone:
        agent = await cti_sip.login("a01", "seat01")
        await on_queue(agent, "q-zh")

        caller = await trunk_call(
            asterisk.ports.sip,
            tmp_path,
            from_='"李桂兰" <sip:13905351234@127.0.0.1>',
            scenario="uac_caller_short.xml",
        )
        pop = await agent.pop("13905351234")
        call_id = pop["call_id"]
        retract = await agent.next(lambda m: m["type"] == "retract" and m["call_id"] == call_id)
        assert retract["reason"] == "abandoned"
        assert agent.types_of_call(call_id) == ["pop", "retract"]
        assert await caller.wait(30) == 0, caller.output()
        assert await phone.wait(30) == 0, phone.output()  # it got the CANCEL

    row = await cti_sip.logged(call_id)
    assert (row["outcome"], row["agent"]) == ("abandoned", None)
    assert json.loads(row["rings"]) == [{"agent": "a01", "seat": "seat01", "outcome": "abandoned"}]
