"""The call/agent state machine, sans-IO: `handle(event, now)` -> what to send and log.

Calls are keyed by the Uniqueid of the caller's channel in the queue (the `Channel` of
QueueCallerJoin/AgentCalled); each ring of an agent by the agent leg's `DestUniqueid`. The
ringing agent is the one logged in at the member's seat when `AgentCalled` arrives; retracts,
`answered` and `completed` go to that same agent even if the seat changes hands meanwhile.

Asterisk cancels a ringing leg (`DialEnd` `DialStatus: CANCEL`) before it says why: the
caller's `QueueCallerAbandon` comes after the agent leg's DialEnd and Hangup (09). So a
cancelled ring waits, unretracted, for the caller channel's next event that tells its fate
(abandon or hang-up: `abandoned`; an agent answering: `answered_elsewhere`; the caller leaving
the queue unanswered or rung again: `cancelled`), and at most UNDECIDED_MAX_S.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from cti.ami import Event
from cti.state.members import Member, Membership, member_from_event
from cti.state.messages import (
    AgentResynced,
    AgentState,
    Answered,
    Completed,
    HungUpBy,
    MemberChanged,
    MembersResynced,
    QueueWaiting,
    Retract,
    RingOutcome,
    as_json,
    hung_up_by,
    retract_reason,
)
from cti.state.outgoing import (
    CallFinished,
    CallRecord,
    Outcome,
    Outgoing,
    PopDue,
    RingResult,
    ToAgent,
    ToBroadcast,
)
from cti.state.ports import SeatDirectory
from cti.state.text import display_text, member_seat, queue_language


@dataclass(slots=True)
class Ring:
    """One agent's phone ringing for one call."""

    leg: str
    seat: str
    agent_id: str | None
    started_at: float


@dataclass(slots=True)
class Call:
    """A caller in (or just out of) a queue."""

    call_id: str
    queue: str
    caller_number: str | None
    caller_name: str | None
    joined_at: float
    rings: dict[str, Ring] = field(default_factory=dict)
    # Rings Asterisk cancelled whose retract waits for the caller's fate (see the module doc).
    cancelled: dict[str, Ring] = field(default_factory=dict)
    rung_agents: list[str] = field(default_factory=list)
    ring_log: list[tuple[float, RingResult]] = field(default_factory=list)  # (started, how)
    answering_leg: str | None = None  # the leg of a `DialEnd` ANSWER, before AgentConnect
    answered_by: Ring | None = None
    connected_at: float | None = None
    left_at: float | None = None
    hold_s: float | None = None
    in_queue: bool = True
    touched_at: float = 0.0
    uniqueid: str = ""  # the caller channel's Uniqueid; call_id unless the channel re-queued

    def __post_init__(self) -> None:
        self.uniqueid = self.uniqueid or self.call_id


# How long a finished call is remembered, so that a resync snapshot taken before it ended
# (and handled after) does not bring it back.
ENDED_KEPT_S: Final = 300.0

# The longest a cancelled ring's retract waits for the caller's fate (event time). Asterisk
# sends the caller's next event within milliseconds; this only bounds the unforeseen.
UNDECIDED_MAX_S: Final = 2.0

# The longest an answered call whose caller hung up waits for its AgentComplete (which
# carries Asterisk's TalkTime and who hung up, and under load comes late, without the
# caller's channel fields).
COMPLETE_WAIT_S: Final = 3.0

# Agent leg DialStatus values that mean the phone could not take the call.
_BUSY: Final = frozenset({"BUSY", "CONGESTION", "CHANUNAVAIL"})


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _duration(value: str | None) -> float:
    """CoreShowChannel's `Duration` (`00:01:05`) in seconds; 0 when unreadable."""
    try:
        hours, minutes, seconds = (int(part) for part in (value or "").split(":"))
    except ValueError:
        return 0.0
    return float(hours * 3600 + minutes * 60 + seconds)


def _to_ms(seconds: float) -> float:
    """`seconds` (0 if negative) to the millisecond. `round(x, 3)` makes a correctly rounded
    decimal conversion, ~8 µs on the pop's path when the process wakes up cold
    (`docs/benchmarks.md`); this differs from it only on exact half-millisecond ties."""
    return int(seconds * 1000 + 0.5) / 1000 if seconds > 0 else 0.0


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")


