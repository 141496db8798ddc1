"""The call/agent state machine, sans-IO: `handle(event, now)` -> what to send and log.

Calls are keyed by the Uniqueid of the caller's channel in the queue (the `Channel` of
QueueCallerJoin/AgentCalled); each ring of an agent by the agent leg's `DestUniqueid`. The
ringing agent is the one logged in at the member's seat when `AgentCalled` arrives; retracts,
`answered` and `completed` go to that same agent even if the seat changes hands meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from cti.ami import Event
from cti.state.members import Member, Membership, member_from_event
from cti.state.outgoing import (
    CallFinished,
    CallRecord,
    Outcome,
    Outgoing,
    PopDue,
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
    rung_agents: list[str] = field(default_factory=list)
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
        handler = self._handlers.get(event.name)
        if handler is None:
            return []
        out = handler(event, now)
        call = self._calls.get(event.get("Uniqueid") or "")
        if call is not None:
            call.touched_at = now
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
        return ToBroadcast({"type": "queue", "queue": queue, "waiting": waiting})

    def _on_join(self, event: Event, now: float) -> list[Outgoing]:
        call = self._call_from(event, now)
        call.queue = event.get("Queue") or call.queue
        call.in_queue = True
        call.left_at = None
        return [self._waiting(call.queue)]

    def _on_agent_called(self, event: Event, now: float) -> list[Outgoing]:
        if "Uniqueid" not in event or "DestUniqueid" not in event:
            return []
        call = self._call_from(event, now)
        seat = member_seat(event.get("Interface"), event.get("MemberName"))
        if seat is None:
            return []
        agent_id = self._seats.agent_at(seat)
        leg = event["DestUniqueid"]
        call.rings[leg] = Ring(leg=leg, seat=seat, agent_id=agent_id, started_at=now)
        self._legs[leg] = call.uniqueid
        if agent_id is None:
            return []
        if agent_id not in call.rung_agents:
            call.rung_agents.append(agent_id)
        return [
            PopDue(
                agent_id=agent_id,
                seat=seat,
                call_id=call.call_id,
                queue=call.queue,
                caller_number=call.caller_number,
                caller_name=call.caller_name,
                waited_s=round(max(0.0, now - call.joined_at), 3),
            )
        ]

    def _end_ring(self, call: Call, leg: str, reason: str) -> list[Outgoing]:
        ring = call.rings.pop(leg, None)
        self._legs.pop(leg, None)
        if ring is None or ring.agent_id is None:
            return []
        message = {"type": "retract", "call_id": call.call_id, "reason": reason}
        return [ToAgent(ring.agent_id, message)]

    def _end_rings(self, call: Call, reason: str) -> list[Outgoing]:
        out: list[Outgoing] = []
        for leg in list(call.rings):
            out += self._end_ring(call, leg, reason)
        return out

    def _on_ring_no_answer(self, event: Event, now: float) -> list[Outgoing]:
        call = self._calls.get(event.get("Uniqueid") or "")
        if call is None:
            return []
        return self._end_ring(call, event.get("DestUniqueid") or "", "no_answer")

    def _on_dial_end(self, event: Event, now: float) -> list[Outgoing]:
        # The queue cancels a ringing leg without AgentRingNoAnswer when the caller
        # abandons (09) or another member answers: that agent's pop must go.
        call = self._calls.get(event.get("Uniqueid") or "")
        if call is None or event.get("DialStatus") == "ANSWER":
            return []
        return self._end_ring(call, event.get("DestUniqueid") or "", "cancelled")

    def _on_connect(self, event: Event, now: float) -> list[Outgoing]:
        call = self._calls.get(event.get("Uniqueid") or "")
        if call is None:
            return []
        leg = event.get("DestUniqueid") or ""
        ring = call.rings.pop(leg, None)
        if ring is None:
            seat = member_seat(event.get("Interface"), event.get("MemberName")) or ""
            ring = Ring(leg, seat, self._seats.agent_at(seat) if seat else None, now)
        self._legs[leg] = call.uniqueid
        call.answered_by = ring
        call.connected_at = now
        call.in_queue = False
        call.hold_s = _seconds(event.get("HoldTime"))
        out = self._end_rings(call, "answered_elsewhere")
        if ring.agent_id is not None:
            message = {
                "type": "answered",
                "call_id": call.call_id,
                "queue": call.queue,
                "waited_s": call.hold_s,
                "ring_s": _seconds(event.get("RingTime")),
            }
            out.append(ToAgent(ring.agent_id, message))
        return out

    def _on_complete(self, event: Event, now: float) -> list[Outgoing]:
        call = self._calls.get(event.get("Uniqueid") or "")
        if call is None:
            return []
        talk_s = _seconds(event.get("TalkTime"))
        out = self._on_connect(event, now) if call.answered_by is None else []
        ring = call.answered_by
        if ring is not None and ring.agent_id is not None:
            message = {
                "type": "completed",
                "call_id": call.call_id,
                "talk_s": talk_s,
                "hung_up_by": event.get("Reason"),
            }
            out.append(ToAgent(ring.agent_id, message))
        hold_s = _seconds(event.get("HoldTime"))
        return out + self._finish(call, now, "answered", waited_s=hold_s, talked_s=talk_s)

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
        return [self._waiting(call.queue)]

    def _on_hangup(self, event: Event, now: float) -> list[Outgoing]:
        uniqueid = event.get("Uniqueid") or ""
        call = self._calls.get(uniqueid)
        if call is not None:
            out = self._end_rings(call, "caller_hung_up")
            if call.answered_by is not None:
                # The caller's Hangup can beat AgentComplete (another stasis subscriber):
                # the agent's call ends here, and the late AgentComplete finds nothing.
                return out + self._end_answered(call, now, closed_on_resync=False)
            if call.in_queue:
                # Hung up in the queue, its QueueCallerAbandon still to come: an abandon.
                return [*out, *self._finish(call, now, "abandoned"), self._waiting(call.queue)]
            return out + self._finish(call, now, "no_answer")
        owner = self._calls.get(self._legs.get(uniqueid, ""))
        if owner is not None and uniqueid in owner.rings:
            return self._end_ring(owner, uniqueid, "cancelled")
        return []

    def _end_answered(self, call: Call, now: float, *, closed_on_resync: bool) -> list[Outgoing]:
        """An answered call that ended without its AgentComplete: tell the agent, log it."""
        ring = call.answered_by
        talked = now - call.connected_at if call.connected_at is not None else None
        out: list[Outgoing] = []
        if ring is not None and ring.agent_id is not None:
            message: dict[str, object] = {
                "type": "completed",
                "call_id": call.call_id,
                "talk_s": None if talked is None else round(talked, 3),
                "hung_up_by": None,
            }
            if closed_on_resync:
                message["closed_on_resync"] = True
            out.append(ToAgent(ring.agent_id, message))
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
    ) -> list[Outgoing]:
        if self._calls.pop(call.uniqueid, None) is None:
            return []
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
        )
        return [CallFinished(record)]

    # --- members -----------------------------------------------------------------------

    def _agent_state(self, seat: str) -> list[Outgoing]:
        agent_id = self._seats.agent_at(seat)
        if agent_id is None:
            return []
        return [ToAgent(agent_id, self.state_message(seat))]

    def state_message(self, seat: str) -> dict[str, Any]:
        """The `state` message for the agent at `seat`: their queues and pauses."""
        queues = [m.as_dict() for m in self.members.of_seat(seat)]
        return {"type": "state", "seat": seat, "queues": queues}

    def _member_broadcast(self, member: Member, present: bool) -> ToBroadcast:
        agent_id = self._seats.agent_at(member.seat)
        return ToBroadcast(
            {"type": "member", **member.as_dict(), "agent": agent_id, "present": present}
        )

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

        at = _iso(now)
        agents = {self._seats.agent_at(s) for s in seats_before.keys() | self.members.seats()}
        agents |= {r.agent_id for c in self._calls.values() for r in c.rings.values()}
        for agent_id in sorted(a for a in agents if a is not None):
            out.append(ToAgent(agent_id, {"type": "resynced", "at": at}))
        queues = sorted(
            {m.queue for m in self.members.all()} | {c.queue for c in self._calls.values()}
        )
        out += [self._waiting(q) for q in queues]
        out.append(
            ToBroadcast(
                {"type": "resynced", "at": at, "members": [m.as_dict() for m in self.members.all()]}
            )
        )
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

    def _resync_call(
        self, call: Call, live: set[str], entries: dict[str, Event], now: float
    ) -> list[Outgoing]:
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
        out = []
        for leg in list(call.rings):
            if leg not in live or entry is None:
                out += self._end_ring(call, leg, "ended")
        return out
