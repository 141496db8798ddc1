"""The callback list: abandoned callers in, agents claim and place them, outcomes recorded.

- `on_call_finished(record, resident_ids, emergency)` (from the call state): an abandoned
  call enters the list (emergency first, then registered elderly, each with a deadline);
  an answered call from a number with an open callback clears it.
- `claim` / `release` / `place` / `record` (from the agents' HTTP routes). `place` sends one
  `Originate` (`idempotent=False`: never re-sent after a reconnect) and returns; the result
  comes from AMI events (`on_event`), or `lost` when the link drops or nothing comes.
- `changed(version)` wakes the pages' long polls.
Writes that follow AMI events go through one owned task (`run()`), in order.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from cti import Changes
from cti.ami import AMIConnectionLost, AMIError, AMITimeout, Event, Header
from cti.callbacks.models import (
    CLOSING_OUTCOMES,
    FAILED_TO_REACH,
    MAX_NOTE,
    OUTCOMES,
    PRIORITY_ELDERLY,
    PRIORITY_EMERGENCY,
    PRIORITY_OTHER,
    Callback,
)
from cti.callbacks.numbers import dialable
from cti.callbacks.placing import AttemptWatch, Ended, Finished, originate_fields
from cti.callbacks.store import CallbackStore
from cti.settings import CallbacksSettings
from cti.state import CallRecord, MatchLike

log = logging.getLogger(__name__)
EMERGENCY_QUEUE = "q-duty"  # the IVR's 9: the duty officer's queue
CLOSED_SHOWN_S = 3600.0  # a closed callback stays on the list an hour, for the record
TICK_S = 5.0


class CallbackError(Exception):
    """Base of what `CallbackService` refuses; the message is for the agent."""


class CallbackNotFound(CallbackError, LookupError):
    """No callback with this id."""


class NotYours(CallbackError):
    """Claimed by another agent, or not claimed by this one."""


class CannotPlace(CallbackError):
    """The callback cannot be placed now (no seat, on a call, a placement in progress, a
    number that may not be dialled)."""


class PlacementFailed(CallbackError):
    """Asterisk refused the Originate, or the link dropped with it in flight."""


class OriginateSender(Protocol):
    """The AMI client's `send` (`cti.ami.AMIClient`)."""

    async def send(
        self, name: str, fields: Sequence[Header], *, idempotent: bool = True
    ) -> object: ...


class Locator(Protocol):
    """`locator.Locator.lookup`."""

    def lookup(self, raw_caller_id: str | None) -> MatchLike: ...


class AmiFeed(Protocol):
    """The AMI client's handler registration (`cti.ami.AMIClient`)."""

    def subscribe(self, handler: Callable[[Event], None]) -> Callable[[], None]: ...

    def on_link(self, handler: Callable[[Any], None]) -> Callable[[], None]: ...


@dataclass(frozen=True, slots=True)
class Seat:
    """Where the agent sits and whether they can take a callback now."""

    seat: str
    busy: bool  # on a call


SeatOf = Callable[[str], Seat | None]
Job = Callable[[], Awaitable[None]]


