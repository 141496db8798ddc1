"""The five-group rotation and the leaders' long day, over eight weeks of China time."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from seats.shifts import (
    CHINA,
    CYCLE,
    ShiftGroup,
    ShiftPlan,
    day_table,
    default_plan,
    duty_on,
    next_change,
    on_duty,
    on_duty_agents,
)

START = date(2026, 12, 7)  # a Monday
DAYS = [START + timedelta(days=n) for n in range(56)]


def _plan() -> ShiftPlan:
    groups = [
        ShiftGroup(name=n, offset=i, members=(f"a{i}1", f"a{i}2")) for i, n in enumerate("ABCDE")
    ]
    groups.append(ShiftGroup(name="L", kind="leaders", members=("lead1",)))
    return default_plan().model_copy(update={"groups": tuple(groups)})


def test_every_day_of_eight_weeks_has_two_day_groups_one_night_one_off_night_one_resting() -> None:
    plan = _plan()
    for day in DAYS:
        counts = Counter(duty for group, duty in day_table(plan, day) if group != "L")
        assert counts == {"day": 2, "night": 1, "off_night": 1, "rest": 1}, day


@pytest.mark.parametrize("group", range(5))
def test_each_group_walks_day_day_night_off_night_rest_for_eight_weeks(group: int) -> None:
    plan = _plan()
    g = plan.groups[group]
    pattern = [duty_on(plan, g, day) for day in DAYS]
    rotations = [CYCLE[i:] + CYCLE[:i] for i in range(5)]
    assert tuple(pattern[:5]) in rotations
    for n, duty in enumerate(pattern):
        assert duty == pattern[n % 5], (g.name, DAYS[n])
    for n in range(len(pattern) - 1):  # a night is always followed by the day off it
        if pattern[n] == "night":
            assert pattern[n + 1] == "off_night"
    # group B is one day further on than group A
    if group:
        previous = plan.groups[group - 1]
        assert pattern[:-1] == [duty_on(plan, previous, day) for day in DAYS[1:]]


def test_the_leaders_work_a_long_day_monday_to_friday_for_eight_weeks() -> None:
    plan = _plan()
    leaders = plan.groups[-1]
    for day in DAYS:
        expected = "long_day" if day.weekday() < 5 else "rest"
        assert duty_on(plan, leaders, day) == expected
    assert on_duty_agents(plan, datetime.combine(DAYS[0], time(21, 0), CHINA)) >= {"lead1"}
    assert "lead1" not in on_duty_agents(plan, datetime.combine(DAYS[0], time(21, 30), CHINA))


def test_someone_is_on_duty_every_minute_of_eight_weeks_and_the_night_crosses_midnight() -> None:
    plan = _plan()
    moment = datetime.combine(DAYS[0], time(0, 0), CHINA)
    end = datetime.combine(DAYS[-1], time(23, 59), CHINA)
    while moment <= end:
        working = on_duty(plan, moment)
        rotating = [s for s in working if s.group != "L"]
        local = moment.time()
        if time(8, 0) <= local < time(20, 0):
            assert sorted(s.duty for s in rotating) == ["day", "day"], moment
        else:
            assert [s.duty for s in rotating] == ["night"], moment
        moment += timedelta(minutes=30)


def test_the_night_group_at_three_in_the_morning_is_the_one_that_started_yesterday() -> None:
    plan = _plan()
    for day in DAYS[1:]:
        night_before = next(g for g, d in day_table(plan, day - timedelta(days=1)) if d == "night")
        early = on_duty(plan, datetime.combine(day, time(3, 0), CHINA))
        assert [s.group for s in early if s.group != "L"] == [night_before]
        assert dict(day_table(plan, day))[night_before] == "off_night"


def test_boundaries_are_exact_and_in_china_time_whatever_zone_is_asked() -> None:
    plan = _plan()
    day = DAYS[10]
    day_groups = {g for g, d in day_table(plan, day) if d == "day"}
    at_eight = datetime.combine(day, time(8, 0), CHINA)
    assert {s.group for s in on_duty(plan, at_eight) if s.duty == "day"} == day_groups
    before = at_eight - timedelta(microseconds=1)
    assert not any(s.duty == "day" for s in on_duty(plan, before))
    # 00:00 UTC is 08:00 in China: the same answer
    assert on_duty(plan, at_eight.astimezone(UTC)) == on_duty(plan, at_eight)
    assert next_change(plan, before) == at_eight


def test_china_has_no_daylight_saving_over_the_year() -> None:
    offsets = {
        datetime.combine(date(2027, 1, 1) + timedelta(days=n), time(12), CHINA).utcoffset()
        for n in range(365)
    }
    assert offsets == {timedelta(hours=8)}


def test_a_plan_refuses_an_agent_in_two_groups_and_bad_offsets() -> None:
    plan = _plan()
    groups = list(plan.groups)
    groups[1] = groups[1].model_copy(update={"members": ("a01",)})
    with pytest.raises(ValidationError, match="agent a01 is in groups A and B"):
        ShiftPlan(groups=tuple(groups))
    groups = list(plan.groups)
    groups[1] = groups[1].model_copy(update={"offset": 0})
    with pytest.raises(ValidationError, match="offsets 0, 1, 2, 3 and 4"):
        ShiftPlan(groups=tuple(groups))
