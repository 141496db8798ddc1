"""What the state machine tells agents and supervisors, as typed values serialised in one place.

Every reason and outcome the server can send is defined here once; `docs/protocol.md`
describes the same values. `as_json(message)` is the only place a message becomes the JSON
object that goes on the wire (the pop, built from the caller lookup, is in `cti.state.pop`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, get_args

from cti.state.members import Member

RetractReason: TypeAlias = Literal[
    "no_answer",  # the phone rang out (AgentRingNoAnswer): the queue moves to the next agent
    "cancelled",  # the ring stopped for another reason: phone busy or declined, queue timeout
    "answered_elsewhere",  # another agent answered this caller
    "abandoned",  # the caller hung up while this phone rang
    "ended",  # at a resync the ring or the call was gone: how it ended is not known
]
RETRACT_REASONS: Final[tuple[RetractReason, ...]] = get_args(RetractReason)

RingOutcome: TypeAlias = Literal[
    "answered", "no_answer", "busy", "cancelled", "abandoned", "answered_elsewhere", "ended"
]
"""How one ring of one agent's phone ended (the call log keeps one per ring)."""
RING_OUTCOMES: Final[tuple[RingOutcome, ...]] = get_args(RingOutcome)

HungUpBy: TypeAlias = Literal["caller", "agent", "transfer"]
"""AgentComplete's `Reason`: who ended an answered call (`transfer`: the agent transferred)."""
HUNG_UP_BY: Final[tuple[HungUpBy, ...]] = get_args(HungUpBy)


_RETRACT_FOR: Final[dict[RingOutcome, RetractReason]] = {
    "answered": "cancelled",  # never retracted: the agent gets `answered`
    "no_answer": "no_answer",
    "busy": "cancelled",  # the agent knows they declined; the call log keeps `busy`
    "cancelled": "cancelled",
    "abandoned": "abandoned",
    "answered_elsewhere": "answered_elsewhere",
    "ended": "ended",
}


def retract_reason(outcome: RingOutcome) -> RetractReason:
    """The retract an agent gets for a ring that ended as `outcome`."""
    return _RETRACT_FOR[outcome]


def hung_up_by(reason: str | None) -> HungUpBy | None:
    """AgentComplete's `Reason` as a known value, None when absent or not one Asterisk uses."""
    return next((value for value in HUNG_UP_BY if value == reason), None)


# --- to one agent -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Retract:
    """Stop showing the pop of `call_id`."""

    call_id: str
    reason: RetractReason


@dataclass(frozen=True, slots=True)
class Answered:
    """The agent picked up (`waited_s`, `ring_s`: Asterisk's HoldTime and RingTime)."""

    call_id: str
    queue: str
    waited_s: float | None
    ring_s: float | None


@dataclass(frozen=True, slots=True)
class Completed:
    """The answered call ended: show the talk time and the wrap-up form."""

    call_id: str
    talk_s: float | None
    hung_up_by: HungUpBy | None
    closed_on_resync: bool = False


@dataclass(frozen=True, slots=True)
class AgentState:
    """The agent's queue memberships and pauses."""

    seat: str
    queues: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class AgentResynced:
    """The view was rebuilt after the AMI connection came back (`at`: ISO 8601)."""

    at: str


AgentMessage: TypeAlias = Retract | Answered | Completed | AgentState | AgentResynced

# --- to the supervisors -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueWaiting:
    """How many callers wait in a queue."""

    queue: str
    waiting: int


@dataclass(frozen=True, slots=True)
class MemberChanged:
    """A seat's membership changed (`present`: False once removed)."""

    member: Member
    agent_id: str | None
    present: bool


@dataclass(frozen=True, slots=True)
class MembersResynced:
    """Every member as the resync found them."""

    at: str
    members: tuple[Member, ...]


SupervisorMessage: TypeAlias = QueueWaiting | MemberChanged | MembersResynced


def as_json(message: AgentMessage | SupervisorMessage) -> dict[str, Any]:
    """The JSON object sent for `message` (the bus adds `seq`)."""
    match message:
        case Retract():
            return {"type": "retract", "call_id": message.call_id, "reason": message.reason}
        case Answered():
            return {
                "type": "answered",
                "call_id": message.call_id,
                "queue": message.queue,
                "waited_s": message.waited_s,
                "ring_s": message.ring_s,
            }
        case Completed():
            completed: dict[str, Any] = {
                "type": "completed",
                "call_id": message.call_id,
                "talk_s": message.talk_s,
                "hung_up_by": message.hung_up_by,
            }
            if message.closed_on_resync:
                completed["closed_on_resync"] = True
            return completed
        case AgentState():
            queues = [m.as_dict() for m in message.queues]
            return {"type": "state", "seat": message.seat, "queues": queues}
        case AgentResynced():
            return {"type": "resynced", "at": message.at}
        case QueueWaiting():
            return {"type": "queue", "queue": message.queue, "waiting": message.waiting}
        case MemberChanged():
            return {
                "type": "member",
                **message.member.as_dict(),
                "agent": message.agent_id,
                "present": message.present,
            }
        case MembersResynced():
            members = [m.as_dict() for m in message.members]
            return {"type": "resynced", "at": message.at, "members": members}
