"""Calls through the real Asterisk with Local-channel seats (`Local/seatNN@agents/n`, the
recordings' test bed): what the agent's socket and the call log get."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.asterisk.conftest import AgentConsole, Cti, Pbx

pytestmark = pytest.mark.asterisk


async def on_queue(console: AgentConsole, queue: str, *, within_s: float = 20.0) -> None:
    """Wait until the agent's seat is a member of `queue`, as the server shows it to the agent.

    The server itself made it one at login (QueueAdd of the seat's interface); seeing the
    `state` message also proves the server is connected to Asterisk and reads its events.
    """
    await console.next(
        lambda m: m["type"] == "state" and any(q["queue"] == queue for q in m["queues"]),
        within_s=within_s,
        what=f"{console.seat} on {queue} in a state message",
    )


async def test_registered_household_pops_at_ring_then_answered_and_completed(
    pbx: Pbx, cti: Cti
) -> None:
    agent = await cti.login("a07", "seat07")
    await on_queue(agent, "q-zh")

    await pbx.originate('"张先生" <05356683318>', talk_s=2)

    pop = await agent.pop("05356683318")
    assert pop["queue"] == "q-zh"
    assert pop["seat"] == "seat07"
    assert pop["caller"]["name"] == "张先生"
    assert pop["caller"]["normalized"] == "+865356683318"
    assert pop["caller"]["kind"] == "domestic"
    assert [r["id"] for r in pop["residents"]] == ["LS0001", "LS0002"]  # a shared landline
    first = pop["residents"][0]
    assert first["name"] == "张建国"
    assert first["address"] == "莱山区滨海中路17号3单元402室"
    assert [k["name"] for k in first["next_of_kin"]] == ["张明", "李秀英"]
    call_id = pop["call_id"]

    completed = await agent.next(
        lambda m: m["type"] == "completed" and m["call_id"] == call_id, what="completed"
    )
    assert agent.types_of_call(call_id) == ["pop", "answered", "completed"]
    answered = agent.of_call(call_id)[1]
    assert answered["queue"] == "q-zh"
    assert completed["hung_up_by"] == "agent"  # the seat's dialplan hangs up after TALK s
    assert 1.0 <= completed["talk_s"] <= 4.0

    row = await cti.logged(call_id)
    assert row["outcome"] == "answered"
    assert row["queue"] == "q-zh"
    assert row["language"] == "zh"
    assert row["agent"] == "a07"
    assert row["seat"] == "seat07"
    assert row["caller_number"] == "05356683318"
    assert row["caller_name"] == "张先生"
    assert row["resident_ids"] == "LS0001 LS0002"
    assert 1.0 <= row["talked_s"] <= 4.0
    assert row["closed_on_resync"] is False
    assert row["hung_up_by"] == "agent"
    assert json.loads(row["rings"]) == [{"agent": "a07", "seat": "seat07", "outcome": "answered"}]


async def test_foreign_caller_on_the_korean_queue_pops_with_region_and_resident(
    pbx: Pbx, cti: Cti
) -> None:
    agent = await cti.login("a31", "seat31")
    await on_queue(agent, "q-ko")

    await pbx.originate('"Kim" <+821012345678>', lang="ko", talk_s=1)

    pop = await agent.pop("+821012345678")
    assert pop["queue"] == "q-ko"
    assert pop["caller"]["kind"] == "foreign"
    assert pop["caller"]["region"] == "KR"
    assert pop["caller"]["normalized"] == "+821012345678"
    assert [r["id"] for r in pop["residents"]] == ["LS0004"]
    assert pop["residents"][0]["name"] == "金顺子"
    call_id = pop["call_id"]
    await agent.next(lambda m: m["type"] == "completed" and m["call_id"] == call_id)
    assert agent.types_of_call(call_id) == ["pop", "answered", "completed"]

    row = await cti.logged(call_id)
    assert (row["queue"], row["language"], row["outcome"]) == ("q-ko", "ko", "answered")
    assert row["resident_ids"] == "LS0004"
    assert row["agent"] == "a31"


async def test_caller_with_no_number_pops_as_unknown_with_no_residents(pbx: Pbx, cti: Cti) -> None:
    agent = await cti.login("a07", "seat07")
    await on_queue(agent, "q-zh")

    await pbx.originate(None, talk_s=1)  # no CallerID: Asterisk reports `<unknown>`

    pop = await agent.pop()
    assert pop["caller"]["kind"] == "unknown"
    assert pop["caller"]["normalized"] is None
    assert pop["residents"] == []
    call_id = pop["call_id"]
    await agent.next(lambda m: m["type"] == "completed" and m["call_id"] == call_id)
    assert agent.types_of_call(call_id) == ["pop", "answered", "completed"]

    row = await cti.logged(call_id)
    assert row["outcome"] == "answered"
    assert row["resident_ids"] == ""
    assert row["caller_number"] is None


async def test_ring_no_answer_retracts_the_first_pop_and_the_next_seat_answers(
    pbx: Pbx, cti: Cti
) -> None:
    await pbx.no_answer("seat21")
    first = await cti.login("a21", "seat21")
    await on_queue(first, "q-en")

    await pbx.originate('"Margaret Brown" <15853599876>', lang="en", talk_s=1)

    pop = await first.pop("15853599876")
    call_id = pop["call_id"]
    assert [r["id"] for r in pop["residents"]] == ["LS0005"]
    # A second agent logs in while the first seat rings: `rrmemory` tries that seat after the
    # ring-out. (With the second seat at `Penalty: 1`, as in 05's script, real Asterisk rings
    # seat21 again instead: the recording has two AgentCalled for seat21, none for seat22.)
    second = await cti.login("a22", "seat22")
    await on_queue(second, "q-en")
    # q-en rings a member 15 s (`timeout = 15`), then moves on.
    retract = await first.next(
        lambda m: m["type"] == "retract" and m["call_id"] == call_id, within_s=25
    )
    assert retract["reason"] == "no_answer"
    second_pop = await second.pop("15853599876", within_s=10)
    assert second_pop["call_id"] == call_id
    completed = await second.next(
        lambda m: m["type"] == "completed" and m["call_id"] == call_id, within_s=15
    )
    assert completed["hung_up_by"] == "agent"
    assert first.types_of_call(call_id) == ["pop", "retract"]
    assert second.types_of_call(call_id) == ["pop", "answered", "completed"]

    row = await cti.logged(call_id)
    assert (row["outcome"], row["agent"], row["seat"]) == ("answered", "a22", "seat22")
    assert row["waited_s"] >= 15
    assert [(r["agent"], r["outcome"]) for r in json.loads(row["rings"])] == [
        ("a21", "no_answer"),
        ("a22", "answered"),
    ]


async def test_caller_hanging_up_while_the_seat_rings_is_abandoned(pbx: Pbx, cti: Cti) -> None:
    await pbx.no_answer("seat05")
    agent = await cti.login("a05", "seat05")
    await on_queue(agent, "q-zh")

    # `caller-short`: the caller's side hangs up after 4 s, while seat05 still rings.
    await pbx.originate('"李桂兰" <13905351234>', caller_context="caller-short")

    pop = await agent.pop("13905351234")
    call_id = pop["call_id"]
    row = await cti.logged(call_id)
    assert row["outcome"] == "abandoned"
    assert row["agent"] is None
    assert json.loads(row["rings"]) == [{"agent": "a05", "seat": "seat05", "outcome": "abandoned"}]
    retract = await agent.next(lambda m: m["type"] == "retract" and m["call_id"] == call_id)
    assert agent.types_of_call(call_id) == ["pop", "retract"]
    assert retract["reason"] == "abandoned"


async def test_caller_hanging_up_mid_talk_completes_with_hung_up_by_caller(
    pbx: Pbx, cti: Cti
) -> None:
    agent = await cti.login("a08", "seat08")
    await on_queue(agent, "q-zh")

    # The seat would talk 20 s; the caller (`caller-short`) hangs up 4 s after the start.
    await pbx.originate('"王桂兰" <05356683318>', talk_s=20, caller_context="caller-short")

    pop = await agent.pop("05356683318")
    call_id = pop["call_id"]
    completed = await agent.next(lambda m: m["type"] == "completed" and m["call_id"] == call_id)
    assert agent.types_of_call(call_id) == ["pop", "answered", "completed"]
    assert completed["talk_s"] < 10

    row = await cti.logged(call_id)
    assert (row["outcome"], row["agent"]) == ("answered", "a08")
    assert row["talked_s"] < 10
    assert row["hung_up_by"] == "caller"
    # Real Asterisk sends the caller channel's Hangup and AgentComplete (`Reason: caller`) in
    # either order (about 1 run in 10 the Hangup first): who hung up must survive both.
    assert completed["hung_up_by"] == "caller"


async def test_an_agent_takes_call_after_call_saving_each_wrapup(pbx: Pbx, cti: Cti) -> None:
    agent = await cti.login("a08", "seat08")
    await on_queue(agent, "q-zh")
    done: list[str] = []
    for n in range(3):
        await pbx.originate('"王桂兰" <05356683318>', talk_s=1)
        pop = await agent.next(
            lambda m: m["type"] == "pop" and m["call_id"] not in done, what=f"pop of call {n + 1}"
        )
        call_id: str = pop["call_id"]
        await agent.next(completed_of(call_id))
        await cti.wrapup(agent, call_id)  # after-call work ends: the seat is ready
        done.append(call_id)
    assert len(done) == 3


def completed_of(call_id: str) -> Callable[[dict[str, Any]], bool]:
    """Matches the `completed` message of one call."""
    return lambda m: m["type"] == "completed" and m["call_id"] == call_id
