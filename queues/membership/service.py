"""The duty service: each seat's agent, queues and pause, kept, published and driven.

What it promises:
- Login puts the agent's seat in the queues of their languages (penalty by level), logout
  or a newer login elsewhere takes it out (never mid-call: the reconciler waits).
- Ready / pause with a reason, in every queue of the seat.
- A call answered while ready pauses the seat with `after-call-work` at once (Asterisk
  cannot ring it the moment the call ends); when the call completes, after-call work lasts
  until the wrap-up is saved or `acw_timeout_s` passes, then the seat is ready again.
- Every change is saved (a pause survives a restart of the server and of Asterisk), its
  time is logged per agent and state, and the agent's consoles get a `duty` message; every
  console gets `pbx` when the telephone system goes down or comes back.
- Several nodes: only while `acting()` (this node holds the cluster lease) does it change a
  duty, send to Asterisk, save or publish. Meanwhile it holds a `mirror` of the saved duties
  for reads; `take_over()` loads them and compares the members with a fresh QueueStatus.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from cti.ami import Event, LinkState, Resync
from cti.state import member_seat
from queues.membership.models import (
    HOLD_REASONS,
    PAUSE_REASONS,
    DutyStatus,
    SeatDuty,
    Wanted,
)
from queues.membership.reconcile import MemberInterfaces
from queues.membership.reconciler import ActionSender, Reconciler
from queues.membership.store import DutyStore
from queues.registry import language_of_queue, queue_for_language

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


class Publisher(Protocol):
    """The bus as the duty service uses it."""

    async def publish(self, agent_id: str, message: dict[str, Any]) -> int: ...


class Skill(Protocol):
    """A language an agent speaks, with its queue penalty (`seats.LanguageSkill`)."""

    @property
    def language(self) -> str: ...
    @property
    def penalty(self) -> int: ...


class NotOnDuty(LookupError):
    """The agent is not logged in at any seat."""


class BadPauseReason(ValueError):
    """A pause reason that is not one of PAUSE_REASONS."""


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def queues_for(skills: Iterable[Skill]) -> tuple[Wanted, ...]:
    """The queues an agent serves: one per language, the level's penalty (native 0…)."""
    wanted = []
    for skill in skills:
        queue = queue_for_language(skill.language)
        if queue is not None:
            wanted.append(Wanted(queue.name, skill.penalty))
    return tuple(wanted)


