"""The report as rows: one list of `(section, group, metric, value)` that the CSV writes as is
and the HTML lays out as tables. Durations in seconds, rates in %, one decimal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeAlias

from cti.reports.figures import Calls, Report

Value: TypeAlias = int | float | str | None
Row: TypeAlias = tuple[str, str, str, Value]

CALL_METRICS = (
    "offered",
    "answered",
    "abandoned",
    "answered_within_15s",
    "service_level_pct",
    "abandon_rate_pct",
    "average_wait_s",
    "average_talk_s",
)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def call_values(calls: Calls) -> dict[str, Value]:
    """The call metrics of one group."""
    return {
        "offered": calls.offered,
        "answered": calls.answered,
        "abandoned": calls.abandoned,
        "answered_within_15s": calls.within_target,
        "service_level_pct": _round(calls.service_level),
        "abandon_rate_pct": _round(calls.abandon_rate),
        "average_wait_s": _round(calls.average_wait_s),
        "average_talk_s": _round(calls.average_talk_s),
    }


def rows(report: Report) -> Iterator[Row]:
    """Every figure of the report, section by section."""
    for metric, value in call_values(report.total).items():
        yield ("total", "all", metric, value)
    yield ("total", "all", "after_call_work_s", round(report.after_call_work_s))
    cb = report.callbacks
    yield ("callbacks", "all", "callbacks", cb.total)
    yield ("callbacks", "all", "placed", cb.placed)
    yield ("callbacks", "all", "placed_before_deadline", cb.in_time)
    yield ("callbacks", "all", "placed_before_deadline_pct", _round(cb.in_time_rate))
    yield ("callbacks", "elderly_or_emergency", "callbacks", cb.elderly_or_emergency)
    yield (
        "callbacks",
        "elderly_or_emergency",
        "placed_before_deadline",
        cb.elderly_or_emergency_in_time,
    )
    for (queue, language), calls in sorted(report.by_queue.items()):
        for metric, value in call_values(calls).items():
            yield ("queue", f"{queue} ({language or '-'})", metric, value)
    for hour, calls in sorted(report.by_hour.items()):
        if calls.offered:
            for metric in ("offered", "answered", "abandoned", "service_level_pct"):
                yield ("hour", f"{hour:02d}:00", metric, call_values(calls)[metric])
    for reason, seconds in sorted(report.pause_s.items()):
        yield ("pause", reason, "seconds", round(seconds))
    for agent, day in sorted(report.agents.items()):
        values = call_values(day.calls)
        yield ("agent", agent, "answered", values["answered"])
        yield ("agent", agent, "average_wait_s", values["average_wait_s"])
        yield ("agent", agent, "average_talk_s", values["average_talk_s"])
        yield ("agent", agent, "talk_s", round(day.calls.talk_sum_s))
        yield ("agent", agent, "after_call_work_s", round(day.after_call_work_s))
        yield ("agent", agent, "ready_s", round(day.seconds.get("ready", 0.0)))
        for reason, seconds in sorted(day.pause_s.items()):
            yield ("agent", agent, f"pause_{reason}_s", round(seconds))
        yield ("agent", agent, "callbacks", day.callbacks)
        yield ("agent", agent, "callbacks_before_deadline", day.callbacks_in_time)
