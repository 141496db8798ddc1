"""The simulated PBX, sans-IO: queues, members, callers and a virtual clock you advance.

Nothing here reads a socket or the wall clock. `place_call` and the admin methods act at
`now`; `advance(to)` runs what was due (agents answering, ring timeouts, hang-ups, callers
giving up) and returns the events in the order Asterisk would write them.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cti.sim.channels import Channel, Headers
from cti.sim.queues import (
    DEFAULT_QUEUES,
    SERVICE_LEVEL_S,
    STATUS_INUSE,
    STATUS_NOT_INUSE,
    STATUS_RINGING,
    DeviceStates,
    Interface,
    Member,
    Queue,
)
from cti.sim.script import (
    CallScript,
    Ids,
    abandon,
    answer,
    caller_arrives,
    complete,
    pjsip_ringing,
    ring,
    ring_no_answer,
)


@dataclass(frozen=True, slots=True)
class PbxConfig:
    """How the simulated centre behaves. Times are seconds."""

    queues: tuple[str, ...] = DEFAULT_QUEUES
    local_callers: bool = True  # Local/89000@inbound pairs (01-12) or PJSIP/trunk (13)
    ring_timeout: float = 15.0
    retry: float = 1.0
    answer_delay: tuple[float, float] = (2.0, 6.0)
    no_answer_ratio: float = 0.1
    seed: int = 1
    # Where QueueReload reads queues.conf (the directory the admin apply writes); None: a
    # reload changes nothing, as an Asterisk whose file was not rewritten.
    conf_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class CallerSpec:
    """One caller as the load generator (or a test) describes it."""

    queue: str
    number: str
    name: str = "<unknown>"
    language: str = "zh"
    patience: float | None = None  # hangs up after waiting this long; None: waits
    talk: float = 60.0
    variables: tuple[tuple[str, str], ...] = ()


class NoSuchQueue(LookupError):
    """The action named a queue the PBX does not have."""


@dataclass(order=True, slots=True)
class _Timer:
    at: float
    seq: int
    run: Callable[[], list[Headers]] = field(compare=False)


class Pbx:
    """The PBX model. Not thread-safe; one asyncio server owns it."""

    def __init__(self, config: PbxConfig, now: float) -> None:
        self.config = config
        self.now = now
        self.booted_at = now
        self.rng = random.Random(config.seed)
        self.ids = Ids()
        self.queues = {name: Queue(name) for name in config.queues}
        self.waiting: dict[str, list[CallScript]] = {name: [] for name in config.queues}
        self.calls: dict[str, CallScript] = {}  # by the queue channel's uniqueid
        self.busy: set[str] = set()  # interfaces ringing or talking
        self.devices = DeviceStates()
        self._timers: list[_Timer] = []
        self._seq = 0

    def add_queue(self, name: str) -> None:
        """A queue a reload brought (no-op when it exists)."""
        if name not in self.queues:
            self.queues[name] = Queue(name)
            self.waiting[name] = []

    # -- clock -------------------------------------------------------------------------

    def at(self, when: float, run: Callable[[], list[Headers]]) -> None:
        """Run `run` when the clock reaches `when`."""
        self._seq += 1
        heapq.heappush(self._timers, _Timer(when, self._seq, run))

    def next_due(self) -> float | None:
        """When the next timer is due, or None."""
        return self._timers[0].at if self._timers else None

    def advance(self, to: float) -> list[Headers]:
        """Move the clock to `to`, running every timer due on the way, in time order."""
        out: list[Headers] = []
        while self._timers and self._timers[0].at <= to:
            timer = heapq.heappop(self._timers)
            self.now = max(self.now, timer.at)
            out.extend(timer.run())
        self.now = max(self.now, to)
        return out

    # -- calls -------------------------------------------------------------------------

    def place_call(self, spec: CallerSpec) -> list[Headers]:
        """A caller dials in now and joins `spec.queue`. Raises NoSuchQueue."""
        if spec.queue not in self.queues:
            raise NoSuchQueue(spec.queue)
        call, out = caller_arrives(
            self.ids,
            self.now,
            queue=spec.queue,
            number=spec.number,
            name=spec.name,
            language=spec.language,
            local=self.config.local_callers,
            variables=spec.variables,
        )
        line = self.waiting[spec.queue]
        line.append(call)
        self.calls[call.inner.uniqueid] = call
        call.joined_at = self.now
        call.talk = spec.talk
        self.queues[spec.queue].joined += 1
        out.extend(self.devices.set(f"Queue:{spec.queue}", "RINGING"))
        out.append(call.caller_fields(len(line), len(line)))
        if spec.patience is not None:
            position = len(line)
            self.at(self.now + spec.patience, lambda: self._abandon(call, position))
        out.extend(self.offer(spec.queue))
        return out

    def offer(self, queue: str) -> list[Headers]:
        """Ring free members for the callers waiting in `queue`, longest waiting first.

        Called whenever a caller joins or a member may have become free (a call ended, a
        ring timed out, a member was added or unpaused).
        """
        q = self.queues.get(queue)
        if q is None:
            return []
        out: list[Headers] = []
        for call in self.waiting[queue]:
            if call.leg is not None or call.ready_at > self.now:
                continue
            member = q.next_member(self.busy)
            if member is None:
                break
            out.extend(self._ring(call, member))
        return out

    def _offer_interface(self, interface: str) -> list[Headers]:
        out: list[Headers] = []
        for q in self.queues.values():
            if q.member(interface) is not None:
                out.extend(self.offer(q.name))
        return out

    def _ring(self, call: CallScript, member: Member) -> list[Headers]:
        self.busy.add(member.interface.raw)
        low, high = self.config.answer_delay
        delay = self.rng.uniform(low, high)
        never = (
            member.interface.context.endswith("noanswer")
            or self.rng.random() < self.config.no_answer_ratio
            or delay >= self.config.ring_timeout
        )
        out = ring(self.ids, self.now, call, member, will_answer=not never)
        leg = call.leg
        if not member.interface.is_local:
            out = out + pjsip_ringing(call, self._member_status(member, STATUS_RINGING))
        if never:

            def timeout() -> list[Headers]:
                return self._ring_no_answer(call) if call.leg is leg else []

            self.at(self.now + self.config.ring_timeout, timeout)
        else:

            def pick_up() -> list[Headers]:
                return self._answer(call) if call.leg is leg else []

            self.at(self.now + delay, pick_up)
        return out

    def _member_status(self, member: Member, status: int) -> list[Headers]:
        """QueueMemberStatus for every queue this interface is in, then avail changes."""
        out: list[Headers] = []
        changed: list[Queue] = []
        for queue in self.queues.values():
            m = queue.member(member.interface.raw)
            if m is not None:
                m.status = status
                out.append(m.event("QueueMemberStatus"))
                changed.append(queue)
        for queue in changed:
            out.extend(self.devices.avail(queue))
        return out

    def _leave_queue(self, call: CallScript) -> tuple[int, list[Headers]]:
        line = self.waiting[call.queue]
        position = line.index(call) + 1
        line.remove(call)
        out = []
        if not line:
            out.extend(self.devices.set(f"Queue:{call.queue}", "NOT_INUSE"))
        out.append(call.leave(position, len(line)))
        return position, out

    def _answer(self, call: CallScript) -> list[Headers]:
        leg = call.leg
        if leg is None:
            return []
        in_use = self._member_status(leg.member, STATUS_INUSE)
        _, leave = self._leave_queue(call)
        bridge = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        queue = self.queues[call.queue]
        queue.total_hold += self.now - call.joined_at
        queue.answered += 1
        # As AgentConnect's HoldTime reports the wait: whole seconds, rounded.
        queue.answered_in_level += round(self.now - call.joined_at) <= SERVICE_LEVEL_S
        out = answer(call, self.now, bridge, in_use, leave)
        self.at(self.now + call.talk, lambda: self._complete(call))
        return out

    def _complete(self, call: CallScript) -> list[Headers]:
        leg = call.leg
        if leg is None or call.answered_at is None:
            return []
        queue = self.queues[call.queue]
        queue.completed += 1
        queue.total_talk += self.now - call.answered_at
        member = queue.member(leg.member.interface.raw) or leg.member
        member.calls_taken += 1
        member.last_call = int(self.now)
        self.busy.discard(leg.member.interface.raw)
        out = complete(call, self.now, self._member_status(leg.member, STATUS_NOT_INUSE))
        del self.calls[call.inner.uniqueid]
        return out + self._offer_interface(leg.member.interface.raw)

    def _ring_no_answer(self, call: CallScript) -> list[Headers]:
        leg = call.leg
        if leg is None:
            return []
        self.busy.discard(leg.member.interface.raw)
        free: list[Headers] = []
        if not leg.member.interface.is_local:
            free = self._member_status(leg.member, STATUS_NOT_INUSE)
        out = ring_no_answer(call, self.now, free)
        call.ready_at = self.now + self.config.retry
        self.at(call.ready_at, lambda: self.offer(call.queue))
        return out + self._offer_interface(leg.member.interface.raw)

    def _abandon(self, call: CallScript, original_position: int) -> list[Headers]:
        if call.inner.uniqueid not in self.calls or call.answered_at is not None:
            return []
        leg = call.leg
        free: list[Headers] = []
        if leg is not None:
            self.busy.discard(leg.member.interface.raw)
            if not leg.member.interface.is_local:
                free = self._member_status(leg.member, STATUS_NOT_INUSE)
        self.queues[call.queue].abandoned += 1
        line = self.waiting[call.queue]
        position = line.index(call) + 1
        line.remove(call)
        leave: list[Headers] = []
        if not line:
            leave.extend(self.devices.set(f"Queue:{call.queue}", "NOT_INUSE"))
        leave.append(call.leave(position, len(line)))
        del self.calls[call.inner.uniqueid]
        out = abandon(call, self.now, position, original_position, free, leave)
        if leg is not None:
            out.extend(self._offer_interface(leg.member.interface.raw))
        return out

    # -- views -------------------------------------------------------------------------

    def live_channels(self) -> list[Channel]:
        """Every live channel, oldest call first."""
        return [ch for call in self.calls.values() for ch in call.channels]

    def member_count(self) -> int:
        """Members over all queues."""
        return sum(len(q.members) for q in self.queues.values())

    def add_member(
        self,
        queue: str,
        interface: str,
        name: str | None = None,
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
        state_interface: str | None = None,
    ) -> tuple[Member, list[Headers]]:
        """QueueAdd. Raises NoSuchQueue, or ValueError if the interface is already there."""
        q = self.queues.get(queue)
        if q is None:
            raise NoSuchQueue(queue)
        if q.member(interface) is not None:
            raise ValueError(interface)
        iface = Interface(interface)
        now = int(self.now)
        member = Member(
            queue,
            iface,
            name or interface,
            state_interface or interface,
            penalty,
            now,
            paused=paused,
            paused_reason=reason if paused else "",
            last_pause=now if paused else 0,
            status=0 if state_interface and state_interface != interface else STATUS_NOT_INUSE,
        )
        if iface.raw in self.busy:
            member.status = STATUS_INUSE
        q.members.append(member)
        out = self.devices.pause(member)
        out.append(member.event("QueueMemberAdded"))
        out.extend(self.devices.avail(q))
        return member, out
