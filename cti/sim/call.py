"""One call of the simulator: its channels, its agent leg and the ids Asterisk would give them.

The phases of its life are in `cti.sim.arrival` (arrive, ring) and `cti.sim.ending` (answer,
complete, no answer, abandon); `cti.sim.script` gathers them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cti.ami import Header
from cti.sim.channels import PRIV_AGENT, Bridge, Channel, Headers, chan_event
from cti.sim.queues import Member

ENTRY = "89000"
QUEUE_TIMEOUT = 120


@dataclass(slots=True)
class Ids:
    """Channel name suffixes and uniqueids, counting up like Asterisk's."""

    next_channel: int = 0
    next_unique: int = 0
    # Given out first: a caller who walked the IVR keeps the ids its channels had there.
    reserved: list[str] = field(default_factory=list)

    def channel_suffix(self) -> str:
        """`00000001`: eight hex digits, one per channel (pair)."""
        value = self.next_channel
        self.next_channel += 1
        return f"{value:08x}"

    def uniqueid(self, now: float) -> str:
        """`1795361778.0`: creation second and a running sequence."""
        if self.reserved:
            return self.reserved.pop(0)
        value = self.next_unique
        self.next_unique += 1
        return f"{int(now)}.{value}"


@dataclass(slots=True)
class AgentLeg:
    """The channel(s) a queue dials for one ring attempt."""

    member: Member
    dialed: Channel  # the `Dest` channel: Local `;1` or the PJSIP seat channel
    inner: Channel | None  # Local `;2` (runs the agent's dialplan); None for PJSIP
    rang_at: float


@dataclass(slots=True, eq=False)
class CallScript:
    """One caller's channels and the events of each phase of its life."""

    queue: str
    number: str
    name: str
    language: str
    inner: Channel  # the channel that sits in the queue: Local `;2` or `PJSIP/trunk-…`
    outer: Channel | None  # Local `;1` (the caller's own side); None for PJSIP
    arrived_at: float
    variables: tuple[tuple[str, str], ...] = ()
    talk: float = 60.0  # how long the agent talks once answered
    ready_at: float = 0.0  # not offered to a member before this (retry after no answer)
    joined_at: float = 0.0
    answered_at: float | None = None
    leg: AgentLeg | None = None
    bridge: Bridge | None = None
    pending: list[Headers] = field(default_factory=list)

    @property
    def pjsip(self) -> bool:
        """True when the caller came in over the SIP trunk (production shape)."""
        return self.outer is None

    @property
    def channels(self) -> list[Channel]:
        """Every live channel of the call, for CoreShowChannels."""
        found = [self.inner] + ([self.outer] if self.outer else [])
        if self.leg is not None:
            found.append(self.leg.dialed)
            if self.leg.inner is not None:
                found.append(self.leg.inner)
        return found

    def _queue_header(self) -> list[tuple[str, str]]:
        return [("Queue", self.queue)]

    def caller_fields(self, position: int, count: int) -> Headers:
        """`QueueCallerJoin` (the model sets `Queue:<q>` RINGING just before)."""
        return self._caller_event("QueueCallerJoin", position, count)

    def leave(self, position: int, count: int) -> Headers:
        """`QueueCallerLeave`."""
        return self._caller_event("QueueCallerLeave", position, count)

    def _caller_event(self, name: str, position: int, count: int) -> Headers:
        return chan_event(
            name,
            PRIV_AGENT,
            self.inner,
            ("Queue", self.queue),
            ("Position", str(position)),
            ("Count", str(count)),
        )


def leg_of(call: CallScript) -> AgentLeg:
    """The agent leg the call is ringing or talking on; RuntimeError when there is none."""
    if call.leg is None:
        raise RuntimeError(f"call {call.inner.name} has no agent leg")
    return call.leg


def member_fields(call: CallScript, leg: AgentLeg) -> list[Header]:
    """Queue, Interface, MemberName: who the Agent* events are about."""
    return [
        ("Queue", call.queue),
        ("Interface", leg.member.interface.raw),
        ("MemberName", leg.member.name),
    ]
