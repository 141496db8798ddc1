"""The room as the wallboard counts it, sans-IO: AMI events in, counts and member states out.

`Room.handle(event, now)` follows callers (join, leave, abandon), answers (AgentConnect's
HoldTime against the 15 s target), completions and queue members; `Room.resync(events, at)`
takes a `QueueStatus` reading, compares it with what the events said (`Check`) and then
holds Asterisk's waiting callers and members. No clock, no socket, no logger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from cti.ami import Event
from cti.state import Member, Membership, member_from_event, member_seat
from cti.wallboard.models import (
    ANSWER_TARGET_S,
    AsteriskQueue,
    Check,
    Difference,
    QueueDay,
    SeatState,
)

_MEMBER_EVENTS = frozenset(
    {"QueueMemberAdded", "QueueMemberStatus", "QueueMemberPause", "QueueMemberPenalty"}
)
_RINGING = frozenset({6, 7})  # ringing, ringinuse
_TALKING = frozenset({2, 3, 8})  # in use, busy, on hold
_UNAVAILABLE = frozenset({4, 5})  # invalid, unavailable
ACW_REASON = "after-call-work"  # queues.ACW_REASON; cti must not import queues' insides


def _float(value: str | None) -> float:
    try:
        return float(value or 0)
    except ValueError:
        return 0.0


def _int(value: str | None) -> int:
    return int(_float(value))


def member_state(member: Member) -> SeatState:
    """What a supervisor reads for one member: ringing and talking first (the phone says so),
    then after-call work and pauses (Asterisk's pause reason), unavailable, else available."""
    if member.status in _RINGING:
        return "ringing"
    if member.in_call or member.status in _TALKING:
        return "talking"
    if member.paused:
        return "after_call_work" if member.paused_reason == ACW_REASON else "paused"
    if member.status in _UNAVAILABLE:
        return "unavailable"
    return "available"


@dataclass(frozen=True, slots=True)
class Waiting:
    """A caller waiting in a queue since `since` (epoch seconds)."""

    queue: str
    since: float


def local_day(now: float) -> date:
    """The centre's day of `now`: the server's local calendar date."""
    return datetime.fromtimestamp(now).date()


class Room:
    """Today's counts per queue, the waiting callers and every queue member."""

    def __init__(
        self,
        queues: Iterable[str],
        *,
        day_of: Callable[[float], date] = local_day,
        now: float = 0.0,
    ) -> None:
        self._queues = tuple(queues)
        self._day_of = day_of
        self.day = day_of(now)
        self.days: dict[str, QueueDay] = {q: QueueDay() for q in self._queues}
        self.waiting: dict[str, Waiting] = {}  # by caller Uniqueid
        self.members = Membership()
        self.seat_since: dict[str, float] = {}  # when each seat's shown state last changed
        # Seats being rung (AgentCalled) and for which caller: a Local-channel member's device
        # state never says "ringing" (08), the queue's own events do.
        self.ringing: dict[str, str] = {}
        self._seat_state: dict[str, SeatState] = {}
        # Counted since the previous reading (not reset at midnight): compared with the
        # change of Asterisk's own counters between two readings.
        self._completed_since: dict[str, int] = {}
        self._abandoned_since: dict[str, int] = {}
        self.asterisk: dict[str, AsteriskQueue] = {}
        self.last_check: Check | None = None

    @property
    def queues(self) -> tuple[str, ...]:
        """The queues on the board (the registry's, and any other the events named)."""
        return self._queues

    def seed(self, queue: str, day: QueueDay) -> None:
        """Start today's counts of `queue` from the call log (calls finished before start)."""
        self._day(queue)
        self.days[queue] = day

    def handle(self, event: Event, now: float) -> bool:
        """Apply one live event; True when something the board shows changed."""
        self.roll(now)
        name = event.name
        queue = event.get("Queue")
        if name in _MEMBER_EVENTS:
            member = member_from_event(event)
            if member is None:
                return False
            self.members.put(member, now)
            self._seat_changed(member.seat, now)
            return True
        if name == "QueueMemberRemoved":
            member = member_from_event(event)
            if member is None:
                return False
            self.members.remove(member.queue, member.seat, now)
            self._seat_changed(member.seat, now)
            return True
        if not queue:
            return False
        uid = event.get("Uniqueid")
        if name in ("AgentCalled", "AgentRingNoAnswer", "AgentConnect"):
            self._ring(name, event, uid, now)
        if name == "QueueCallerJoin":
            self._day(queue).offered += 1
            if uid:
                self.waiting[uid] = Waiting(queue, now)
            return True
        if name == "QueueCallerLeave":
            self._ring_over(uid, now)
            return uid is not None and self.waiting.pop(uid, None) is not None
        if name == "QueueCallerAbandon":
            self._day(queue).abandoned += 1
            self._abandoned_since[queue] = self._abandoned_since.get(queue, 0) + 1
            self._ring_over(uid, now)
            if uid:
                self.waiting.pop(uid, None)
            return True
        if name == "AgentConnect":
            day = self._day(queue)
            hold = _float(event.get("HoldTime"))
            day.answered += 1
            day.wait_sum_s += hold
            if hold <= ANSWER_TARGET_S:
                day.answered_in_target += 1
            if uid:
                self.waiting.pop(uid, None)
            return True
        if name == "AgentComplete":
            day = self._day(queue)
            day.completed += 1
            day.talk_sum_s += _float(event.get("TalkTime"))
            self._completed_since[queue] = self._completed_since.get(queue, 0) + 1
            return True
        return False

    def resync(self, events: Sequence[Event], at: float, now: float) -> Check:
        """Compare a `QueueStatus` reading taken at `at` with our counts, then hold it.

        Compared: callers waiting per queue (`QueueEntry`s against ours), and the change of
        Asterisk's `Completed` and `Abandoned` since the previous reading against the
        AgentComplete and QueueCallerAbandon events we counted meanwhile (skipped when
        Asterisk's counters went down: it restarted). The AMI client hands the reading over
        in its place among the events, so "meanwhile" is the events handled before this call.
        """
        self.roll(now)
        entries: dict[str, list[Event]] = {}
        params: dict[str, Event] = {}
        members: list[Member] = []
        for e in events:
            queue = e.get("Queue")
            if not queue:
                continue
            if e.name == "QueueParams":
                params[queue] = e
            elif e.name == "QueueEntry":
                entries.setdefault(queue, []).append(e)
            elif e.name == "QueueMember" and (m := member_from_event(e)) is not None:
                members.append(m)
        differences: list[Difference] = []
        for queue, p in params.items():
            self._day(queue)
            line = entries.get(queue, [])
            ours = sum(1 for w in self.waiting.values() if w.queue == queue)
            if ours != len(line):
                differences.append(Difference(queue, "waiting", ours, len(line)))
            reading = AsteriskQueue(
                queue=queue,
                waiting=len(line),
                longest_wait_s=max((_float(e.get("Wait")) for e in line), default=0.0),
                completed=_int(p.get("Completed")),
                abandoned=_int(p.get("Abandoned")),
                service_level_s=_int(p.get("ServiceLevel")),
                service_level_perf=_float(p.get("ServicelevelPerf")),
                at=at,
            )
            differences.extend(self._compare(reading))
            self.asterisk[queue] = reading
        # Asterisk's waiting callers from now on (their join time from `Wait`), except those
        # a live event after `at` already moved.
        kept = {u: w for u, w in self.waiting.items() if w.since > at}
        for queue, line in entries.items():
            for e in line:
                uid = e.get("Uniqueid")
                if uid and uid not in kept:
                    kept[uid] = Waiting(queue, at - _float(e.get("Wait")))
        self.waiting = kept
        if params:  # a reading of some queues only leaves the others' members alone
            read = set(params)
            others = [m for m in self.members.all() if m.queue not in read]
            self.members.replace(others + members, at)
        for seat in {m.seat for m in self.members.all()} | set(self._seat_state):
            self._seat_changed(seat, now)
        self.last_check = Check(now, tuple(differences))
        return self.last_check

    def _compare(self, reading: AsteriskQueue) -> list[Difference]:
        queue = reading.queue
        completed = self._completed_since.pop(queue, 0)
        abandoned = self._abandoned_since.pop(queue, 0)
        before = self.asterisk.get(queue)
        if before is None:
            return []
        if reading.completed < before.completed or reading.abandoned < before.abandoned:
            return []  # Asterisk restarted (or its stats were reset): nothing to compare
        out = []
        pairs = (
            ("completed", completed, reading.completed - before.completed),
            ("abandoned", abandoned, reading.abandoned - before.abandoned),
        )
        for what, ours, theirs in pairs:
            if ours != theirs:
                out.append(Difference(queue, what, ours, theirs))
        return out

    def state_of(self, member: Member) -> SeatState:
        """`member_state`, and "ringing" while the queue rings the member's seat."""
        state = member_state(member)
        if member.seat in self.ringing and state in ("available", "unavailable"):
            return "ringing"
        return state

    def seat_state(self, seat: str) -> SeatState | None:
        """The seat's state across its queues (the busiest one wins), None when no member."""
        states = {self.state_of(m) for m in self.members.of_seat(seat)}
        for state in ("ringing", "talking", "after_call_work", "paused", "unavailable"):
            if state in states:
                return state
        return "available" if states else None

    def _ring(self, name: str, event: Event, uid: str | None, now: float) -> None:
        seat = member_seat(event.get("Interface") or "", event.get("MemberName"))
        if seat is None:
            return
        if name == "AgentCalled":
            self.ringing[seat] = uid or ""
        else:
            self.ringing.pop(seat, None)
        self._seat_changed(seat, now)

    def _ring_over(self, uid: str | None, now: float) -> None:
        for seat in [s for s, u in self.ringing.items() if u == uid]:
            del self.ringing[seat]
            self._seat_changed(seat, now)

    def _seat_changed(self, seat: str, now: float) -> None:
        state = self.seat_state(seat)
        if state is None:
            self._seat_state.pop(seat, None)
            self.seat_since.pop(seat, None)
        elif self._seat_state.get(seat) != state:
            self._seat_state[seat] = state
            self.seat_since[seat] = now

    def _day(self, queue: str) -> QueueDay:
        day = self.days.get(queue)
        if day is None:
            day = self.days[queue] = QueueDay()
            self._queues = (*self._queues, queue)
        return day

    def roll(self, now: float) -> None:
        """Start a new day's counts when `now` is past midnight."""
        today = self._day_of(now)
        if today != self.day:
            self.day = today
            self.days = {q: QueueDay() for q in self._queues}
