"""Queues and members as app_queue keeps them, and the events their changes produce."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from cti.ami import Header
from cti.sim.channels import PRIV_AGENT, Headers, device_state, event

# Member device status numbers as app_queue reports them.
STATUS_NOT_INUSE: Final = 1
STATUS_INUSE: Final = 2
STATUS_RINGING: Final = 6
DEFAULT_QUEUES: Final = ("q-zh", "q-en", "q-ko")
SERVICE_LEVEL_S: Final = 15  # q-zh's `servicelevel` (18): the hotline's 15 s promise


@dataclass(frozen=True, slots=True)
class Interface:
    """What a member interface dials: `Local/seat07@agents/n` or `PJSIP/seat07`."""

    raw: str

    @property
    def is_local(self) -> bool:
        """True for a Local channel member (the recordings' 01-12 shape)."""
        return self.raw.startswith("Local/")

    @property
    def device(self) -> str:
        """The device whose state Asterisk reports (`Local/seat07@agents`, `PJSIP/seat07`)."""
        return self.raw.removesuffix("/n")

    @property
    def exten(self) -> str:
        """The extension a Local member runs (`seat07`), or the PJSIP endpoint name."""
        rest = self.device.split("/", 1)[1]
        return rest.split("@", 1)[0]

    @property
    def context(self) -> str:
        """The dialplan context the agent leg starts in."""
        rest = self.device.split("/", 1)[1]
        return rest.split("@", 1)[1] if "@" in rest else "agents-sip"

    @property
    def dialed_peer(self) -> str:
        """The `DIALEDPEERNUMBER` value: `seat07@agents/n` or `seat07`."""
        return self.raw.split("/", 1)[1]


@dataclass(slots=True)
class Member:
    """A queue member (dynamic: added over AMI, gone after a restart)."""

    queue: str
    interface: Interface
    name: str
    state_interface: str
    penalty: int
    login_time: int
    paused: bool = False
    paused_reason: str = ""
    last_pause: int = 0
    calls_taken: int = 0
    last_call: int = 0
    status: int = STATUS_NOT_INUSE

    @property
    def available(self) -> bool:
        """Can take a call now (what the `Queue:q_avail` device reflects)."""
        return not self.paused and self.status in (0, STATUS_NOT_INUSE)

    def fields(self) -> list[Header]:
        """The member fields of QueueMemberAdded/Status/Pause/Penalty/Removed."""
        return [
            ("Queue", self.queue),
            ("MemberName", self.name),
            ("Interface", self.interface.raw),
            ("StateInterface", self.state_interface),
            *self._standing(),
            ("Ringinuse", "0"),
            ("Wrapuptime", "0"),
        ]

    def event(self, name: str) -> Headers:
        """A member event (`QueueMemberStatus`...) with the member fields."""
        return event(name, PRIV_AGENT, self.fields())

    def status_entry(self) -> list[Header]:
        """The fields of a `QueueMember` list item (QueueStatus)."""
        return [
            ("Queue", self.queue),
            ("Name", self.name),
            ("Location", self.interface.raw),
            ("StateInterface", self.state_interface),
            *self._standing(),
            ("Wrapuptime", "0"),
        ]

    def _standing(self) -> list[Header]:
        # The run both shapes share, in the order Asterisk writes it.
        return [
            ("Membership", "dynamic"),
            ("Penalty", str(self.penalty)),
            ("CallsTaken", str(self.calls_taken)),
            ("LastCall", str(self.last_call)),
            ("LastPause", str(self.last_pause)),
            ("LoginTime", str(self.login_time)),
            ("InCall", "1" if self.status in (2, 3, 8) else "0"),
            ("Status", str(self.status)),
            ("Paused", "1" if self.paused else "0"),
            ("PausedReason", self.paused_reason),
        ]


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """A queue's counters at one moment (the simulator's truth a test compares with)."""

    joined: int
    answered: int
    answered_in_level: int
    completed: int
    abandoned: int


@dataclass(slots=True)
class Queue:
    """A queue: members in join order, the rrmemory cursor and the counters QueueParams shows."""

    name: str
    strategy: str = "rrmemory"
    members: list[Member] = field(default_factory=list)
    last_rung: str | None = None
    completed: int = 0
    abandoned: int = 0
    total_hold: float = 0.0
    total_talk: float = 0.0
    # The model's own truth, beside what QueueParams shows: callers who joined, were
    # answered, and were answered within `SERVICE_LEVEL_S` (by the HoldTime they report).
    joined: int = 0
    answered: int = 0
    answered_in_level: int = 0

    def member(self, interface: str) -> Member | None:
        """The member with this interface, if any."""
        for m in self.members:
            if m.interface.raw == interface:
                return m
        return None

    def next_member(self, busy: set[str]) -> Member | None:
        """rrmemory: among unpaused members not `busy` (ringing or talking, by interface) of
        the lowest penalty, the one after the member rung last (join order), wrapping round."""
        free = [m for m in self.members if not m.paused and m.interface.raw not in busy]
        if not free:
            return None
        lowest = min(m.penalty for m in free)
        group = [m for m in free if m.penalty == lowest]
        order = [m.interface.raw for m in self.members]
        start = order.index(self.last_rung) + 1 if self.last_rung in order else 0
        group.sort(key=lambda m: (order.index(m.interface.raw) - start) % len(order))
        chosen = group[0]
        self.last_rung = chosen.interface.raw
        return chosen

    def counts(self) -> QueueCounts:
        """The counters now."""
        return QueueCounts(
            self.joined, self.answered, self.answered_in_level, self.completed, self.abandoned
        )

    def avg_hold(self) -> int:
        """Average hold time of answered calls, whole seconds."""
        return round(self.total_hold / self.completed) if self.completed else 0

    def avg_talk(self) -> int:
        """Average talk time of completed calls, whole seconds."""
        return round(self.total_talk / self.completed) if self.completed else 0


@dataclass(slots=True)
class DeviceStates:
    """Last reported state of queue pseudo-devices: Asterisk reports only changes."""

    known: dict[str, str] = field(default_factory=dict)

    def set(self, device: str, state: str) -> list[Headers]:
        """A `DeviceStateChange` if the state changed, else nothing."""
        if self.known.get(device) == state:
            return []
        self.known[device] = state
        return [device_state(device, state)]

    def avail(self, queue: Queue) -> list[Headers]:
        """Recompute `Queue:<q>_avail` (NOT_INUSE while some member can take a call)."""
        free = any(m.available for m in queue.members)
        return self.set(f"Queue:{queue.name}_avail", "NOT_INUSE" if free else "INUSE")

    def pause(self, member: Member) -> list[Headers]:
        """`Queue:<q>_pause_<iface>` follows the pause flag."""
        device = f"Queue:{member.queue}_pause_{member.interface.raw}"
        return self.set(device, "INUSE" if member.paused else "NOT_INUSE")
