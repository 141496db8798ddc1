"""Placing a callback, sans-IO: 17-originate-callback.ami's Originates and what its events
decide (answered, number busy, agent never answers Reason 3, number never answers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cti.ami import Event
from cti.callbacks import AttemptWatch, dialable, originate_fields
from cti.callbacks.placing import Ended, Finished
from tests.support.recordings import recording_events

SCRIPT = "scripts/17-originate-callback.json"


def _recorded_originates(traces_dir: Path) -> list[dict[str, str]]:
    steps = json.loads((traces_dir / SCRIPT).read_text(encoding="utf-8"))
    return [s["action"] for s in steps if s["action"]["Action"] == "Originate"]


def test_the_originate_has_the_recorded_fields_in_the_recorded_order(traces_dir: Path) -> None:
    recorded = _recorded_originates(traces_dir)[0]
    ours = originate_fields(
        1,
        "seat07",
        "05356683318",
        agent_channel="Local/{seat}@agents-callback/n",
        context="callback",
        caller_id='"89000回拨" <89000>',
        agent_ring_s=15.0,
    )
    expected = [(k, v) for k, v in recorded.items() if k not in ("Action", "ActionID")]
    assert ours == expected


@pytest.mark.parametrize("number", ["", "12", "0535;x", "s", "Local/1@x", "1\r\nAction: x", "+86"])
def test_an_undialable_number_is_never_originated(number: str) -> None:
    with pytest.raises(ValueError):
        originate_fields(
            1,
            "seat07",
            number,
            agent_channel="PJSIP/{seat}",
            context="callback",
            caller_id="x",
            agent_ring_s=15,
        )


def _decisions(events: list[Event], watch: AttemptWatch) -> list[Finished | Ended]:
    out = []
    for event in events:
        decided = watch.handle(event)
        if decided is not None:
            out.append(decided)
    return out


def test_recording_17_gives_each_attempt_its_result(traces_dir: Path) -> None:
    watch = AttemptWatch()
    for attempt in (1, 2, 3, 4):
        watch.watch(attempt)
    events = recording_events(traces_dir / "17-originate-callback.ami")
    decided = _decisions(events, watch)
    results = {d.attempt_id: d.result for d in decided if isinstance(d, Finished)}
    assert results == {1: "answered", 2: "busy", 3: "agent_no_answer", 4: "no_answer"}
    assert Ended(1) in decided  # the answered callback's end is seen
    assert watch.open == frozenset()


def test_attempts_not_watched_are_ignored(traces_dir: Path) -> None:
    watch = AttemptWatch()
    watch.watch(99)
    events = recording_events(traces_dir / "17-originate-callback.ami")
    assert _decisions(events, watch) == []


def test_an_agent_hanging_up_before_the_number_answers_is_a_failure() -> None:
    watch = AttemptWatch()
    watch.watch(5)
    fields = (("Response", "Success"), ("Reason", "4"), ("Uniqueid", "cb5-agent"))
    ok = Event(fields, name="OriginateResponse")
    gone = Event((("Uniqueid", "cb5-agent"), ("Cause", "16")), name="Hangup")
    assert watch.handle(ok) is None
    assert watch.handle(gone) == Finished(5, "failed", "agent hung up")


@pytest.mark.parametrize(
    ("raw", "dial"),
    [
        ("05356683318", "05356683318"),
        ("+8613800000000", "13800000000"),
        ("+865356683318", "05356683318"),
        ("+82221234567", "0082221234567"),
        ("<unknown>", None),
        ("anonymous", None),
        (None, None),
    ],
)
def test_numbers_are_dialled_in_the_national_or_international_form(
    raw: str | None, dial: str | None
) -> None:
    assert dialable(raw, "CN") == dial
