"""The wallboard's JSON: one place where the room, the duties and the names become the board.

Times are ISO 8601 UTC; a client computes "time in state" and "longest wait" from `since`
values against its own clock, so the board need not be re-sent every second.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cti.ami import LinkState
from cti.wallboard.models import ANSWER_TARGET_S, SEAT_STATES, SeatState
from cti.wallboard.room import Room
from queues import SeatDuty, language_of_queue

_DUTY_STATE: dict[str, SeatState] = {
    "ready": "available",
    "paused": "paused",
    "on_call": "talking",
    "after_call_work": "after_call_work",
}


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC (None stays None)."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def _avg(total: float, count: int) -> float | None:
    return round(total / count, 1) if count else None


def queue_rows(room: Room, now: float) -> list[dict[str, Any]]:
    """One row per queue: callers waiting, the members by state, today's counts."""
    rows = []
    for queue in room.queues:
        day = room.days[queue]
        members = [m for m in room.members.all() if m.queue == queue]
        states = Counter(room.state_of(m) for m in members)
        reasons = Counter(m.paused_reason or "" for m in members if room.state_of(m) == "paused")
        waits = [w.since for w in room.waiting.values() if w.queue == queue]
        asterisk = room.asterisk.get(queue)
        rows.append(
            {
                "queue": queue,
                "language": language_of_queue(queue),
                "waiting": len(waits),
                "oldest_since": iso(min(waits)) if waits else None,
                "longest_wait_s": round(now - min(waits), 1) if waits else 0.0,
                "members": {state: states.get(state, 0) for state in SEAT_STATES},
                "paused_reasons": dict(sorted(reasons.items())),
                "offered": day.offered,
                "answered": day.answered,
                "answered_in_target": day.answered_in_target,
                "answered_in_target_pct": day.answered_in_target_pct,
                "service_level_pct": day.service_level_pct,
                "abandoned": day.abandoned,
                "avg_wait_s": _avg(day.wait_sum_s, day.answered),
                "avg_talk_s": _avg(day.talk_sum_s, day.completed),
                "asterisk": None
                if asterisk is None
                else {
                    "service_level_s": asterisk.service_level_s,
                    "service_level_perf": asterisk.service_level_perf,
                    "completed": asterisk.completed,
                    "abandoned": asterisk.abandoned,
                    "read_at": iso(asterisk.at),
                },
            }
        )
    return rows


def agent_rows(
    room: Room, duties: Sequence[SeatDuty], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One row per occupied or member seat: the agent, their state, reason and since when."""
    by_seat = {d.seat: d for d in duties}
    rows = []
    for seat in sorted(set(by_seat) | room.members.seats()):
        duty = by_seat.get(seat)
        member_state_now = room.seat_state(seat)
        state: SeatState = member_state_now or (
            _DUTY_STATE.get(duty.status, "unavailable") if duty else "unavailable"
        )
        members = room.members.of_seat(seat)
        reason = next((m.paused_reason for m in members if m.paused and m.paused_reason), None)
        if state == "paused" and duty is not None and duty.status == "paused":
            reason = duty.reason or reason
        since = max(
            room.seat_since.get(seat, 0.0),
            duty.since if duty is not None else 0.0,
        )
        rows.append(
            {
                "seat": seat,
                "agent": duty.agent if duty else None,
                "name": names.get(duty.agent) if duty else None,
                "state": state,
                "reason": reason if state in ("paused", "after_call_work") else None,
                "since": iso(since) if since else None,
                "queues": [m.queue for m in members],
            }
        )
    return rows


def board(
    room: Room,
    duties: Sequence[SeatDuty],
    names: Mapping[str, str],
    link: LinkState | None,
    now: float,
) -> dict[str, Any]:
    """The whole board as sent to `/api/wallboard` and each `/ws/wallboard` frame."""
    check = room.last_check
    return {
        "type": "board",
        "at": iso(now),
        "day": room.day.isoformat(),
        "target_s": ANSWER_TARGET_S,
        "pbx": None
        if link is None
        else {"live": link.live, "since": link.since.isoformat(), "reason": link.reason},
        "queues": queue_rows(room, now),
        "agents": agent_rows(room, duties, names),
        "check": None
        if check is None
        else {
            "at": iso(check.at),
            "agrees": check.agrees,
            "differences": [d.as_dict() for d in check.differences],
        },
    }