async def _no_hold(agent: str, on: bool) -> None:
    """No duty service: nothing to hold."""


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class CallbackService:
    """The callback list and its placements (see the module docstring)."""

    def __init__(
        self,
        store: CallbackStore,
        ami: OriginateSender | None,
        settings: CallbacksSettings,
        *,
        locator: Locator | None = None,
        seat_of: SeatOf = lambda agent: None,
        hold: Callable[[str, bool], Awaitable[None]] | None = None,
        region: str = "CN",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self._ami = ami
        self.settings = settings
        self._locator = locator
        self._seat_of = seat_of
        self._hold = hold or _no_hold  # the seat out of the ring list while a callback is on
        self._region = region
        self._clock = clock
        self._watch = AttemptWatch()
        self._jobs: asyncio.Queue[Job] = asyncio.Queue()
        self._changes = Changes()

    @property
    def locator(self) -> Locator | None:
        """The registry the list reads residents from (None: no registry)."""
        return self._locator

    def attach(self, ami: OriginateSender, feed: AmiFeed) -> None:
        """Place through `ami` and follow its events and link (the PBX link calls this)."""
        self._ami = ami
        feed.subscribe(self.on_event)
        feed.on_link(self.on_link)

    # -- the list --------------------------------------------------------------------

    def on_call_finished(
        self, record: CallRecord, resident_ids: Sequence[str], emergency: bool = False
    ) -> None:
        """A call ended (the call state's hook): abandoned → listed; answered → clears."""
        if record.outcome in ("abandoned", "no_answer"):  # nobody took the call
            self._jobs.put_nowait(lambda: self._add(record, tuple(resident_ids), emergency))
        elif record.outcome == "answered" and record.caller_number:
            number = record.caller_number
            self._jobs.put_nowait(lambda: self._clear(number))

    async def _add(self, record: CallRecord, ids: tuple[str, ...], emergency: bool) -> None:
        emergency = emergency or record.queue == EMERGENCY_QUEUE
        priority = PRIORITY_EMERGENCY if emergency else PRIORITY_ELDERLY if ids else PRIORITY_OTHER
        promised = self.settings.promise_s if priority < PRIORITY_OTHER else None
        deadline_s = promised or self.settings.other_deadline_s
        ended = _utc(record.ended_at)
        added = await self.store.add_abandoned(
            call_id=record.call_id,
            number=record.caller_number,
            queue=record.queue,
            language=record.language,
            resident_ids=ids,
            priority=priority,
            emergency=emergency,
            abandoned_at=ended,
            deadline_at=ended + timedelta(seconds=deadline_s),
        )
        if added is not None:
            log.info(
                "callback listed: callback=%s call=%s queue=%s priority=%d",
                added,
                record.call_id,
                record.queue,
                priority,
            )
            self._bump()

    async def _clear(self, number: str) -> None:
        cleared = await self.store.clear_for_number(number, _utc(self._clock()))
        if cleared:
            log.info("callbacks cleared (the caller called in): %s", cleared)
            self._bump()

    async def listing(self) -> list[Callback]:
        """Open callbacks first (priority, then deadline), then the last hour's closed."""
        since = _utc(self._clock() - CLOSED_SHOWN_S)
        found = await self.store.listing(since)
        return sorted(
            found,
            key=lambda c: (c.status not in ("pending", "claimed"), c.priority, c.deadline_at),
        )

    async def get(self, callback_id: int) -> Callback:
        """One callback; CallbackNotFound."""
        found = await self.store.get(callback_id)
        if found is None:
            raise CallbackNotFound(f"no callback {callback_id}")
        return found

    # -- an agent's actions ----------------------------------------------------------

    async def claim(self, callback_id: int, agent: str) -> Callback:
        """Take a pending callback; nobody else can place it until it is handed back."""
        if not await self.store.claim(callback_id, agent, _utc(self._clock())):
            found = await self.get(callback_id)
            if found.claimed_by != agent:
                raise NotYours(f"callback {callback_id} is {found.status}")
        log.info("callback claimed: callback=%s agent=%s", callback_id, agent)
        self._bump()
        return await self.get(callback_id)

    async def release(self, callback_id: int, agent: str) -> Callback:
        """Hand a claimed callback back to the list (not while it is being placed)."""
        found = await self._mine(callback_id, agent)
        if found.placing is not None:
            raise CannotPlace("a callback is being placed")
        await self.store.release(callback_id, agent)
        self._bump()
        return await self.get(callback_id)

    def numbers(self, callback: Callback) -> list[dict[str, Any]]:
        """The numbers this callback may dial now: the caller's; after a failed attempt to
        it, for a resident who lives alone, their next of kin's in calling order."""
        out: list[dict[str, Any]] = []
        own = dialable(callback.number, self._region)
        if own:
            out.append({"target": "caller", "dial": own, "name": None, "relation": None})
        failed = any(
            a.target == "caller" and a.result in (*FAILED_TO_REACH, "failed")
            for a in callback.attempts
        )
        if not failed or self._locator is None or not callback.number:
            return out
        seen = {own}
        for resident in self._locator.lookup(callback.number).residents:
            if resident.id not in callback.resident_ids or "lives_alone" not in resident.flags:
                continue
            for kin in resident.next_of_kin:
                for phone in kin.phones:
                    dial = dialable(phone, self._region)
                    if dial and dial not in seen:
                        seen.add(dial)
                        out.append(
                            {
                                "target": "kin",
                                "dial": dial,
                                "name": kin.name,
                                "relation": kin.relation,
                                "resident": resident.id,
                            }
                        )
        return out

    async def place(self, callback_id: int, agent: str, number: str | None = None) -> Callback:
        """Call the number (the caller's, or an offered next of kin's) from the agent's seat.

        One Originate, never repeated: the agent's phone rings first, then the number. The
        result is filled in from Asterisk's events. Raises CannotPlace, NotYours,
        PlacementFailed (Asterisk refused it, or the link dropped with it in flight).
        """
        found = await self._mine(callback_id, agent)
        if found.placing is not None:
            raise CannotPlace("a callback is being placed")
        seat = self._seat_of(agent)
        if seat is None:
            raise CannotPlace("not logged in at a seat")
        if seat.busy:
            raise CannotPlace("on a call")
        offered = self.numbers(found)
        choice = next((n for n in offered if n["dial"] == number), None) if number else None
        if choice is None and number is None and offered and offered[0]["target"] == "caller":
            choice = offered[0]
        if choice is None:
            raise CannotPlace("this number may not be dialled for this callback")
        if self._ami is None:
            raise PlacementFailed("no telephone system is connected")
        at = _utc(self._clock())
        attempt_id = await self.store.add_attempt(
            callback_id, agent, seat.seat, choice["dial"], choice["target"], at
        )
        fields = originate_fields(
            attempt_id,
            seat.seat,
            choice["dial"],
            agent_channel=self.settings.agent_channel,
            context=self.settings.context,
            caller_id=self.settings.caller_id,
            agent_ring_s=self.settings.agent_ring_s,
        )
        self._watch.watch(attempt_id)
        self._bump()
        log.info(
            "callback placing: callback=%s attempt=%s agent=%s seat=%s target=%s",
            callback_id,
            attempt_id,
            agent,
            seat.seat,
            choice["target"],
        )
        # The queue must not ring the seat while Asterisk rings it for the callback, nor
        # while the agent talks and records the outcome: held until `record`.
        await self._hold(agent, True)
        try:
            await self._ami.send("Originate", fields, idempotent=False)
        except (AMIConnectionLost, AMITimeout) as exc:
            await self._finish(attempt_id, "lost", str(exc)[:200])
            await self._hold(agent, False)
            raise PlacementFailed(
                "the telephone system link failed; the call may or may not have been placed"
            ) from None
        except AMIError as exc:
            await self._finish(attempt_id, "failed", (exc.message or str(exc))[:200])
            await self._hold(agent, False)
            raise PlacementFailed(f"Asterisk refused the call: {exc}") from None
        return await self.get(callback_id)

    async def record(self, callback_id: int, agent: str, outcome: str, note: str) -> Callback:
        """The agent's outcome: closes the callback, or `retry_later` hands it back."""
        if outcome not in OUTCOMES:
            raise CannotPlace(f"unknown outcome {outcome!r}")
        if len(note) > MAX_NOTE:
            raise CannotPlace(f"note longer than {MAX_NOTE}")
        found = await self._mine(callback_id, agent)
        if found.placing is not None:
            raise CannotPlace("a callback is being placed")
        done = outcome in CLOSING_OUTCOMES
        await self.store.close(callback_id, agent, outcome, note, _utc(self._clock()), done=done)
        await self._hold(agent, False)  # the callback's work is done: the seat takes calls again
        log.info("callback outcome: callback=%s agent=%s outcome=%s", callback_id, agent, outcome)
        self._bump()
        return await self.get(callback_id)

    async def _mine(self, callback_id: int, agent: str) -> Callback:
        found = await self.get(callback_id)
        if found.status != "claimed" or found.claimed_by != agent:
            raise NotYours(f"callback {callback_id} is not claimed by you")
        return found

    # -- Asterisk's side ---------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """An AMI event (subscribe this to the AMI client)."""
        decided = self._watch.handle(event)
        if isinstance(decided, Finished):
            result, detail = decided.result, decided.detail
            attempt = decided.attempt_id
            self._jobs.put_nowait(lambda: self._finish(attempt, result, detail))
        elif isinstance(decided, Ended):
            attempt = decided.attempt_id
            self._jobs.put_nowait(lambda: self.store.set_ended(attempt, _utc(self._clock())))

    def on_link(self, link: Any) -> None:
        """The AMI link changed: with it down, what was being placed cannot be followed."""
        if getattr(link, "live", True):
            return
        for attempt in self._watch.open:
            self._jobs.put_nowait(functools.partial(self._lose, attempt))

    async def _lose(self, attempt_id: int) -> None:
        # Its events may never come (a restarted Asterisk): it may or may not have rung.
        await self._finish(attempt_id, "lost", "telephone system link lost")

    async def _finish(self, attempt_id: int, result: str, detail: str | None) -> None:
        if result != "answered":
            self._watch.forget(attempt_id)
        ended = None if result == "answered" else _utc(self._clock())
        callback_id = await self.store.set_result(attempt_id, result, detail, ended)
        if callback_id is not None:
            log.info(
                "callback result: callback=%s attempt=%s result=%s",
                callback_id,
                attempt_id,
                result,
            )
            self._bump()

    async def _expire(self) -> None:
        before = _utc(self._clock() - self.settings.result_timeout_s)
        for attempt_id in await self.store.placing_older_than(before):
            await self._finish(attempt_id, "lost", "no result from Asterisk")

    async def run(self) -> None:
        """Carry out the queued writes in order, forever (an owned task)."""
        next_tick = self._clock() + TICK_S
        while True:
            try:
                async with asyncio.timeout(TICK_S):
                    job = await self._jobs.get()
            except TimeoutError:
                job = None
            try:
                if job is not None:
                    await job()
                if self._clock() >= next_tick:
                    next_tick = self._clock() + TICK_S
                    await self._expire()
            except Exception:
                log.exception("callbacks: a write failed")
            finally:
                if job is not None:
                    self._jobs.task_done()

    async def flush(self) -> None:
        """Wait until every queued write is done (needs `run()` running)."""
        await self._jobs.join()

    # -- pages waiting for changes -------------------------------------------------------

    @property
    def version(self) -> int:
        """Increases with every change of the list."""
        return self._changes.version

    async def changed(self, version: int, timeout_s: float) -> int:
        """Wait until the version passes `version` (or `timeout_s`); the version."""
        return await self._changes.after(version, timeout_s)

    def _bump(self) -> None:
        self._changes.bump()


def overdue(callbacks: Iterable[Callback], now: datetime) -> int:
    """How many open callbacks are past their deadline."""
    return sum(1 for c in callbacks if c.status in ("pending", "claimed") and c.deadline_at < now)
