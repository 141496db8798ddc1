"""Queue membership: which seat is in which queue, paused or not, and its device status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from cti.ami import Event
from cti.state.text import member_seat

# Asterisk device states as QueueMemberStatus reports them.
DEVICE_STATUS: Final = {
    0: "unknown",
    1: "not_in_use",
    2: "in_use",
    3: "busy",
    4: "invalid",
    5: "unavailable",
    6: "ringing",
    7: "ringinuse",
    8: "onhold",
}


@dataclass(frozen=True, slots=True)
class Member:
    """One seat's membership of one queue."""

    queue: str
    seat: str
    interface: str
    status: int
    paused: bool
    paused_reason: str
    penalty: int = 0
    in_call: bool = False
    dynamic: bool = True  # `Membership: static` members come from queues.conf

    @property
    def status_text(self) -> str:
        """The device status as a word (`ringing`, `in_use`...)."""
        return DEVICE_STATUS.get(self.status, "unknown")

    def as_dict(self) -> dict[str, Any]:
        """The member as it appears in `state` and broadcast messages."""
        return {
            "queue": self.queue,
            "seat": self.seat,
            "status": self.status_text,
            "paused": self.paused,
            "paused_reason": self.paused_reason or None,
        }


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def member_from_event(event: Event) -> Member | None:
    """A Member from QueueMemberAdded/Status/Pause/Removed or a QueueStatus `QueueMember`.

    The live events say `Interface`/`MemberName`; QueueStatus says `Location`/`Name`.
    None when the event names no queue or no seat.
    """
    queue = event.get("Queue")
    interface = event.get("Interface") or event.get("Location") or ""
    seat = member_seat(interface, event.get("MemberName") or event.get("Name"))
    if not queue or seat is None:
        return None
    return Member(
        queue=queue,
        seat=seat,
        interface=interface,
        status=_int(event.get("Status")),
        paused=event.get("Paused") == "1",
        paused_reason=event.get("PausedReason") or "",
        penalty=_int(event.get("Penalty")),
        in_call=event.get("InCall") == "1",
        dynamic=event.get("Membership") != "static",
    )


class Membership:
    """Members by (queue, seat), with when each was last changed by a live event."""

    def __init__(self) -> None:
        self._members: dict[tuple[str, str], Member] = {}
        self._by_seat: dict[str, dict[str, Member]] = {}  # seat -> queue -> member
        self._changed_at: dict[tuple[str, str], float] = {}  # removals kept as tombstones

    def put(self, member: Member, now: float = 0.0) -> Member | None:
        """Add or update a member; returns the previous one."""
        key = (member.queue, member.seat)
        previous = self._members.get(key)
        self._members[key] = member
        self._by_seat.setdefault(member.seat, {})[member.queue] = member
        self._changed_at[key] = now
        return previous

    def remove(self, queue: str, seat: str, now: float = 0.0) -> Member | None:
        """Remove a member; returns it (None when it was not there)."""
        self._changed_at[(queue, seat)] = now
        queues = self._by_seat.get(seat)
        if queues is not None:
            queues.pop(queue, None)
            if not queues:
                del self._by_seat[seat]
        return self._members.pop((queue, seat), None)

    def of_seat(self, seat: str) -> list[Member]:
        """The seat's memberships, by queue name."""
        queues = self._by_seat.get(seat)
        return [queues[q] for q in sorted(queues)] if queues else []

    def seats(self) -> set[str]:
        """Every seat that is a member of some queue."""
        return set(self._by_seat)

    def all(self) -> list[Member]:
        """Every member, by queue then seat."""
        return sorted(self._members.values(), key=lambda m: (m.queue, m.seat))

    def replace(self, members: list[Member], taken_at: float) -> None:
        """Hold the members of a snapshot taken at `taken_at` (a resync).

        A member a live event changed (or removed) after `taken_at` keeps what that event
        said: the snapshot is older than it.
        """
        newer = {k for k, at in self._changed_at.items() if at > taken_at}
        result = {(m.queue, m.seat): m for m in members if (m.queue, m.seat) not in newer}
        for key in newer:
            if key in self._members:
                result[key] = self._members[key]
        self._members = result
        self._by_seat = {}
        for member in result.values():
            self._by_seat.setdefault(member.seat, {})[member.queue] = member
        self._changed_at = {k: at for k, at in self._changed_at.items() if k in newer}

    def signature(self, seat: str) -> tuple[tuple[str, bool, str], ...]:
        """What an agent's `state` message shows: queues and pauses (not device status)."""
        return tuple((m.queue, m.paused, m.paused_reason) for m in self.of_seat(seat))
