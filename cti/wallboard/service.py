"""The wallboard service: feeds the room from the AMI client and tells boards of changes.

`on_event`, `on_resynced` and `on_link` are the AMI client's handlers (called in stream
order); `board()` is the current board; `changed(version)` waits for the next change.
On start `seed(engine)` reads today's finished calls from the call log, so a restart of the
server does not zero the day.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cti import Changes
from cti.ami import Event, LinkState, Resync
from cti.state import CallLogEntry
from cti.wallboard.board import board
from cti.wallboard.models import ANSWER_TARGET_S, Check, QueueDay
from cti.wallboard.room import Room
from queues import QUEUES, SeatDuty

log = logging.getLogger(__name__)
_QUEUE_NAMES = tuple(queue.name for queue in QUEUES)


class Names(Protocol):
    """Where agents' names come from (`seats.AgentAccounts`)."""

    async def get(self, agent_id: str) -> Any: ...


class AmiFeed(Protocol):
    """The AMI client's handler registration (`cti.ami.AMIClient`)."""

    def subscribe(self, handler: Callable[[Event], None]) -> Callable[[], None]: ...

    def on_resynced(self, handler: Callable[[Resync], None]) -> Callable[[], None]: ...

    def on_link(self, handler: Callable[[LinkState], None]) -> Callable[[], None]: ...


class WallboardService:
    """The room, fed by AMI events; boards wait on `changed`."""

    def __init__(
        self,
        duties: Callable[[], Sequence[SeatDuty]] = list,
        *,
        queues: Iterable[str] = _QUEUE_NAMES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._duties = duties
        self._clock = clock
        self.room = Room(queues, now=clock())
        self.link: LinkState | None = None
        self._names: dict[str, str] = {}
        self._changes = Changes()
        self.checks: list[Check] = []  # every comparison with Asterisk, newest last (bounded)

    @property
    def version(self) -> int:
        """Increases with every change of the board."""
        return self._changes.version

    def attach(self, ami: AmiFeed) -> None:
        """Follow the AMI client's events, resyncs and link (after the services that drive)."""
        ami.subscribe(self.on_event)
        ami.on_resynced(self.on_resynced)
        ami.on_link(self.on_link)

    def on_event(self, event: Event) -> None:
        """A live AMI event."""
        if self.room.handle(event, self._clock()):
            self._bump()

    def on_resynced(self, resync: Resync) -> None:
        """A reconnect's `QueueStatus`: compared with our counts (logged), then held."""
        check = self.room.resync(resync.queue_status, resync.at.timestamp(), self._clock())
        self.checks = [*self.checks[-99:], check]
        if check.agrees:
            log.info("wallboard: counts agree with Asterisk's QueueStatus")
        else:
            diffs = ", ".join(
                f"{d.queue} {d.what} ours={d.ours} asterisk={d.asterisk}" for d in check.differences
            )
            log.warning("wallboard: counts differ from Asterisk's QueueStatus: %s", diffs)
        self._bump()

    def on_link(self, link: LinkState) -> None:
        """The AMI link went down or came back."""
        self.link = link
        self._bump()

    def touch(self) -> None:
        """Something outside the AMI stream changed (a login, a duty)."""
        self._bump()

    async def seed(self, engine: AsyncEngine) -> None:
        """Start today's counts from the calls the call log already holds for today."""
        now = self._clock()
        midnight = datetime.combine(self.room.day, datetime.min.time()).astimezone()
        days: dict[str, QueueDay] = {}
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(
                    CallLogEntry.queue,
                    CallLogEntry.outcome,
                    CallLogEntry.waited_s,
                    CallLogEntry.talked_s,
                ).where(CallLogEntry.joined_at >= midnight)
            )
            for queue, outcome, waited_s, talked_s in rows:
                day = days.setdefault(queue, QueueDay())
                day.offered += 1
                if outcome == "answered":
                    day.answered += 1
                    day.wait_sum_s += waited_s
                    day.answered_in_target += waited_s <= ANSWER_TARGET_S
                    if talked_s is not None:
                        day.completed += 1
                        day.talk_sum_s += talked_s
                elif outcome == "abandoned":
                    day.abandoned += 1
        for queue, day in days.items():
            self.room.seed(queue, day)
        total = sum(d.offered for d in days.values())
        log.info("wallboard: %d calls of today from the call log", total)
        self.room.roll(now)  # midnight may have passed meanwhile
        self._bump()

    async def names(self, accounts: Names, agent_ids: Iterable[str]) -> dict[str, str]:
        """Agents' display names (looked up once each, then cached)."""
        for agent_id in agent_ids:
            if agent_id not in self._names:
                profile = await accounts.get(agent_id)
                self._names[agent_id] = getattr(profile, "name", None) or agent_id
        return self._names

    def board(self, names: dict[str, str] | None = None) -> dict[str, Any]:
        """The board now (see `cti.wallboard.board`)."""
        return board(self.room, self._duties(), names or self._names, self.link, self._clock())

    def duties(self) -> Sequence[SeatDuty]:
        """The seats' duties the board shows."""
        return self._duties()

    async def changed(self, version: int, timeout_s: float) -> int:
        """Wait until the board's version passes `version` (or `timeout_s`); the version."""
        return await self._changes.after(version, timeout_s)

    def _bump(self) -> None:
        self._changes.bump()
