"""The report's figures, pure: finished calls, duty periods and callbacks in; totals out.

Nothing here reads the database or the clock. Times are aware datetimes; hours are the
local hour of the call's arrival (`tz`). "Answered within 15 s" counts answered calls that
waited at most `ANSWER_TARGET_S`; the service level is that count over all calls offered
(abandoned ones included), the measure the wallboard shows too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Final

ANSWER_TARGET_S: Final = 15.0
UNSERVED: Final = ("abandoned", "no_answer")  # nobody took the call


@dataclass(frozen=True, slots=True)
class CallRow:
    """One finished call from the call log."""

    queue: str
    language: str | None
    agent: str | None
    joined_at: datetime
    waited_s: float
    talked_s: float | None
    outcome: str


@dataclass(frozen=True, slots=True)
class PeriodRow:
    """Time an agent spent in one duty state (`duty_period`), clipped to the report."""

    agent: str
    status: str  # ready | paused | on_call | after_call_work
    reason: str | None
    started_at: datetime
    ended_at: datetime


@dataclass(frozen=True, slots=True)
class CallbackRow:
    """A callback of a call abandoned in the period: when it was first placed, and by whom."""

    priority: int
    deadline_at: datetime
    first_placed_at: datetime | None
    first_agent: str | None
    status: str


@dataclass(slots=True)
class Calls:
    """Call counts and sums for one group (a queue, an hour, an agent, everything)."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    within_target: int = 0
    wait_sum_s: float = 0.0
    talk_sum_s: float = 0.0
    talked: int = 0

    def add(self, call: CallRow) -> None:
        """Count one call."""
        self.offered += 1
        if call.outcome == "answered":
            self.answered += 1
            self.wait_sum_s += call.waited_s
            self.within_target += call.waited_s <= ANSWER_TARGET_S
            if call.talked_s is not None:
                self.talked += 1
                self.talk_sum_s += call.talked_s
        elif call.outcome in UNSERVED:
            self.abandoned += 1

    @property
    def service_level(self) -> float | None:
        """Answered within 15 s, % of offered."""
        return 100.0 * self.within_target / self.offered if self.offered else None

    @property
    def abandon_rate(self) -> float | None:
        """Abandoned, % of offered."""
        return 100.0 * self.abandoned / self.offered if self.offered else None

    @property
    def average_wait_s(self) -> float | None:
        """Average wait of the answered calls."""
        return self.wait_sum_s / self.answered if self.answered else None

    @property
    def average_talk_s(self) -> float | None:
        """Average talk time of the answered calls that finished."""
        return self.talk_sum_s / self.talked if self.talked else None


@dataclass(slots=True)
class AgentDay:
    """One agent over the period."""

    calls: Calls = field(default_factory=Calls)
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # by state
    pause_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # by reason
    callbacks: int = 0
    callbacks_in_time: int = 0

    @property
    def after_call_work_s(self) -> float:
        """Time in after-call work."""
        return self.seconds.get("after_call_work", 0.0)


@dataclass(slots=True)
class Callbacks:
    """Callbacks of the period's abandoned calls."""

    total: int = 0
    placed: int = 0
    in_time: int = 0  # first placed before the deadline
    elderly_or_emergency: int = 0
    elderly_or_emergency_in_time: int = 0

    @property
    def in_time_rate(self) -> float | None:
        """Placed before the deadline, % of all callbacks."""
        return 100.0 * self.in_time / self.total if self.total else None


@dataclass(slots=True)
class Report:
    """Everything the report shows."""

    start: datetime
    end: datetime
    total: Calls = field(default_factory=Calls)
    by_queue: dict[tuple[str, str], Calls] = field(default_factory=dict)  # (queue, language)
    by_hour: dict[int, Calls] = field(default_factory=dict)
    agents: dict[str, AgentDay] = field(default_factory=dict)
    pause_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    after_call_work_s: float = 0.0
    callbacks: Callbacks = field(default_factory=Callbacks)


def build(
    start: datetime,
    end: datetime,
    calls: Iterable[CallRow],
    periods: Iterable[PeriodRow],
    callbacks: Iterable[CallbackRow],
    tz: tzinfo,
) -> Report:
    """The report of [start, end)."""
    report = Report(start, end)
    report.by_hour = {hour: Calls() for hour in range(24)}
    for call in calls:
        report.total.add(call)
        key = (call.queue, call.language or "")
        report.by_queue.setdefault(key, Calls()).add(call)
        report.by_hour[call.joined_at.astimezone(tz).hour].add(call)
        if call.agent and call.outcome == "answered":
            report.agents.setdefault(call.agent, AgentDay()).calls.add(call)
    for period in periods:
        seconds = _clipped(period, start, end)
        if seconds <= 0:
            continue
        day = report.agents.setdefault(period.agent, AgentDay())
        day.seconds[period.status] += seconds
        if period.status == "paused":
            reason = period.reason or "unspecified"
            day.pause_s[reason] += seconds
            report.pause_s[reason] += seconds
        elif period.status == "after_call_work":
            report.after_call_work_s += seconds
    for cb in callbacks:
        _count_callback(report, cb)
    return report


def _clipped(period: PeriodRow, start: datetime, end: datetime) -> float:
    begin = max(period.started_at, start)
    finish = min(period.ended_at, end)
    return (finish - begin).total_seconds()


def _count_callback(report: Report, cb: CallbackRow) -> None:
    counts = report.callbacks
    counts.total += 1
    urgent = cb.priority < 2
    counts.elderly_or_emergency += urgent
    if cb.first_placed_at is None:
        return
    counts.placed += 1
    in_time = cb.first_placed_at <= cb.deadline_at
    counts.in_time += in_time
    counts.elderly_or_emergency_in_time += urgent and in_time
    if cb.first_agent:
        day = report.agents.setdefault(cb.first_agent, AgentDay())
        day.callbacks += 1
        day.callbacks_in_time += in_time
