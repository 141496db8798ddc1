"""What `CallTracker.handle` returns: instructions for the I/O shell, plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from cti.state.messages import AgentMessage, HungUpBy, RingOutcome, SupervisorMessage, as_json

Outcome: TypeAlias = Literal["answered", "abandoned", "no_answer"]


@dataclass(frozen=True, slots=True)
class PopDue:
    """An agent's phone started ringing: send them the pop (the shell looks the caller up)."""

    agent_id: str
    seat: str
    call_id: str
    queue: str
    caller_number: str | None
    caller_name: str | None
    waited_s: float
    key: str = ""  # the ring's own key (its leg's Uniqueid): one pop per ring, cluster-wide


@dataclass(frozen=True, slots=True)
class ToAgent:
    """A message for one agent's consoles (retract, answered, completed, state...).

    `key` names what happened to a call (a ring retracted, answered, completed), the same on
    every node that saw it: published once per key cluster-wide. Without a key the message
    is a snapshot (queue and pause state, a resync) that only the acting node sends.
    """

    agent_id: str
    body: AgentMessage
    key: str | None = None

    @property
    def message(self) -> dict[str, Any]:
        """The JSON object to publish."""
        return as_json(self.body)


@dataclass(frozen=True, slots=True)
class ToBroadcast:
    """A message for the supervisors' channel (queue and member state)."""

    body: SupervisorMessage

    @property
    def message(self) -> dict[str, Any]:
        """The JSON object to broadcast."""
        return as_json(self.body)


@dataclass(frozen=True, slots=True)
class RingResult:
    """One ring of one seat for a call, and how it ended (`agent_id`: None at an empty seat)."""

    seat: str
    agent_id: str | None
    outcome: RingOutcome

    def as_dict(self) -> dict[str, str | None]:
        """As the call log stores it."""
        return {"agent": self.agent_id, "seat": self.seat, "outcome": self.outcome}


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A finished call, for the call log.

    `rung_agents`: the agents rung, first ring first, each once; `rings`: every ring in
    order with how it ended; `hung_up_by`: AgentComplete's Reason, None when not known.
    """

    call_id: str
    queue: str
    language: str | None
    caller_number: str | None
    caller_name: str | None
    agent_id: str | None
    seat: str | None
    joined_at: float
    ended_at: float
    waited_s: float
    talked_s: float | None
    outcome: Outcome
    rung_agents: tuple[str, ...] = field(default=())
    closed_on_resync: bool = False
    rings: tuple[RingResult, ...] = field(default=())
    hung_up_by: HungUpBy | None = None


@dataclass(frozen=True, slots=True)
class CallFinished:
    """Write this call to the call log."""

    record: CallRecord


Outgoing: TypeAlias = PopDue | ToAgent | ToBroadcast | CallFinished
