"""What `CallTracker.handle` returns: instructions for the I/O shell, plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

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


@dataclass(frozen=True, slots=True)
class ToAgent:
    """A ready message for one agent's consoles (retract, answered, completed, state...)."""

    agent_id: str
    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToBroadcast:
    """A ready message for the supervisors' channel (queue and member state)."""

    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A finished call, for the call log."""

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


@dataclass(frozen=True, slots=True)
class CallFinished:
    """Write this call to the call log."""

    record: CallRecord


Outgoing: TypeAlias = PopDue | ToAgent | ToBroadcast | CallFinished
