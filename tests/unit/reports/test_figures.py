"""The report's figures from hand-made rows: every count checkable by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cti.reports import CallbackRow, CallRow, PeriodRow, build, to_csv

START = datetime(2026, 11, 30, tzinfo=UTC)
END = START + timedelta(days=1)


def _at(hour: int, minute: int = 0) -> datetime:
    return START + timedelta(hours=hour, minutes=minute)


CALLS = [
    CallRow("q-zh", "zh", "a07", _at(9), 5.0, 120.0, "answered"),
    CallRow("q-zh", "zh", "a07", _at(9, 30), 20.0, 60.0, "answered"),
    CallRow("q-zh", "zh", None, _at(9, 40), 40.0, None, "abandoned"),
    CallRow("q-ko", "ko", "a47", _at(14), 15.0, 300.0, "answered"),
]
PERIODS = [
    PeriodRow("a07", "paused", "meal", _at(12), _at(12, 30)),
    PeriodRow("a07", "after_call_work", None, _at(9, 2), _at(9, 3)),
    # Began the day before: only its part inside the report counts.
    PeriodRow("a47", "paused", "training", START - timedelta(hours=1), _at(1)),
]
CALLBACKS = [
    CallbackRow(1, _at(9, 50), _at(9, 45), "a07", "done"),  # elderly, in time
    CallbackRow(2, _at(11, 40), _at(12), "a47", "done"),  # late
    CallbackRow(0, _at(10), None, None, "pending"),  # never placed
]


def test_calls_service_level_and_abandon_rate_per_queue_and_hour() -> None:
    report = build(START, END, CALLS, PERIODS, CALLBACKS, UTC)
    assert (report.total.offered, report.total.answered, report.total.abandoned) == (4, 3, 1)
    assert report.total.within_target == 2  # 5 s and 15 s; 20 s is late
    assert report.total.service_level == 50.0
    assert report.total.abandon_rate == 25.0
    assert report.total.average_wait_s == (5 + 20 + 15) / 3
    assert report.total.average_talk_s == (120 + 60 + 300) / 3
    zh = report.by_queue[("q-zh", "zh")]
    assert (zh.offered, zh.abandoned, zh.within_target) == (3, 1, 1)
    assert report.by_hour[9].offered == 3 and report.by_hour[14].answered == 1


def test_pauses_after_call_work_and_callbacks_per_agent() -> None:
    report = build(START, END, CALLS, PERIODS, CALLBACKS, UTC)
    assert report.pause_s == {"meal": 1800.0, "training": 3600.0}
    assert report.after_call_work_s == 60.0
    a07 = report.agents["a07"]
    assert (a07.calls.answered, a07.pause_s["meal"], a07.after_call_work_s) == (2, 1800.0, 60.0)
    assert (a07.callbacks, a07.callbacks_in_time) == (1, 1)
    assert (report.agents["a47"].callbacks, report.agents["a47"].callbacks_in_time) == (1, 0)
    cb = report.callbacks
    assert (cb.total, cb.placed, cb.in_time) == (3, 2, 1)
    assert (cb.elderly_or_emergency, cb.elderly_or_emergency_in_time) == (2, 1)


def test_the_csv_is_one_tidy_table() -> None:
    text = to_csv(build(START, END, CALLS, PERIODS, CALLBACKS, UTC))
    lines = text.splitlines()
    assert lines[0] == "period_start,period_end,section,group,metric,value"
    assert all(len(line.split(",")) == 6 for line in lines)
    assert ",queue,q-zh (zh),service_level_pct,33.3" in text
    assert ",agent,a07,pause_meal_s,1800" in text
    assert ",callbacks,all,placed_before_deadline,1" in text