class MembershipService:
    """See the module docstring. Start with `await restore()`, run `run()` as an owned task."""

    def __init__(
        self,
        ami: ActionSender,
        publisher: Publisher,
        store: DutyStore,
        *,
        interfaces: MemberInterfaces,
        acw_timeout_s: float = 60.0,
        retry_s: float = 5.0,
        keep_seat: Callable[[str], bool] = lambda seat: False,
        acting: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._publisher = publisher
        self._acting = acting
        self._in_charge = True  # False from `stand_down()` until `take_over()` loaded
        self._store = store
        self._acw_timeout_s = acw_timeout_s
        self._clock = clock
        self._duties: dict[str, SeatDuty] = {}
        self._outbox: asyncio.Queue[Job] = asyncio.Queue()
        self._timers = asyncio.Event()
        self._to_publish: set[str] = set()
        self.pbx = LinkState(False, datetime.now(UTC), "not connected yet")
        self.reconciler = Reconciler(
            ami,
            interfaces,
            lambda: self._duties,
            keep_seat=keep_seat,
            retry_s=retry_s,
            on_seat_changed=self._seat_changed,
            on_snapshot=self._settle_calls,
            acting=self.in_charge,
            clock=clock,
        )
        self._settle_after_snapshot = False

    # -- lifecycle -------------------------------------------------------------------------

    async def restore(self) -> list[SeatDuty]:
        """Load the saved duties (a restart of the server keeps who sits where, and pauses);
        they replace whatever was held (a mirror of another node's)."""
        self._duties = {duty.seat: duty for duty in await self._store.load()}
        if self._duties:
            log.info("duty restored for %d seat(s)", len(self._duties))
        return list(self._duties.values())

    def mirror(self, duties: Iterable[SeatDuty]) -> None:
        """Hold `duties` as they are (another node acts and saved them): for reads only,
        nothing is saved, published or sent. Ignored while this node acts."""
        if self.in_charge():
            return
        self._duties = {duty.seat: duty for duty in duties}

    async def follow_saved(self) -> None:
        """Mirror the duties the acting node saved (a no-op while this node acts)."""
        if not self.in_charge():
            self.mirror(await self._store.load())

    def in_charge(self) -> bool:
        """Whether this node drives the duty now: acting, and its duties loaded."""
        return self._in_charge and self._acting()

    def stand_down(self) -> None:
        """Stop changing, saving, publishing and sending at once (the lease was lost, or
        is about to be taken over: nothing may change before the saved duties are loaded)."""
        self._in_charge = False

    async def take_over(self) -> list[SeatDuty]:
        """This node starts acting: load the saved duties, and plan the members from a
        fresh QueueStatus (a call that began or ended while no node acted is settled from
        it); the after-call-work timers start again. Returns the duties loaded."""
        self._in_charge = False  # events meanwhile must not change what is being replaced
        restored = await self.restore()
        self._in_charge = True
        self._settle_after_snapshot = True
        self.reconciler.refresh()
        self._timers.set()
        return restored

    async def run(self) -> None:
        """The owned work: the reconciler, the after-call-work timers and the outbox."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.reconciler.run(), name="member-reconciler")
            group.create_task(self._expire_acw(), name="acw-timers")
            group.create_task(self._drain(), name="duty-outbox")

    async def drained(self, timeout_s: float | None = None) -> bool:
        """Wait until every queued save and message is done; False if `timeout_s` passed."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._outbox.join()
        except TimeoutError:
            log.error("duty: %d save(s)/message(s) not done in time", self._outbox.qsize())
            return False
        return True

    # -- what agents do --------------------------------------------------------------------

    def duty_of(self, agent: str) -> SeatDuty | None:
        """The agent's duty, or None when they are not at a seat."""
        return next((d for d in self._duties.values() if d.agent == agent), None)

    def duties(self) -> list[SeatDuty]:
        """Every seat's duty, by seat."""
        return sorted(self._duties.values(), key=lambda d: d.seat)

    def login(self, agent: str, seat: str, skills: Iterable[Skill]) -> SeatDuty:
        """Put the agent at the seat in their queues; a pause they had is kept."""
        now = self._clock()
        previous = self.duty_of(agent)
        if previous is not None and previous.seat != seat:
            self._end(previous, now)
        queues = queues_for(skills)
        if previous is not None:
            duty = replace(previous, seat=seat, queues=queues)
        else:
            duty = SeatDuty(seat=seat, agent=agent, queues=queues, since=now)
        displaced = self._duties.get(seat)
        if displaced is not None and displaced.agent != agent:
            self._log_period(displaced, now)
            duty = replace(duty, since=now)
        self._put(duty, now)
        log.info("duty: agent=%s seat=%s queues=%s", agent, seat, [w.queue for w in queues])
        return duty

    def requeue(self, agent: str, queues: Iterable[Wanted]) -> SeatDuty | None:
        """Give a logged-in agent other queues/penalties (an administrator's change, a shift
        change); Asterisk follows at once, a seat on a call is taken out of a queue after
        the call. None when the agent is not at a seat (the change applies at their login)."""
        duty = self.duty_of(agent)
        if duty is None:
            return None
        wanted = tuple(queues)
        if wanted == duty.queues:
            return duty
        log.info("duty: agent=%s queues now %s", agent, [(w.queue, w.penalty) for w in wanted])
        return self._put(replace(duty, queues=wanted), self._clock())

    def logout(self, agent: str) -> None:
        """Take the agent's seat out of its queues (after the current call, if any)."""
        duty = self.duty_of(agent)
        if duty is not None:
            self._end(duty, self._clock())

    def pause(self, agent: str, reason: str) -> SeatDuty:
        """Pause the agent in all their queues with one of PAUSE_REASONS."""
        if reason not in PAUSE_REASONS:
            raise BadPauseReason(f"`reason` must be one of {', '.join(PAUSE_REASONS)}")
        duty = self._duty(agent)
        now = self._clock()
        return self._put(duty.moved("paused", now, reason), now)

    def ready(self, agent: str) -> SeatDuty:
        """Make the agent ready in all their queues (also ends after-call work early)."""
        duty = self._duty(agent)
        now = self._clock()
        status: DutyStatus = "on_call" if duty.calls else "ready"
        return self._put(duty.moved(status, now), now)

    def hold(self, agent: str, reason: str) -> bool:
        """Hold a ready seat out of the ring list for work the server started for the agent
        (`callback`: placing a callback rings their phone first); an agent's own pause or a
        call in progress is left as it is. True when the seat is now held for `reason`."""
        if reason not in HOLD_REASONS:
            raise BadPauseReason(f"hold reason must be one of {', '.join(HOLD_REASONS)}")
        duty = self.duty_of(agent)
        if duty is None or duty.status not in ("ready", "after_call_work"):
            return False
        now = self._clock()
        self._put(duty.moved("paused", now, reason), now)
        return True

    def release(self, agent: str, reason: str) -> None:
        """End a `hold` for `reason` (an agent's own pause meanwhile is kept)."""
        duty = self.duty_of(agent)
        if duty is not None and duty.status == "paused" and duty.reason == reason:
            now = self._clock()
            self._put(duty.moved("on_call" if duty.calls else "ready", now), now)

    def wrapup_saved(self, agent: str, call_id: str) -> None:
        """The agent saved a wrap-up: after-call work for that call (or any) ends."""
        duty = self.duty_of(agent)
        if duty is None or duty.status != "after_call_work":
            return
        if duty.acw_call_id not in (None, call_id):
            return  # a wrap-up of an older call: this one still needs its own
        now = self._clock()
        self._put(duty.moved("ready", now), now)

    def view(self, duty: SeatDuty) -> dict[str, Any]:
        """The duty as the page shows it (the body of the `duty` message)."""
        queues = []
        for wanted in duty.queues:
            member = self.reconciler.member(wanted.queue, duty.seat)
            queues.append(
                {
                    "queue": wanted.queue,
                    "language": language_of_queue(wanted.queue),
                    "penalty": wanted.penalty,
                    "member": member is not None,
                    "paused": member.paused if member else None,
                    "status": member.status_text if member else None,
                }
            )
        return {
            "agent": duty.agent,
            "seat": duty.seat,
            "status": duty.status,
            "reason": duty.reason if duty.status == "paused" else (duty.pbx_reason or None),
            "since": _iso(duty.since),
            "acw_until": _iso(duty.acw_until),
            "acw_call_id": duty.acw_call_id,
            "queues": queues,
            "pbx": self._pbx_view(),
        }

    def announce(self, agent: str) -> None:
        """Send the agent's current duty to their consoles (a page that just connected)."""
        duty = self.duty_of(agent)
        if duty is not None:
            self._publish(duty)

    # -- what Asterisk tells us ------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """AgentConnect / AgentComplete drive after-call work; member events the reconciler."""
        if event.name in ("AgentConnect", "AgentComplete") and self.in_charge():
            seat = member_seat(event.get("Interface") or "", event.get("MemberName"))
            duty = self._duties.get(seat) if seat else None
            if duty is not None:
                call_id = event.get("Uniqueid") or event.get("Linkedid") or ""
                if event.name == "AgentConnect":
                    self._call_started(duty, call_id)
                else:
                    self._call_ended(duty, call_id)
        self.reconciler.on_event(event)

    def on_resynced(self, resync: Resync) -> None:
        """Hold Asterisk's members as they are now; a call that ended meanwhile ends here."""
        self.reconciler.on_resynced(resync)
        if not self.in_charge():
            return
        self._settle_calls()  # a takeover's snapshot, when the link was down at the time
        for duty in list(self._duties.values()):
            if duty.calls and not any(m.in_call for m in self.reconciler.actual.of_seat(duty.seat)):
                self._call_ended(replace(duty, calls=duty.calls[-1:]), duty.calls[-1])

    def on_link(self, link: LinkState) -> None:
        """Tell every agent at once when the telephone system goes down or comes back."""
        self.pbx = link
        log.log(logging.INFO if link.live else logging.WARNING, "pbx: %s", link.describe())
        if not self.in_charge():
            return  # the acting node tells the agents (its link is the one that drives)
        message = {"type": "pbx", **self._pbx_view()}
        for duty in self._duties.values():
            self._later(functools.partial(self._publisher.publish, duty.agent, dict(message)))

    # -- inside ----------------------------------------------------------------------------

    def _settle_calls(self) -> None:
        """After the fresh QueueStatus of a takeover: the saved duties know no open call ids,
        so a call that began or ended while no node acted is read from the members."""
        if not self._settle_after_snapshot or not self.in_charge():
            return
        self._settle_after_snapshot = False
        for duty in list(self._duties.values()):
            in_call = any(m.in_call for m in self.reconciler.actual.of_seat(duty.seat))
            if in_call and duty.status in ("ready", "after_call_work") and not duty.calls:
                self._call_started(duty, "")  # ended by the seat's next AgentComplete
            elif not in_call and (duty.status == "on_call" or duty.calls):
                self._call_ended(replace(duty, calls=duty.calls[-1:]), "")

    def _call_started(self, duty: SeatDuty, call_id: str) -> None:
        now = self._clock()
        calls = (*duty.calls, call_id)
        if duty.status in ("ready", "after_call_work"):
            self._put(replace(duty.moved("on_call", now), calls=calls), now)
        else:
            self._put(replace(duty, calls=calls), now)

    def _call_ended(self, duty: SeatDuty, call_id: str) -> None:
        now = self._clock()
        calls = list(duty.calls)
        if call_id in calls:
            calls.remove(call_id)
        elif calls:
            calls.pop(0)  # AgentComplete without Uniqueid: the member's oldest open call
        if duty.status != "on_call" or calls:
            self._put(replace(duty, calls=tuple(calls)), now)
            return
        if self._acw_timeout_s <= 0:
            self._put(replace(duty.moved("ready", now), calls=()), now)
            return
        acw = replace(
            duty.moved("after_call_work", now),
            acw_until=now + self._acw_timeout_s,
            acw_call_id=call_id or None,
            calls=(),
        )
        self._put(acw, now)

    def _duty(self, agent: str) -> SeatDuty:
        duty = self.duty_of(agent)
        if duty is None:
            raise NotOnDuty(f"agent {agent} is not logged in at a seat")
        return duty

    def _put(self, duty: SeatDuty, now: float) -> SeatDuty:
        previous = self._duties.get(duty.seat)
        # A displaced agent's period is logged where the displacement is (`login`).
        same_agent = previous is not None and previous.agent == duty.agent
        if (
            same_agent
            and previous
            and (previous.status, previous.reason)
            != (
                duty.status,
                duty.reason,
            )
        ):
            self._log_period(previous, now)
        self._duties[duty.seat] = duty
        self._later(lambda: self._store.save(duty))
        self._publish(duty)
        self.reconciler.wake()
        self._timers.set()
        return duty

    def _end(self, duty: SeatDuty, now: float) -> None:
        self._log_period(duty, now)
        del self._duties[duty.seat]
        self._later(lambda: self._store.delete(duty.seat))
        self.reconciler.wake()
        log.info("duty ended: agent=%s seat=%s", duty.agent, duty.seat)

    def _log_period(self, duty: SeatDuty, now: float) -> None:
        self._later(lambda: self._store.log_period(duty, now))

    def _publish(self, duty: SeatDuty) -> None:
        if not self.in_charge():
            return  # the acting node publishes (a member event here would send it twice)
        # Coalesced: a burst of changes to one seat (a restart re-adding three queues, each
        # confirmed by an event) is one message with the latest state, not six.
        if not self._to_publish:
            self._later(self._publish_pending)
        self._to_publish.add(duty.seat)

    async def _publish_pending(self) -> None:
        seats, self._to_publish = self._to_publish, set()
        for seat in sorted(seats):
            duty = self._duties.get(seat)
            if duty is not None:
                await self._publisher.publish(duty.agent, {"type": "duty", **self.view(duty)})

    def _seat_changed(self, seat: str) -> None:
        duty = self._duties.get(seat)
        if duty is not None:
            self._publish(duty)

    def _pbx_view(self) -> dict[str, Any]:
        return {
            "status": "live" if self.pbx.live else "down",
            "since": self.pbx.since.isoformat(),
            "reason": None if self.pbx.live else self.pbx.describe(),
        }

    def _later(self, job: Job) -> None:
        self._outbox.put_nowait(job)

    async def _drain(self) -> None:
        while True:
            job = await self._outbox.get()
            try:
                if not self.in_charge():
                    # The lease was lost since: the new holder's saves must not be undone.
                    log.warning("duty: not acting any more, a save or message dropped")
                    continue
                await job()
            except Exception:
                log.exception("duty: a save or message failed")
            finally:
                self._outbox.task_done()

    async def _expire_acw(self) -> None:
        while True:
            now = self._clock()
            acting = self.in_charge()  # not acting: the acting node ends after-call work
            timed = [d for d in self._duties.values() if acting and d.acw_until is not None]
            for duty in timed:
                if duty.status == "after_call_work" and duty.acw_until and duty.acw_until <= now:
                    log.info("after-call work over: agent=%s seat=%s", duty.agent, duty.seat)
                    self._put(duty.moved("ready", now), now)
            upcoming = [
                d.acw_until for d in self._duties.values() if acting and d.acw_until is not None
            ]
            self._timers.clear()
            wait = max(0.0, min(upcoming) - now) + 0.01 if upcoming else None
            try:
                async with asyncio.timeout(wait):
                    await self._timers.wait()
            except TimeoutError:
                pass