class CallTracker:
    """Calls, rings and queue members, rebuilt from AMI events. No I/O, no clock."""

    def __init__(self, seats: SeatDirectory) -> None:
        self._seats = seats
        self._calls: dict[str, Call] = {}
        self._legs: dict[str, str] = {}  # agent leg Uniqueid -> caller Uniqueid
        # caller Uniqueid -> (ended_at, visits) for ENDED_KEPT_S
        self._ended: dict[str, tuple[float, int]] = {}
        # caller Uniqueid -> when its first undecided cancelled ring was cancelled
        self._undecided: dict[str, float] = {}
        # caller Uniqueid -> when the caller of an answered call hung up, AgentComplete to come
        self._caller_gone: dict[str, float] = {}
        self.members = Membership()
        self._handlers: dict[str, Callable[[Event, float], list[Outgoing]]] = {
            "QueueCallerJoin": self._on_join,
            "AgentCalled": self._on_agent_called,
            "AgentRingNoAnswer": self._on_ring_no_answer,
            "DialEnd": self._on_dial_end,
            "AgentConnect": self._on_connect,
            "AgentComplete": self._on_complete,
            "QueueCallerAbandon": self._on_abandon,
            "QueueCallerLeave": self._on_leave,
            "Hangup": self._on_hangup,
            "QueueMemberAdded": self._on_member,
            "QueueMemberStatus": self._on_member,
            "QueueMemberPause": self._on_member,
            "QueueMemberRemoved": self._on_member_removed,
        }

    @property
    def calls(self) -> dict[str, Call]:
        """Open calls by the caller channel's Uniqueid (read only by convention).

        That is the call_id too, except for a channel that comes back into a queue after
        its call ended (a transfer to another queue): its next call is `<Uniqueid>-2`.
        """
        return self._calls

    def is_open(self, call_id: str) -> bool:
        """True while the call with this call_id is in progress."""
        return any(call.call_id == call_id for call in self._calls.values())

    def handle(self, event: Event, now: float) -> list[Outgoing]:
        """Apply one AMI event at time `now` (epoch seconds); return what must happen."""
        out: list[Outgoing] = []
        handler = self._handlers.get(event.name)
        if handler is not None:
            out = handler(event, now)
            call = self._calls.get(event.get("Uniqueid") or "")
            if call is not None:
                call.touched_at = now
        # Any event tells the time: what waited too long for Asterisk's word ends now.
        return out + self.tick(now)

    def tick(self, now: float) -> list[Outgoing]:
        """End what waited too long for Asterisk's word (a cancelled ring whose caller's fate
        never came, a caller gone without AgentComplete): on a quiet system no event may come,
        so the shell calls this every half second too."""
        out: list[Outgoing] = []
        if self._undecided:
            out += self._decide_overdue(now)
        if self._caller_gone:
            out += self._complete_overdue(now)
        return out

    # --- calls -------------------------------------------------------------------------

    def _call_from(self, event: Event, now: float, joined_at: float | None = None) -> Call:
        uniqueid = event["Uniqueid"]
        call = self._calls.get(uniqueid)
        if call is None:
            call = Call(
                call_id=self._new_call_id(uniqueid),
                uniqueid=uniqueid,
                queue=event.get("Queue") or "",
                caller_number=display_text(event.get("CallerIDNum")),
                caller_name=display_text(event.get("CallerIDName")),
                joined_at=now if joined_at is None else joined_at,
            )
            self._calls[uniqueid] = call
        return call

    def _new_call_id(self, uniqueid: str) -> str:
        # Each call is logged once under its call_id: a channel's later visit needs its own.
        _, visits = self._ended.get(uniqueid, (0.0, 0))
        return uniqueid if visits == 0 else f"{uniqueid}-{visits + 1}"

    def _waiting(self, queue: str) -> ToBroadcast:
        waiting = sum(1 for c in self._calls.values() if c.queue == queue and c.in_queue)
        return ToBroadcast(QueueWaiting(queue, waiting))

    def _on_join(self, event: Event, now: float) -> list[Outgoing]:
        call = self._call_from(event, now)
        call.queue = event.get("Queue") or call.queue
        call.in_queue = True
        call.left_at = None
        return [self._waiting(call.queue)]

    def _on_agent_called(self, event: Event, now: float) -> list[Outgoing]:
        # On the pop's path: each header lookup scans the event's ~40 headers, so each is
        # done once (MemberName only when the Interface names no seat).
        uniqueid, leg = event.get("Uniqueid"), event.get("DestUniqueid")
        if uniqueid is None or leg is None:
            return []
        call = self._calls.get(uniqueid) or self._call_from(event, now)
        if call.answered_by is not None or leg in call.rings:
            # An AgentCalled repeated, or for a call an agent already answered: the agent has
            # (or had) its pop; a second one would pop an answered call.
            return []
        seat = member_seat(event.get("Interface")) or member_seat(event.get("MemberName"))
        if seat is None:
            return []
        # Rung again: a cancelled ring was not the caller's fate.
        out = self._decide(call, "cancelled")
        ring = self._new_ring(call, leg, seat, now)
        call.rings[leg] = ring
        return out + self._pop_due(call, ring, now)

    def _new_ring(self, call: Call, leg: str, seat: str, started_at: float) -> Ring:
        ring = Ring(leg=leg, seat=seat, agent_id=self._seats.agent_at(seat), started_at=started_at)
        self._legs[leg] = call.uniqueid
        if ring.agent_id is not None and ring.agent_id not in call.rung_agents:
            call.rung_agents.append(ring.agent_id)
        return ring

    def _pop_due(self, call: Call, ring: Ring, now: float) -> list[Outgoing]:
        if ring.agent_id is None:
            return []
        due = PopDue(
            agent_id=ring.agent_id,
            seat=ring.seat,
            call_id=call.call_id,
            queue=call.queue,
            caller_number=call.caller_number,
            caller_name=call.caller_name,
            waited_s=_to_ms(now - call.joined_at),
            key=f"pop:{ring.leg}",
        )
        return [due]

    def _log_ring(self, call: Call, ring: Ring, outcome: RingOutcome) -> None:
        call.ring_log.append((ring.started_at, RingResult(ring.seat, ring.agent_id, outcome)))

    def _end_ring(self, call: Call, leg: str, outcome: RingOutcome) -> list[Outgoing]:
        """End one ring (ringing or cancelled) as `outcome`; retract its agent's pop."""
        ring = call.rings.pop(leg, None) or call.cancelled.pop(leg, None)
        self._legs.pop(leg, None)
        if ring is None:
            return []
        self._log_ring(call, ring, outcome)
        if ring.agent_id is None:
            return []
        retract = Retract(call.call_id, retract_reason(outcome))
        return [ToAgent(ring.agent_id, retract, key=f"retract:{leg}")]

    def _end_rings(self, call: Call, outcome: RingOutcome) -> list[Outgoing]:
        """End every ring of the call, ringing or cancelled, as `outcome`."""
        self._undecided.pop(call.uniqueid, None)
        out: list[Outgoing] = []
        for leg in [*call.rings, *call.cancelled]:
            out += self._end_ring(call, leg, outcome)
        return out

    def _decide(self, call: Call, outcome: RingOutcome) -> list[Outgoing]:
        """The caller's fate is known: the cancelled rings end as `outcome`."""
        self._undecided.pop(call.uniqueid, None)
        out: list[Outgoing] = []
        for leg in list(call.cancelled):
            out += self._end_ring(call, leg, outcome)
        return out

    def _decide_overdue(self, now: float) -> list[Outgoing]:
        out: list[Outgoing] = []
        for uniqueid, since in list(self._undecided.items()):
            if now - since < UNDECIDED_MAX_S:
                continue
            call = self._calls.get(uniqueid)
            if call is None:
                del self._undecided[uniqueid]
            else:
                out += self._decide(call, "cancelled")
        return out

    def _cancel_ring(self, call: Call, leg: str, now: float) -> list[Outgoing]:
        """Asterisk stopped ringing `leg` without saying why: retract now if the caller's
        fate is already known, else when it is (`_decide`)."""
        if leg not in call.rings:
            return []
        if call.answered_by is not None or call.answering_leg not in (None, leg):
            return self._end_ring(call, leg, "answered_elsewhere")
        if not call.in_queue:
            # Out of the queue unanswered (its timeout): the caller may still be on the line.
            return self._end_ring(call, leg, "cancelled")
        call.cancelled[leg] = call.rings.pop(leg)
        self._undecided.setdefault(call.uniqueid, now)
        return []

    def _on_ring_no_answer(self, event: Event, now: float) -> list[Outgoing]:
        call = self._calls.get(event.get("Uniqueid") or "")
        if call is None:
            return []
        return self._end_ring(call, event.get("DestUniqueid") or "", "no_answer")

    def _on_dial_end(self, event: Event, now: float) -> list[Outgoing]:
        # The queue ends a ringing leg without AgentRingNoAnswer when the caller abandons (09),
        # another member answers or the caller times out: that agent's pop must go.
        call = self._calls.get(event.get("Uniqueid") or "")
        if call is None:
            return []
        leg = event.get("DestUniqueid") or ""
        status = event.get("DialStatus")
        if status == "ANSWER":
            call.answering_leg = leg  # its AgentConnect follows; the others are cancelled
            return []
        if status == "NOANSWER":
            return self._end_ring(call, leg, "no_answer")
        if status in _BUSY:
            return self._end_ring(call, leg, "busy")
        return self._cancel_ring(call, leg, now)

    def _on_connect(self, event: Event, now: float) -> list[Outgoing]:
        call = self._calls.get(event.get("Uniqueid") or "")
        if call is None or call.answered_by is not None:
            return []  # a repeated AgentConnect changes nothing
        return self._connect(call, event, now)

    def _connect(self, call: Call, event: Event, now: float) -> list[Outgoing]:
        leg = event.get("DestUniqueid") or ""
        ring = call.rings.pop(leg, None) or call.cancelled.pop(leg, None)
        if ring is None:
            seat = member_seat(event.get("Interface"), event.get("MemberName")) or ""
            ring = Ring(leg, seat, self._seats.agent_at(seat) if seat else None, now)
        self._legs[leg] = call.uniqueid
        self._log_ring(call, ring, "answered")
        call.answered_by = ring
        call.connected_at = now
        call.in_queue = False
        call.hold_s = _seconds(event.get("HoldTime"))
        out = self._end_rings(call, "answered_elsewhere")
        if ring.agent_id is not None:
            answered = Answered(
                call.call_id, call.queue, call.hold_s, _seconds(event.get("RingTime"))
            )
            out.append(ToAgent(ring.agent_id, answered, key=f"answered:{ring.leg}"))
        return out

    def _completed_call(self, event: Event) -> Call | None:
        """The call an AgentComplete ends: by the caller's Uniqueid, else (Asterisk leaves
        the channel fields out when the caller's channel is already gone) by the member."""
        if "Uniqueid" in event:
            return self._calls.get(event["Uniqueid"])
        owner = self._calls.get(self._legs.get(event.get("DestUniqueid") or "", ""))
        if owner is not None:
            return owner
        seat = member_seat(event.get("Interface"), event.get("MemberName"))
        queue = event.get("Queue")
        answered = [
            c
            for c in self._calls.values()
            if c.answered_by is not None
            and c.answered_by.seat == seat
            and (queue is None or c.queue == queue)
        ]
        return min(answered, key=lambda c: c.connected_at or 0.0, default=None)

    def _on_complete(self, event: Event, now: float) -> list[Outgoing]:
        call = self._completed_call(event)
        if call is None:
            return []
        call.touched_at = now
        talk_s = _seconds(event.get("TalkTime"))
        who = hung_up_by(event.get("Reason"))
        out = self._connect(call, event, now) if call.answered_by is None else []
        ring = call.answered_by
        if ring is not None and ring.agent_id is not None:
            completed = Completed(call.call_id, talk_s, who)
            out.append(ToAgent(ring.agent_id, completed, key=f"completed:{call.call_id}"))
        hold_s = _seconds(event.get("HoldTime"))
        return out + self._finish(
            call, now, "answered", waited_s=hold_s, talked_s=talk_s, hung_up_by=who
        )

    def _on_abandon(self, event: Event, now: float) -> list[Outgoing]:
        call = self._calls.get(event.get("Uniqueid") or "")
        if call is None:
            return []
        call.in_queue = False
        out = self._end_rings(call, "abandoned")
        waited = _seconds(event.get("HoldTime"))
        out += self._finish(call, now, "abandoned", waited_s=waited)
        return [*out, self._waiting(call.queue)]

    def _on_leave(self, event: Event, now: float) -> list[Outgoing]:
        call = self._calls.get(event.get("Uniqueid") or "")
        if call is None:
            return []
        call.in_queue = False
        if call.answered_by is None:
            # A timeout (or an AgentConnect to come): the wait ends here either way.
            call.left_at = now
        fate: RingOutcome = "answered_elsewhere" if call.answering_leg else "cancelled"
        return [*self._decide(call, fate), self._waiting(call.queue)]

    def _on_hangup(self, event: Event, now: float) -> list[Outgoing]:
        uniqueid = event.get("Uniqueid") or ""
        call = self._calls.get(uniqueid)
        if call is not None:
            if call.answered_by is not None:
                # The caller's Hangup can beat AgentComplete (another stasis subscriber):
                # wait a little for it, for Asterisk's talk time and who hung up.
                self._caller_gone.setdefault(uniqueid, now)
                return self._end_rings(call, "answered_elsewhere")
            if call.in_queue:
                # Hung up in the queue, its QueueCallerAbandon still to come: an abandon.
                out = self._end_rings(call, "abandoned")
                return [*out, *self._finish(call, now, "abandoned"), self._waiting(call.queue)]
            out = self._end_rings(call, "answered_elsewhere" if call.answering_leg else "cancelled")
            return out + self._finish(call, now, "no_answer")
        owner = self._calls.get(self._legs.get(uniqueid, ""))
        if owner is not None:
            return self._cancel_ring(owner, uniqueid, now)
        return []

    def _complete_overdue(self, now: float) -> list[Outgoing]:
        out: list[Outgoing] = []
        for uniqueid, gone_at in list(self._caller_gone.items()):
            if now - gone_at < COMPLETE_WAIT_S:
                continue
            call = self._calls.get(uniqueid)
            if call is None:
                del self._caller_gone[uniqueid]
            else:
                out += self._end_answered(call, gone_at, closed_on_resync=False)
        return out

    def _end_answered(self, call: Call, now: float, *, closed_on_resync: bool) -> list[Outgoing]:
        """An answered call that ended without its AgentComplete: tell the agent, log it.

        `now` is when it ended: the caller's Hangup, or the resync that found it gone.
        """
        ring = call.answered_by
        talked = now - call.connected_at if call.connected_at is not None else None
        talk_s = None if talked is None else round(talked, 3)
        out: list[Outgoing] = []
        if ring is not None and ring.agent_id is not None:
            completed = Completed(call.call_id, talk_s, None, closed_on_resync=closed_on_resync)
            out.append(ToAgent(ring.agent_id, completed, key=f"completed:{call.call_id}"))
        return out + self._finish(
            call, now, "answered", talked_s=talked, closed_on_resync=closed_on_resync
        )

    def _finish(
        self,
        call: Call,
        now: float,
        outcome: Outcome,
        *,
        waited_s: float | None = None,
        talked_s: float | None = None,
        closed_on_resync: bool = False,
        hung_up_by: HungUpBy | None = None,
    ) -> list[Outgoing]:
        if self._calls.pop(call.uniqueid, None) is None:
            return []
        self._undecided.pop(call.uniqueid, None)
        self._caller_gone.pop(call.uniqueid, None)
        _, visits = self._ended.pop(call.uniqueid, (0.0, 0))
        self._ended[call.uniqueid] = (now, visits + 1)  # oldest first: forget from the front
        while self._ended:
            oldest = next(iter(self._ended))
            if self._ended[oldest][0] >= now - ENDED_KEPT_S:
                break
            del self._ended[oldest]
        for leg in [leg for leg, uid in self._legs.items() if uid == call.uniqueid]:
            del self._legs[leg]
        if waited_s is None:
            waited_s = call.hold_s
        if waited_s is None:
            end_wait = next((t for t in (call.connected_at, call.left_at) if t is not None), now)
            waited_s = max(0.0, end_wait - call.joined_at)
        ring = call.answered_by
        record = CallRecord(
            call_id=call.call_id,
            queue=call.queue,
            language=queue_language(call.queue),
            caller_number=call.caller_number,
            caller_name=call.caller_name,
            agent_id=ring.agent_id if ring else None,
            seat=ring.seat if ring else None,
            joined_at=call.joined_at,
            ended_at=now,
            waited_s=round(waited_s, 3),
            talked_s=None if talked_s is None else round(talked_s, 3),
            outcome=outcome,
            rung_agents=tuple(call.rung_agents),
            closed_on_resync=closed_on_resync,
            rings=tuple(result for _, result in sorted(call.ring_log, key=lambda r: r[0])),
            hung_up_by=hung_up_by,
        )
        return [CallFinished(record)]

    # --- members -----------------------------------------------------------------------

    def _agent_state(self, seat: str) -> list[Outgoing]:
        agent_id = self._seats.agent_at(seat)
        if agent_id is None:
            return []
        return [ToAgent(agent_id, self.agent_state(seat))]

    def agent_state(self, seat: str) -> AgentState:
        """The agent at `seat`'s queues and pauses."""
        return AgentState(seat, tuple(self.members.of_seat(seat)))

    def state_message(self, seat: str) -> dict[str, Any]:
        """The `state` message for the agent at `seat`: their queues and pauses."""
        return as_json(self.agent_state(seat))

    def _member_broadcast(self, member: Member, present: bool) -> ToBroadcast:
        return ToBroadcast(MemberChanged(member, self._seats.agent_at(member.seat), present))

    def _on_member(self, event: Event, now: float) -> list[Outgoing]:
        member = member_from_event(event)
        if member is None:
            return []
        before = self.members.signature(member.seat)
        self.members.put(member, now)
        out: list[Outgoing] = [self._member_broadcast(member, True)]
        if self.members.signature(member.seat) != before:
            out += self._agent_state(member.seat)
        return out

    def _on_member_removed(self, event: Event, now: float) -> list[Outgoing]:
        member = member_from_event(event)
        if member is None or self.members.remove(member.queue, member.seat, now) is None:
            return []
        return [self._member_broadcast(member, False), *self._agent_state(member.seat)]

    # --- resync ------------------------------------------------------------------------

    def resync(
        self, queue_status: Sequence[Event], channels: Sequence[Event], now: float
    ) -> list[Outgoing]:
        """Rebuild from QueueStatus and CoreShowChannels events taken after a (re)connect.

        `now` is when the snapshot was taken. Members are replaced (a restarted Asterisk
        has none). A call whose channel is gone ended while we were away: its pops are
        retracted and it is logged. Callers waiting that we did not know get a call (their
        pop comes with the next AgentCalled). Calls and members that a live event changed
        after `now` are left as that event made them: the AMI client hands events and the
        resync to separate tasks, so newer events may be handled first.
        """
        out: list[Outgoing] = []
        seats_before = {s: self.members.signature(s) for s in self.members.seats()}
        members = [
            m
            for e in queue_status
            if e.name == "QueueMember"
            if (m := member_from_event(e)) is not None
        ]
        self.members.replace(members, now)
        for seat in sorted(seats_before.keys() | self.members.seats()):
            if seats_before.get(seat, ()) != self.members.signature(seat):
                out += self._agent_state(seat)

        live = {u for e in channels if e.name == "CoreShowChannel" if (u := e.get("Uniqueid"))}
        entries = {
            e["Uniqueid"]: e for e in queue_status if e.name == "QueueEntry" and "Uniqueid" in e
        }
        for call in list(self._calls.values()):
            # A call a live event touched after the snapshot knows better than the snapshot.
            if call.touched_at <= now:
                out += self._resync_call(call, live, entries, now)
        for uniqueid, entry in entries.items():
            if uniqueid not in self._calls and not self._ended_after(uniqueid, now):
                wait = _seconds(entry.get("Wait")) or 0.0
                call = self._call_from(entry, now, joined_at=now - wait)
                call.in_queue = True
        for channel in channels:
            self._resync_talking(channel, entries, now)
        out += self._resync_agent_legs(channels, now)

        at = _iso(now)
        agents = {self._seats.agent_at(s) for s in seats_before.keys() | self.members.seats()}
        agents |= {r.agent_id for c in self._calls.values() for r in c.rings.values()}
        for agent_id in sorted(a for a in agents if a is not None):
            out.append(ToAgent(agent_id, AgentResynced(at)))
        queues = sorted(
            {m.queue for m in self.members.all()} | {c.queue for c in self._calls.values()}
        )
        out += [self._waiting(q) for q in queues]
        out.append(ToBroadcast(MembersResynced(at, tuple(self.members.all()))))
        return out

    def _ended_after(self, uniqueid: str, taken_at: float) -> bool:
        """True when the channel's call ended after a snapshot taken at `taken_at`."""
        ended = self._ended.get(uniqueid)
        return ended is not None and ended[0] > taken_at

    def _resync_talking(self, channel: Event, entries: dict[str, Event], now: float) -> None:
        """A caller still in Queue() but in a bridge and in no QueueEntry talks to an agent
        we did not see answer: keep a call for it so its AgentComplete is logged."""
        uniqueid = channel.get("Uniqueid") or ""
        if (
            channel.name != "CoreShowChannel"
            or channel.get("Application") != "Queue"
            or not channel.get("BridgeId")
            or not uniqueid
            or uniqueid in entries
            or uniqueid in self._calls
            or self._ended_after(uniqueid, now)
        ):
            return
        queue = (channel.get("ApplicationData") or "").split(",")[0]
        self._calls[uniqueid] = Call(
            call_id=self._new_call_id(uniqueid),
            uniqueid=uniqueid,
            queue=queue,
            caller_number=display_text(channel.get("CallerIDNum")),
            caller_name=display_text(channel.get("CallerIDName")),
            joined_at=now - _duration(channel.get("Duration")),
            in_queue=False,
        )

    def _resync_agent_legs(self, channels: Sequence[Event], now: float) -> list[Outgoing]:
        """Rings and answers that began while we were away reach their agent.

        app_queue's agent legs are in CoreShowChannels as `Application: AppQueue` with the
        caller's Linkedid: ringing outside any bridge, or in the caller's bridge once
        answered (recording 21). A ring or answer we already know is left alone.
        """
        callers: dict[str, list[tuple[Call, str]]] = {}  # Linkedid -> (call, BridgeId)
        for channel in channels:
            call = self._calls.get(channel.get("Uniqueid") or "")
            if (
                channel.get("Application") == "Queue"
                and call is not None
                and call.touched_at <= now
            ):
                linked = callers.setdefault(channel.get("Linkedid") or "", [])
                linked.append((call, channel.get("BridgeId") or ""))
        out: list[Outgoing] = []
        for channel in channels:
            leg = channel.get("Uniqueid") or ""
            seat = member_seat(channel.get("Channel"))
            linked = callers.get(channel.get("Linkedid") or "", [])
            if channel.get("Application") != "AppQueue" or not leg or seat is None:
                continue
            bridge = channel.get("BridgeId") or ""
            started = now - _duration(channel.get("Duration"))
            if bridge:
                for call, caller_bridge in linked:
                    if caller_bridge == bridge and call.answered_by is None:
                        out += self._resync_answered(call, self._new_ring(call, leg, seat, started))
            elif len(linked) == 1:
                call = linked[0][0]
                if call.in_queue and call.answered_by is None and leg not in self._legs:
                    ring = call.rings[leg] = self._new_ring(call, leg, seat, started)
                    out += self._pop_due(call, ring, now)
        return out

    def _resync_answered(self, call: Call, ring: Ring) -> list[Outgoing]:
        """The agent answered while we were away: their pop, then `answered`."""
        self._log_ring(call, ring, "answered")
        call.answered_by = ring
        call.connected_at = ring.started_at  # the leg's age: ring time included
        call.in_queue = False
        out = self._pop_due(call, ring, ring.started_at)
        if ring.agent_id is not None:
            answered = Answered(call.call_id, call.queue, None, None)
            out.append(ToAgent(ring.agent_id, answered, key=f"answered:{ring.leg}"))
        return out

    def _resync_call(
        self, call: Call, live: set[str], entries: dict[str, Event], now: float
    ) -> list[Outgoing]:
        gone_at = self._caller_gone.get(call.uniqueid)
        if gone_at is not None:
            return self._end_answered(call, gone_at, closed_on_resync=False)
        if call.uniqueid not in live:
            out = self._end_rings(call, "ended")
            if call.answered_by is not None:
                # It ended while we were away: the talk time is an upper bound.
                return out + self._end_answered(call, now, closed_on_resync=True)
            return out + self._finish(call, now, "abandoned", closed_on_resync=True)
        entry = entries.get(call.uniqueid)
        call.in_queue = entry is not None
        if entry is not None:
            call.queue = entry.get("Queue") or call.queue
        # A cancelled ring of a caller still waiting was not the caller's fate.
        out = self._decide(call, "cancelled" if entry is not None else "ended")
        for leg in list(call.rings):
            if leg not in live or entry is None:
                out += self._end_ring(call, leg, "ended")
        return out
