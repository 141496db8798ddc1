"""Every event the simulator writes has a shape (name + field names in order) that a real
Asterisk 22 recording shows: the simulator never invents a field."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.ami import Action, AMIParser, Event, Response, server_bytes
from cti.sim.actions import handle
from cti.sim.load import Arrivals, LoadConfig
from cti.sim.pbx import Pbx, PbxConfig
from cti.sim.seats import seat_plan

Shape = tuple[str, tuple[str, ...]]
START = 1795400000.0


def recorded_shapes(traces: Path) -> set[Shape]:
    shapes: set[Shape] = set()
    for path in sorted(traces.glob("*.ami")):
        parser = AMIParser()
        parser.feed(server_bytes(path.read_bytes()))
        for m in parser.messages():
            if isinstance(m, Event | Response):
                shapes.add((m.headers[0][1], tuple(k for k, _ in m.headers)))
    return shapes


def without_action_id(shape: Shape) -> Shape:
    return shape[0], tuple(k for k in shape[1] if k != "ActionID")


@pytest.mark.parametrize("shape", ["local", "pjsip"])
def test_a_busy_hour_writes_only_recorded_event_shapes(traces_dir: Path, shape: str) -> None:
    known = recorded_shapes(traces_dir)
    pbx = Pbx(PbxConfig(local_callers=shape == "local"), START)
    for s in seat_plan(52, shape):
        pbx.add_member(s.queue, s.interface, s.seat)
    Arrivals(pbx, LoadConfig(rate_per_hour=900)).start()
    events = pbx.advance(START + 1800)
    produced = {(e[0][1], tuple(k for k, _ in e)) for e in events}
    invented = produced - known
    assert not invented, sorted(invented)[:3]


def test_action_replies_use_only_recorded_shapes(traces_dir: Path) -> None:
    known = {without_action_id(s) for s in recorded_shapes(traces_dir)}
    pbx = Pbx(PbxConfig(), START)
    Arrivals(pbx, LoadConfig(rate_per_hour=3600)).start()
    pbx.advance(START + 60)
    produced: set[Shape] = set()
    for name, fields in [
        ("QueueAdd", {"Queue": "q-zh", "Interface": "PJSIP/seat07", "MemberName": "seat07"}),
        ("QueueAdd", {"Queue": "q-zh", "Interface": "PJSIP/seat07"}),
        ("QueuePause", {"Interface": "PJSIP/seat07", "Paused": "true", "Reason": "meal"}),
        ("QueuePenalty", {"Interface": "PJSIP/seat07", "Penalty": "3"}),
        ("QueueStatus", {}),
        ("QueueSummary", {}),
        ("CoreShowChannels", {}),
        ("Ping", {}),
        ("QueueRemove", {"Queue": "q-zh", "Interface": "PJSIP/seat07"}),
        ("QueueRemove", {"Queue": "q-zh", "Interface": "PJSIP/seat07"}),
    ]:
        headers = (("Action", name), ("ActionID", "x-1"), *fields.items())
        result = handle(pbx, Action(headers=headers, name=name))
        for m in result.reply + result.events:
            produced.add(without_action_id((m[0][1], tuple(k for k, _ in m))))
    invented = produced - known
    assert not invented, sorted(invented)[:3]
