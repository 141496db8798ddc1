"""Shift groups as the Anshan 8890 centre runs them, and who is on duty when.

Five groups rotate through a five-day cycle — day, day, night, coming off night, rest — each
group one day further on than the one before, so on every date two groups work the day
shift, one the night, one is coming off night and one rests. The group leaders form a sixth
group that works a long day on a weekly pattern. Times are China's (Asia/Shanghai: UTC+8, no
daylight saving); a night shift belongs to the date it starts on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CHINA = ZoneInfo("Asia/Shanghai")
Duty = Literal["day", "night", "off_night", "rest", "long_day"]
# The rotating groups' cycle, from the rotation start: group i is i days further on.
CYCLE: tuple[Duty, ...] = ("day", "day", "night", "off_night", "rest")
GROUP_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$"
AGENT_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ShiftGroup(BaseModel):
    """A group of agents. `offset` is the group's day in the cycle on the rotation start."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=GROUP_NAME)
    kind: Literal["rotating", "leaders"] = "rotating"
    offset: int = Field(default=0, ge=0, le=4)
    members: tuple[str, ...] = Field(default=(), max_length=200)


class ShiftPlan(BaseModel):
    """The groups, the rotation start and the shift times (China time)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rotation_start: date = date(2026, 1, 5)  # a Monday
    day_start: time = time(8, 0)
    day_end: time = time(20, 0)  # the night shift starts here and ends at day_start
    long_day_start: time = time(7, 30)
    long_day_end: time = time(21, 30)
    # The leaders' week from Monday: True = a long day.
    leader_week: tuple[bool, bool, bool, bool, bool, bool, bool] = (
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    )
    groups: tuple[ShiftGroup, ...] = ()

    @field_validator("day_start", "day_end", "long_day_start", "long_day_end")
    @classmethod
    def _china_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("a shift time is China time, written without an offset (HH:MM)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ShiftPlan:
        if not self.day_start < self.day_end:
            raise ValueError("day_start must be before day_end (the night crosses midnight)")
        if not self.long_day_start < self.long_day_end:
            raise ValueError("long_day_start must be before long_day_end")
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError("two shift groups have the same name")
        rotating = sorted(g.offset for g in self.groups if g.kind == "rotating")
        if rotating and rotating != list(range(5)):
            raise ValueError("the five rotating groups must have offsets 0, 1, 2, 3 and 4")
        seen: dict[str, str] = {}
        for group in self.groups:
            for agent in group.members:
                if agent in seen:
                    raise ValueError(f"agent {agent} is in groups {seen[agent]} and {group.name}")
                seen[agent] = group.name
        return self

    def group_of(self, agent: str) -> ShiftGroup | None:
        """The group `agent` belongs to, or None."""
        return next((g for g in self.groups if agent in g.members), None)


def default_plan() -> ShiftPlan:
    """Groups A–E rotating and the leaders' long-day group L, with no members yet."""
    groups = [ShiftGroup(name=name, offset=i) for i, name in enumerate("ABCDE")]
    groups.append(ShiftGroup(name="L", kind="leaders"))
    return ShiftPlan(groups=tuple(groups))


def duty_on(plan: ShiftPlan, group: ShiftGroup, day: date) -> Duty:
    """What `group` does on `day`: day, night, off_night or rest (leaders: long_day or rest)."""
    if group.kind == "leaders":
        return "long_day" if plan.leader_week[day.weekday()] else "rest"
    return CYCLE[((day - plan.rotation_start).days + group.offset) % len(CYCLE)]


@dataclass(frozen=True, slots=True)
class OnDuty:
    """A group working at a moment, the shift it works and when that shift started/ends."""

    group: str
    duty: Duty
    starts: datetime
    ends: datetime
    members: tuple[str, ...]


def _at(day: date, t: time) -> datetime:
    return datetime.combine(day, t, tzinfo=CHINA)


def shifts_of(plan: ShiftPlan, group: ShiftGroup, day: date) -> list[OnDuty]:
    """The shift `group` starts on `day` (none on a rest or off-night day)."""
    duty = duty_on(plan, group, day)
    if duty == "day":
        span = (_at(day, plan.day_start), _at(day, plan.day_end))
    elif duty == "night":
        span = (_at(day, plan.day_end), _at(day + timedelta(days=1), plan.day_start))
    elif duty == "long_day":
        span = (_at(day, plan.long_day_start), _at(day, plan.long_day_end))
    else:
        return []
    return [OnDuty(group.name, duty, span[0], span[1], group.members)]


def on_duty(plan: ShiftPlan, moment: datetime) -> list[OnDuty]:
    """The groups working at `moment` (any time zone; read in China time), by group name.

    A night shift that started yesterday evening counts until this morning's day_start.
    """
    local = moment.astimezone(CHINA)
    working: list[OnDuty] = []
    for group in plan.groups:
        for day in (local.date() - timedelta(days=1), local.date()):
            working += [s for s in shifts_of(plan, group, day) if s.starts <= local < s.ends]
    return sorted(working, key=lambda s: s.group)


def on_duty_agents(plan: ShiftPlan, moment: datetime) -> set[str]:
    """Every agent whose group works at `moment`."""
    return {agent for shift in on_duty(plan, moment) for agent in shift.members}


def day_table(plan: ShiftPlan, day: date) -> list[tuple[str, Duty]]:
    """Each group and what it does on `day`, in group order."""
    return [(g.name, duty_on(plan, g, day)) for g in plan.groups]


def next_change(plan: ShiftPlan, moment: datetime) -> datetime:
    """The first shift start or end after `moment` (when the on-duty agents change)."""
    local = moment.astimezone(CHINA)
    times = (plan.day_start, plan.day_end, plan.long_day_start, plan.long_day_end)
    candidates = [_at(local.date() + timedelta(days=d), t) for d in (0, 1) for t in times]
    return min(c for c in candidates if c > local)
