"""Desired against actual: the AMI actions that make Asterisk's queues what the seats want.

Pure functions over plain values (no I/O, no clock): `plan()` lists the actions, and
`expect()` applies an action that succeeded to our view of Asterisk, so that the next plan,
made before Asterisk's own QueueMember* event arrives, does not send it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from cti.ami import Header
from cti.state import Member, Membership
from queues.membership.models import SeatDuty, Wanted

# Device states in which the member is on, or being offered, a call (QueueMemberStatus).
_BUSY_STATUSES: Final = frozenset({2, 3, 6, 7, 8})  # in use, busy, ringing, ringinuse, on hold


@dataclass(frozen=True, slots=True)
class MemberInterfaces:
    """How a seat appears as a queue member in this deployment.

    `member` and `state` are templates with `{seat}`: `PJSIP/{seat}` in production,
    `Local/{seat}@agents/n` in the recordings' test bed. `state` (the device Asterisk
    watches to know the phone is busy) may be empty: then no StateInterface is sent.
    """

    member: str = "PJSIP/{seat}"
    state: str = ""

    def interface(self, seat: str) -> str:
        """The member interface of `seat`."""
        return self.member.format(seat=seat)

    def state_interface(self, seat: str) -> str | None:
        """The StateInterface of `seat`, or None when not configured."""
        return self.state.format(seat=seat) if self.state else None


@dataclass(frozen=True, slots=True)
class MemberAction:
    """One AMI action on one queue member, ready to send."""

    name: str
    queue: str
    seat: str
    fields: tuple[Header, ...]

    def describe(self) -> str:
        """`QueueAdd q-zh seat07` for logs and errors."""
        return f"{self.name} {self.queue} {self.seat}"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def busy(member: Member) -> bool:
    """Whether the member is on a call or ringing: it is not removed until that ends."""
    return member.in_call or member.status in _BUSY_STATUSES


def add(duty: SeatDuty, wanted: Wanted, ifaces: MemberInterfaces) -> MemberAction:
    """QueueAdd with penalty and pause in one action (as 16 does for a seat on a break)."""
    fields: list[Header] = [
        ("Queue", wanted.queue),
        ("Interface", ifaces.interface(duty.seat)),
        ("MemberName", duty.seat),
        ("Penalty", str(wanted.penalty)),
        ("Paused", _flag(duty.paused)),
    ]
    if duty.paused and duty.pbx_reason:
        fields.append(("Reason", duty.pbx_reason))
    state = ifaces.state_interface(duty.seat)
    if state:
        fields.append(("StateInterface", state))
    return MemberAction("QueueAdd", wanted.queue, duty.seat, tuple(fields))


def remove(member: Member) -> MemberAction:
    """QueueRemove of the member as Asterisk has it (its own interface)."""
    fields = (("Queue", member.queue), ("Interface", member.interface))
    return MemberAction("QueueRemove", member.queue, member.seat, fields)


def pause(duty: SeatDuty, member: Member) -> MemberAction:
    """QueuePause in one queue, with the reason the page and the wallboard show."""
    fields: list[Header] = [
        ("Queue", member.queue),
        ("Interface", member.interface),
        ("Paused", _flag(duty.paused)),
    ]
    if duty.paused and duty.pbx_reason:
        fields.append(("Reason", duty.pbx_reason))
    return MemberAction("QueuePause", member.queue, member.seat, tuple(fields))


def penalty(wanted: Wanted, member: Member) -> MemberAction:
    """QueuePenalty in one queue."""
    fields = (
        ("Interface", member.interface),
        ("Penalty", str(wanted.penalty)),
        ("Queue", member.queue),
    )
    return MemberAction("QueuePenalty", member.queue, member.seat, fields)


def plan_member(
    duty: SeatDuty | None,
    wanted: Wanted | None,
    member: Member | None,
    ifaces: MemberInterfaces,
    *,
    remove_unknown: bool = True,
) -> list[MemberAction]:
    """The actions for one (queue, seat): `wanted` None means the seat should not be in it."""
    if duty is None or wanted is None:
        if member is None or not member.dynamic or busy(member):
            return []  # static members are queues.conf's; a busy one goes when the call ends
        return [remove(member)] if (duty is not None or remove_unknown) else []
    if member is None:
        return [add(duty, wanted, ifaces)]
    if member.interface.lower() != ifaces.interface(duty.seat).lower():
        if not member.dynamic or busy(member):
            return []
        return [remove(member), add(duty, wanted, ifaces)]
    actions: list[MemberAction] = []
    if member.penalty != wanted.penalty:
        actions.append(penalty(wanted, member))
    reason = duty.pbx_reason if duty.paused else ""
    if member.paused != duty.paused or (duty.paused and member.paused_reason != reason):
        actions.append(pause(duty, member))
    return actions


def plan(
    duties: Mapping[str, SeatDuty],
    actual: Iterable[Member],
    ifaces: MemberInterfaces,
    *,
    remove_unknown: bool = True,
) -> list[MemberAction]:
    """Every action that turns `actual` into what `duties` (by seat) want, and no other.

    Idempotent: planning again against the result gives nothing. A member that is on a call
    is never removed (it is planned again when its status changes); static members are left
    alone; with `remove_unknown`, dynamic members of seats nobody is logged in at are
    removed (the server owns who takes calls).
    """
    by_key = {(m.queue, m.seat): m for m in actual}
    actions: list[MemberAction] = []
    for duty in duties.values():
        for wanted in duty.queues:
            member = by_key.pop((wanted.queue, duty.seat), None)
            actions += plan_member(duty, wanted, member, ifaces)
    for member in by_key.values():
        actions += plan_member(
            duties.get(member.seat), None, member, ifaces, remove_unknown=remove_unknown
        )
    return actions


def wanted_in(duty: SeatDuty | None, queue: str) -> Wanted | None:
    """The seat's wish for `queue`, or None when the seat should not be in it."""
    if duty is None:
        return None
    return next((w for w in duty.queues if w.queue == queue), None)


def expect(action: MemberAction, actual: Membership, now: float) -> None:
    """Apply an action Asterisk accepted to our view of its members."""
    fields = dict(action.fields)
    key_member = next((m for m in actual.of_seat(action.seat) if m.queue == action.queue), None)
    if action.name == "QueueRemove":
        actual.remove(action.queue, action.seat, now)
    elif action.name == "QueueAdd":
        actual.put(
            Member(
                queue=action.queue,
                seat=action.seat,
                interface=fields["Interface"],
                status=0,
                paused=fields.get("Paused") == "true",
                paused_reason=fields.get("Reason", ""),
                penalty=int(fields.get("Penalty", "0")),
            ),
            now,
        )
    elif key_member is not None and action.name == "QueuePause":
        paused = fields.get("Paused") == "true"
        reason = fields.get("Reason", "") if paused else ""
        actual.put(replace(key_member, paused=paused, paused_reason=reason), now)
    elif key_member is not None and action.name == "QueuePenalty":
        actual.put(replace(key_member, penalty=int(fields["Penalty"])), now)
