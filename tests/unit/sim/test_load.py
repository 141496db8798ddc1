"""The load generator: seeded, varied callers; the CTI state machine agrees with the PBX."""

from __future__ import annotations

import pytest

from cti.ami import Event
from cti.sim.channels import UNKNOWN, Headers
from cti.sim.load import Arrivals, LoadConfig
from cti.sim.pbx import Pbx, PbxConfig
from cti.sim.seats import seat_plan
from cti.state import CallTracker

START = 1795400000.0
IDS = ("05356683318", "13905351234", "+821012345678", "+15551234567", UNKNOWN)


class NoOneLoggedIn:
    def agent_at(self, seat: str) -> str | None:
        return None


def centre(shape: str, rate: float, seed: int = 1) -> tuple[Pbx, Arrivals]:
    pbx = Pbx(PbxConfig(local_callers=shape == "local", seed=seed), START)
    for s in seat_plan(52, shape):
        pbx.add_member(s.queue, s.interface, s.seat)
    arrivals = Arrivals(pbx, LoadConfig(rate_per_hour=rate, caller_ids=IDS, seed=seed))
    arrivals.start()
    return pbx, arrivals


def names(events: list[Headers]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in events:
        counts[e[0][1]] = counts.get(e[0][1], 0) + 1
    return counts


def test_seat_plan_is_40_chinese_6_english_6_korean() -> None:
    plan = seat_plan(52, "pjsip")
    assert [p.queue for p in plan].count("q-zh") == 40
    assert [p.queue for p in plan].count("q-en") == 6
    assert [p.queue for p in plan].count("q-ko") == 6
    assert plan[6].interface == "PJSIP/seat07"
    assert seat_plan(52)[6].interface == "Local/seat07@agents/n"


def test_same_seed_gives_the_same_calls() -> None:
    first, _ = centre("local", 600)
    second, _ = centre("local", 600)
    assert first.advance(START + 600) == second.advance(START + 600)


def test_a_busy_hour_has_answers_abandons_and_rings_no_one_answers() -> None:
    pbx, arrivals = centre("local", 600)
    counts = names(pbx.advance(START + 3600))
    assert 450 < arrivals.placed < 750
    assert counts["QueueCallerJoin"] == arrivals.placed
    assert counts["AgentConnect"] > 0.7 * arrivals.placed
    assert counts["QueueCallerAbandon"] > 0
    assert counts["AgentRingNoAnswer"] > 0


def test_callers_come_from_the_given_list_into_their_language_queue() -> None:
    pbx, _ = centre("local", 600)
    joins = [dict(e) for e in pbx.advance(START + 3600) if e[0][1] == "QueueCallerJoin"]
    assert {j["CallerIDNum"] for j in joins} == set(IDS)
    for j in joins:
        if j["CallerIDNum"].startswith("+82"):
            assert j["Queue"] == "q-ko"
        if j["CallerIDNum"].startswith("+1"):
            assert j["Queue"] == "q-en"


@pytest.mark.parametrize("shape", ["local", "pjsip"])
def test_state_machine_sees_the_same_open_calls_as_the_pbx(shape: str) -> None:
    pbx, _ = centre(shape, 1200)
    tracker = CallTracker(NoOneLoggedIn())
    for minute in range(1, 31):
        now = START + 60 * minute
        for headers in pbx.advance(now):
            tracker.handle(Event(headers=headers, name=headers[0][1]), now)
        assert set(tracker.calls) == set(pbx.calls), f"minute {minute}"
    assert pbx.calls  # the comparison was not between two empty sets
