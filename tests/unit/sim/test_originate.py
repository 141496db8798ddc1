"""The simulator's Originate: 17's callbacks in 17's shapes (no invented field), each outcome."""

from __future__ import annotations

import json
from pathlib import Path

from cti.ami import Action
from cti.sim.actions import handle
from cti.sim.channels import Headers
from cti.sim.pbx import Pbx, PbxConfig
from tests.unit.sim.test_no_invented_fields import recorded_shapes, without_action_id

START = 1795400000.0


def _recorded_originates(traces_dir: Path) -> list[dict[str, str]]:
    steps = json.loads((traces_dir / "scripts/17-originate-callback.json").read_text("utf-8"))
    return [s["action"] for s in steps if s["action"]["Action"] == "Originate"]


def _run(pbx: Pbx, fields: dict[str, str]) -> tuple[list[Headers], list[Headers]]:
    action = Action(headers=tuple(fields.items()), name="Originate")
    result = handle(pbx, action)
    return result.reply, result.events + pbx.advance(pbx.now + 60)


def _get(event: Headers, key: str) -> str | None:
    return next((v for k, v in event if k == key), None)


def test_17s_five_originates_end_as_recorded_in_recorded_shapes(traces_dir: Path) -> None:
    known = {without_action_id(s) for s in recorded_shapes(traces_dir)}
    pbx = Pbx(PbxConfig(), START)
    outcomes = []
    for fields in _recorded_originates(traces_dir):
        reply, events = _run(pbx, fields)
        for m in reply + events:
            shape = without_action_id((m[0][1], tuple(k for k, _ in m)))
            assert shape in known, shape
        response = [(_get(r, "Response"), _get(r, "Message")) for r in reply]
        agent = fields.get("ChannelId")
        answers = [
            _get(e, "Response") + " " + (_get(e, "Reason") or "")  # type: ignore[operator]
            for e in events
            if _get(e, "Event") == "OriginateResponse"
        ]
        dials = [
            _get(e, "DialStatus")
            for e in events
            if _get(e, "Event") == "DialEnd" and _get(e, "Uniqueid") == agent
        ]
        outcomes.append((response, answers, dials))
    queued = [("Success", "Originate successfully queued")]
    assert outcomes == [
        (queued, ["Success 4"], ["ANSWER"]),
        (queued, ["Success 4"], ["BUSY"]),
        (queued, ["Failure 3"], []),
        (queued, ["Success 4"], ["NOANSWER"]),
        ([("Error", "Originate failed")], [], []),
    ]


def test_an_originate_to_an_application_is_refused() -> None:
    pbx = Pbx(PbxConfig(), START)
    fields = {
        "Channel": "Local/seat07@agents-callback/n",
        "Application": "System",
        "Data": "rm -rf /",
        "Async": "true",
    }
    reply, events = _run(pbx, fields)
    assert [_get(r, "Message") for r in reply] == ["Originate failed"] and events == []
