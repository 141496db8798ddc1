"""The reconciler: keeps a view of Asterisk's queue members and sends only the difference.

One pass per change: every trigger (a login, a pause, a resync, a member event that leaves a
seat different from its duty) sets one flag, and one owned loop plans against the freshest
view and sends. An action Asterisk refuses is logged with its own `Message` and retried
after `retry_s`, from a fresh `QueueStatus` (our view may have been wrong).

Only while `acting()` (this node holds the cluster lease) does it send anything: the check
is made again right before each action, so a node that lost the lease sends no other one.
A node that starts acting asks for `refresh()`: its next pass plans from a fresh
`QueueStatus`, never from what it followed while another node drove the members.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Final, Protocol

from cti.ami import AMIConnectionLost, AMIError, AMITimeout, Event, Header, Resync
from cti.state import Member, Membership, member_from_event
from queues.membership.models import SeatDuty
from queues.membership.reconcile import (
    MemberAction,
    MemberInterfaces,
    expect,
    plan,
    plan_member,
    wanted_in,
)

log = logging.getLogger(__name__)

_MEMBER_EVENTS: Final = frozenset(
    {"QueueMemberAdded", "QueueMemberStatus", "QueueMemberPause", "QueueMemberPenalty"}
)


class ActionSender(Protocol):
    """The AMI client as the reconciler uses it."""

    @property
    def connected(self) -> bool: ...

    async def send(self, name: str, fields: Iterable[Header] = ()) -> object: ...


class Reconciler:
    """Drives Asterisk's queue members towards the seats' duties (see the module docstring)."""

    def __init__(
        self,
        ami: ActionSender,
        interfaces: MemberInterfaces,
        duties: Callable[[], Mapping[str, SeatDuty]],
        *,
        keep_seat: Callable[[str], bool] = lambda seat: False,
        retry_s: float = 5.0,
        concurrency: int = 16,
        on_seat_changed: Callable[[str], None] = lambda seat: None,
        on_snapshot: Callable[[], None] = lambda: None,
        acting: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.actual = Membership()
        self.interfaces = interfaces
        self._ami = ami
        self._duties = duties
        self._keep_seat = keep_seat  # a seat another node drives: never removed from here
        self._retry_s = retry_s
        self._limit = asyncio.Semaphore(concurrency)
        self._on_seat_changed = on_seat_changed
        self._on_snapshot = on_snapshot  # after a refresh's QueueStatus is held
        self._acting = acting
        self._clock = clock
        self._dirty = asyncio.Event()
        self._refresh = False
        self.passes = 0
        self.sent = 0
        self.errors: list[str] = []  # the failures of the last pass, Asterisk's words
        self.settled = asyncio.Event()  # set after a pass that left nothing to do

    def wake(self) -> None:
        """Something changed: plan again (one pass however many times this is called)."""
        self.settled.clear()
        self._dirty.set()

    def refresh(self) -> None:
        """Plan the next pass from a fresh `QueueStatus` (a node that just started acting);
        while the link is down, the resync that follows the reconnect is that snapshot."""
        self._refresh = self._ami.connected
        self.wake()

    def member(self, queue: str, seat: str) -> Member | None:
        """Our view of one member, or None."""
        return next((m for m in self.actual.of_seat(seat) if m.queue == queue), None)

    def pending(self) -> list[MemberAction]:
        """What a pass would send now: the difference between the duties and our view."""
        duties = self._duties()
        return [
            a
            for a in plan(duties, self.actual.all(), self.interfaces)
            if a.name != "QueueRemove" or a.seat in duties or not self._keep_seat(a.seat)
        ]

    def on_event(self, event: Event) -> None:
        """Follow Asterisk's member events; wake when one leaves a seat off its duty."""
        if event.name not in _MEMBER_EVENTS and event.name != "QueueMemberRemoved":
            return
        member = member_from_event(event)
        if member is None:
            return
        before = self.member(member.queue, member.seat)
        now = self._clock()
        if event.name == "QueueMemberRemoved":
            self.actual.remove(member.queue, member.seat, now)
            current = None
        else:
            self.actual.put(member, now)
            current = member
        if _signature(before) != _signature(current):
            self._on_seat_changed(member.seat)
        duty = self._duties().get(member.seat)
        wanted = wanted_in(duty, member.queue)
        removes = not self._keep_seat(member.seat)
        if plan_member(duty, wanted, current, self.interfaces, remove_unknown=removes):
            self.wake()

    def on_resynced(self, resync: Resync) -> None:
        """A fresh snapshot after a (re)connect: hold it and plan at once."""
        self._hold_snapshot(resync.queue_status, resync.at.timestamp())
        self.wake()

    def _hold_snapshot(self, items: Iterable[Event], taken_at: float) -> None:
        members = [m for m in (member_from_event(e) for e in items if e.name == "QueueMember") if m]
        seats_before = {m.seat for m in self.actual.all()}
        self.actual.replace(members, taken_at)
        for seat in sorted(seats_before | {m.seat for m in members}):
            self._on_seat_changed(seat)

    async def run(self) -> None:
        """The owned loop: wait for a change, make one pass, repeat."""
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if not self._ami.connected:
                continue  # the resync after the reconnect wakes us again
            if not self._acting():
                continue  # another node drives the members; taking over wakes us
            try:
                await self._pass()
            except (AMIConnectionLost, AMITimeout) as exc:
                log.warning("member reconcile interrupted (%s); again after the resync", exc)

    async def _pass(self) -> None:
        if self._refresh:
            taken_at = self._clock()
            result = await self._ami.send("QueueStatus")
            self._hold_snapshot(getattr(result, "events", ()), taken_at)
            self._refresh = False
            self._on_snapshot()
        actions = self.pending()
        self.passes += 1
        if not actions:
            self.errors = []
            self.settled.set()
            return
        log.info("member reconcile: %d action(s)", len(actions))
        outcomes = await asyncio.gather(*(self._send(a) for a in actions))
        self.errors = [e for e in outcomes if e]
        if self.errors:
            self._refresh = True
            asyncio.get_running_loop().call_later(self._retry_s, self.wake)
        else:
            self._dirty.set()  # confirm: the next pass should find nothing to do

    async def _send(self, action: MemberAction) -> str | None:
        async with self._limit:
            if not self._acting():
                # The lease was lost during this pass: the new holder plans afresh.
                log.warning("member reconcile: not acting, %s not sent", action.describe())
                return None
            try:
                await self._ami.send(action.name, action.fields)
            except AMIError as exc:
                why = f"{action.describe()}: {exc.message or exc}"
                log.error("member reconcile: %s (retrying in %.0f s)", why, self._retry_s)
                return why
        self.sent += 1
        expect(action, self.actual, self._clock())
        self._on_seat_changed(action.seat)
        return None


def _signature(member: Member | None) -> tuple[object, ...] | None:
    if member is None:
        return None
    return (member.interface, member.paused, member.paused_reason, member.penalty)
