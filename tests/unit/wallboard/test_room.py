"""The wallboard's room counted from recording 18, checked against its QueueStatus readings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cti.ami import Event
from cti.wallboard import Room, member_state
from tests.support.recordings import recording_events


def _replay(room: Room, events: list[Event]) -> list[tuple[str, bool]]:
    """Live events to `handle`, each QueueStatus answer to `resync` once complete."""
    checks: list[tuple[str, bool]] = []
    reading: list[Event] = []
    for i, event in enumerate(events):
        now = 1000.0 + i * 0.01
        aid = event.action_id or ""
        if aid.startswith("qs-"):
            if event.name == "QueueStatusComplete":
                check = room.resync(reading, at=now, now=now)
                checks.append((aid, check.agrees))
                reading = []
            else:
                reading.append(event)
        elif not aid:
            room.handle(event, now)
    return checks


def test_recording_18_counts_agree_with_both_queue_status_readings(traces_dir: Path) -> None:
    room = Room(["q-zh", "q-en", "q-ko"], day_of=lambda _: date(2026, 11, 30))
    events = recording_events(traces_dir / "18-wallboard-queue-stats.ami")
    read = next(i for i, e in enumerate(events) if e.action_id == "qs-2" and e.completes_list)
    checks = _replay(room, events[: read + 1])  # the members are removed after it
    # qs-1: two callers waiting (QueueEntry) as we counted; qs-2: Asterisk's Completed went
    # 2 -> 4 and Abandoned 0 -> 1, as many AgentComplete and QueueCallerAbandon as we saw.
    assert checks == [("qs-1", True), ("qs-2", True)]
    day = room.days["q-zh"]
    assert (day.offered, day.answered, day.abandoned, day.completed) == (3, 2, 1, 2)
    assert day.answered_in_target == 2
    assert day.answered_in_target_pct == 100.0
    assert day.service_level_pct == 66.7  # the abandoned caller counts against it
    assert room.waiting == {}
    assert room.asterisk["q-zh"].service_level_perf == 100.0
    assert room.asterisk["q-zh"].service_level_s == 15
    states = {m.seat: (member_state(m), m.paused_reason) for m in room.members.all()}
    assert states == {"seat07": ("available", ""), "seat08": ("paused", "meal")}


def test_a_missed_abandon_shows_as_a_difference_at_the_next_reading(traces_dir: Path) -> None:
    events = [
        e
        for e in recording_events(traces_dir / "18-wallboard-queue-stats.ami")
        if e.name != "QueueCallerAbandon"
    ]
    room = Room(["q-zh"], day_of=lambda _: date(2026, 11, 30))
    checks = _replay(room, events)
    assert checks == [("qs-1", True), ("qs-2", False)]
    assert room.last_check is not None
    found = {(d.what, d.ours, d.asterisk) for d in room.last_check.differences}
    assert found == {("abandoned", 0, 1)}  # its QueueCallerLeave still ended the wait


def test_the_day_rolls_over_at_midnight() -> None:
    days = {0.0: date(2026, 11, 30), 1.0: date(2026, 12, 1)}
    room = Room(["q-zh"], day_of=lambda now: days[min(now, 1.0)])
    room.handle(Event(name="QueueCallerJoin", headers=(("Queue", "q-zh"), ("Uniqueid", "1"))), 0.0)
    assert room.days["q-zh"].offered == 1
    room.roll(1.0)
    assert room.day == date(2026, 12, 1) and room.days["q-zh"].offered == 0
    assert list(room.waiting) == ["1"]  # a caller waiting across midnight still waits
