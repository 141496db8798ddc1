"""The simulator's callers walk the CTI server's menu first (the demo's IVR): each call in a
queue carries the Uniqueid the menu saw, so the pop finds what the menu learnt."""

from __future__ import annotations

import random
from collections import Counter

from cti.sim import LoadConfig, SimConfig, SimServer
from cti.sim.ivr_arrivals import draw_presses
from ivr import IvrServer
from tests.support.waiting import eventually


async def test_simulated_callers_walk_the_menu_and_queue_where_it_sent_them() -> None:
    ivr = IvrServer(port=0)
    await ivr.start()
    load = LoadConfig(rate_per_hour=72_000, seed=5, abandon_ratio=0.0)
    sim = SimServer(SimConfig(load=load, ivr=("127.0.0.1", ivr.port)))
    await sim.start()
    try:
        await eventually(lambda: sim.arrivals is not None and sim.arrivals.placed >= 20)
        calls = list(sim.pbx.calls.values())
        assert calls
        for call in calls:
            learnt = ivr.notes.learnt(call.inner.uniqueid)
            assert learnt is not None, call.inner.uniqueid
            assert learnt.language == call.language
            assert call.queue in (learnt.queue, f"q-{learnt.language}")  # no q-duty here
    finally:
        await sim.stop()
        await ivr.stop()


def test_keys_are_mostly_the_callers_language_with_every_branch_drawn() -> None:
    rng = random.Random(1)
    drawn = Counter(draw_presses("ko", rng) for _ in range(2000))
    assert drawn[("3",)] > 1000
    assert {("9",), (None, None), (None, "3"), ("7", "3"), ("hangup",)} <= set(drawn)
