"""The async shell around CallTracker: locator lookup, bus publishing, call log, audit.

The hot path (an AMI event to a published pop) does only in-memory work and hands each
message to the bus with `bus.post`, in order, without waiting for it (on Redis, a round
trip per message would hold up every event behind it); what depends on a message going out —
the pop's log line and privacy audit, a failed publish's warning — is done when the bus
answers. The privacy audit and the call log are written by an owned background task
(`run()`, started from the app's cleanup context) so a slow database never delays a pop.
Call-log rows the database cannot take yet wait in an on-disk spool (`CallLogWriter`); a
normal stop drains the queue (`drain()`) and keeps what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Final, Protocol

from cti.ami import Event
from cti.bus import BROADCAST, Bus
from cti.state.call_log import (
    CallLog,
    CallLogUnavailable,
    CallNotFound,
    WrapupRejected,
    describe_error,
)
from cti.state.outgoing import CallFinished, CallRecord, Outgoing, PopDue, ToAgent, ToBroadcast
from cti.state.pop import pop_message
from cti.state.ports import CallerLocator, IvrLearntLike, IvrMemory, MatchLike
from cti.state.spool import CallLogSpool
from cti.state.tracker import CallTracker
from cti.state.writer import CallLogWriter

log = logging.getLogger(__name__)

MAX_PENDING_WRITES: Final = 10_000
# How often overdue decisions are made when no AMI event comes to make them.
TICK_S: Final = 0.5
_RETRIES: Final = 3
REPLAY_INTERVAL_S: Final = 5.0
# The privacy audit of the cards a pop showed is written this long after the pop, with every
# other card shown meanwhile, in one transaction: not one transaction (and a thread of the
# SQLite driver, or a round trip to PostgreSQL) right behind each pop, while the agent's page
# is still taking the frame.
AUDIT_LINGER_S: Final = 0.25


class ResyncLike(Protocol):
    """What the AMI client hands over after every (re)connect (`cti.ami.client.Resync`)."""

    @property
    def at(self) -> datetime: ...
    @property
    def queue_status(self) -> Sequence[Event]: ...
    @property
    def channels(self) -> Sequence[Event]: ...


@dataclass(slots=True)
class _CallContext:
    """What the shell remembers of an open call: the lookup (done once) and who saw it."""

    match: MatchLike | None
    resident_ids: tuple[str, ...]
    viewed_by: set[str] = field(default_factory=set)
    ivr: IvrLearntLike | None = None


Job = Callable[[], Awaitable[object]]
# Told of every finished call: its record, the matched resident ids, an IVR emergency.
FinishedHook = Callable[[CallRecord, tuple[str, ...], bool], None]


@dataclass(frozen=True, slots=True)
class _LogCall:
    """A finished call waiting to be written (batched with the others pending)."""

    record: CallRecord
    resident_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Audit:
    """A pop's cards were shown: the privacy audit to write (batched with the others)."""

    resident_ids: tuple[str, ...]
    viewer: str
    call_id: str


Write = Job | _LogCall | _Audit


class StateService:
    """Feeds AMI events to the tracker and carries out what it returns."""

    def __init__(
        self,
        tracker: CallTracker,
        bus: Bus,
        locator: CallerLocator | None = None,
        call_log: CallLog | None = None,
        *,
        spool: CallLogSpool | None = None,
        replay_interval_s: float = REPLAY_INTERVAL_S,
        clock: Callable[[], float] = time.time,
        ivr: IvrMemory | None = None,
        acting: Callable[[], bool] = lambda: True,
        audit_linger_s: float = AUDIT_LINGER_S,
    ) -> None:
        self.tracker = tracker
        # Several nodes: each sees every event; what happened to a call goes out once per key
        # (whichever node is first), snapshots only from the acting node (`Lease.held`).
        self._acting = acting
        self._bus = bus
        self._locator = locator
        self._call_log = call_log
        self._writer = CallLogWriter(call_log, spool) if call_log is not None else None
        if self._writer is not None:
            # Before any call of this process is noted: what is in the journal now is what a
            # killed server never wrote; it goes to the spool, whose replay writes it.
            self._writer.recover()
        self._replay_interval_s = replay_interval_s
        self._audit_linger_s = audit_linger_s
        self._hurry = asyncio.Event()  # set while someone waits in `flush`: no linger then
        self._hurrying = 0
        self._clock = clock
        self._ivr = ivr
        # Events, resyncs and ticks carry out their messages one at a time, in order.
        self._in_order = asyncio.Lock()
        self._contexts: dict[str, _CallContext] = {}
        self._jobs: asyncio.Queue[Write] = asyncio.Queue(MAX_PENDING_WRITES)
        self._finished_hooks: list[FinishedHook] = []
        # The newest message handed to the bus: the bus answers in order, so once this one
        # is answered every earlier one is (see `settled`).
        self._last_post: asyncio.Future[int] | None = None
        # Audit writes queued from a bus answer while the write queue was full (rare).
        self._waiting_puts: set[asyncio.Task[None]] = set()

    def on_call_finished(self, hook: FinishedHook) -> None:
        """Call `hook(record, resident_ids, emergency)` for every finished call, in order, on
        the event path (it must not wait: the callback list queues its own write)."""
        self._finished_hooks.append(hook)

    async def on_event(self, event: Event) -> None:
        """Handle one AMI event (subscribe this to the AMI client)."""
        async with self._in_order:
            await self._carry_out(self.tracker.handle(event, self._clock()))
            if event.name == "QueueCallerJoin":
                self._look_up_caller(event.get("Uniqueid"))

    async def tick(self) -> None:
        """End what waited too long for an event that did not come (see `CallTracker.tick`)."""
        async with self._in_order:
            await self._carry_out(self.tracker.tick(self._clock()))

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            await self.tick()

    async def on_resynced(self, resync: ResyncLike) -> None:
        """Rebuild from the QueueStatus/CoreShowChannels taken after a (re)connect."""
        async with self._in_order:
            out = self.tracker.resync(resync.queue_status, resync.channels, resync.at.timestamp())
            await self._carry_out(out)
        log.info(
            "state resynced: %d call(s), %d member(s)",
            len(self.tracker.calls),
            len(self.tracker.members.all()),
        )

    async def _carry_out(self, out: Sequence[Outgoing]) -> None:
        # Messages are posted in order and not waited for; a call that ended is noted for
        # the call log here, whatever becomes of the messages before it.
        for item in out:
            if isinstance(item, CallFinished):
                await self._finished(item)
            elif isinstance(item, PopDue):
                self._pop(item)
            elif isinstance(item, ToAgent):
                if item.key is not None:
                    self._post(item, item.agent_id, once=item.key)
                elif self._acting():
                    self._post(item, item.agent_id)
            elif isinstance(item, ToBroadcast) and self._acting():
                self._post(item, BROADCAST)

    def _post(self, item: ToAgent | ToBroadcast, agent_id: str, once: str | None = None) -> None:
        self._send(agent_id, dict(item.message), once, partial(self._answered, item))

    def _send(
        self,
        agent_id: str,
        message: dict[str, Any],
        once: str | None,
        on_answer: Callable[[asyncio.Future[int]], object],
    ) -> None:
        posted = self._bus.post(agent_id, message, once=once)
        self._last_post = posted
        posted.add_done_callback(on_answer)

    def _answered(self, item: ToAgent | ToBroadcast | PopDue, posted: asyncio.Future[int]) -> None:
        if posted.cancelled() or posted.exception() is None:
            return
        # The bus is down (Redis restarting): this message is lost for the pages (this
        # node's own sockets got it marked degraded); the call state and log go on.
        exc = posted.exception()
        call_id = item.call_id if isinstance(item, PopDue) else item.message.get("call_id")
        log.warning(
            "publish failed (%s): %s call=%s agent=%s",
            type(exc).__name__,
            type(item).__name__,
            call_id,
            getattr(item, "agent_id", "*"),
        )

    async def settled(self) -> None:
        """Wait until the bus has answered every message handed to it so far (sent, a
        `once` repeat, or failed) and what hangs on the answers (a pop's audit) is queued."""
        posted = self._last_post
        if posted is None:
            return
        # Either way, the answers' callbacks are queued before this task's wake-up.
        if posted.done():
            await asyncio.sleep(0)
        else:
            await asyncio.wait([posted])

    def _look_up_caller(self, uniqueid: str | None) -> None:
        # The caller is known from the moment they join the queue, before any phone rings:
        # the lookup (up to ~0.2 ms for a number that needs the numbering-plan check) is done
        # then, so the pop of the ring does not wait for it.
        call = self.tracker.calls.get(uniqueid or "")
        if call is not None and self._locator is not None:
            self._context(call.call_id, call.caller_number)

    def _context(self, call_id: str, caller_number: str | None) -> _CallContext:
        context = self._contexts.get(call_id)
        if context is None:
            match = None
            if self._locator is not None:
                match = self._locator.lookup(caller_number)
            ids = tuple(r.id for r in match.residents) if match is not None else ()
            context = self._contexts[call_id] = _CallContext(match, ids)
        if context.ivr is None and self._ivr is not None:
            context.ivr = self._ivr.learnt(call_id)
        return context

    def _pop(self, due: PopDue) -> None:
        context = self._context(due.call_id, due.caller_number)
        message = pop_message(due, context.match, context.ivr)
        self._send(due.agent_id, message, due.key or None, partial(self._popped, due, context))

    def _popped(self, due: PopDue, context: _CallContext, posted: asyncio.Future[int]) -> None:
        # Run once the bus answered, after the loop has run what the publish woke (the
        # agent's socket writing the pop): the log line and the audit cost tens of µs,
        # which the agent should not wait for.
        if posted.cancelled() or posted.exception() is not None:
            self._answered(due, posted)
            return
        if not posted.result():
            return  # another node saw the same ring first: its pop went out, and its audit
        log.info(
            "pop: call=%s agent=%s queue=%s residents=%d",
            due.call_id,
            due.agent_id,
            due.queue,
            len(context.resident_ids),
        )
        shown = self._locator is not None and context.resident_ids
        if shown and due.agent_id not in context.viewed_by:
            context.viewed_by.add(due.agent_id)
            self._enqueue_soon(_Audit(context.resident_ids, due.agent_id, due.call_id))

    async def _finished(self, item: CallFinished) -> None:
        record = item.record
        context = self._contexts.pop(record.call_id, None)
        if context is not None:
            ids = context.resident_ids
        elif self._locator is not None:
            # Nobody was rung (an abandon in queue): the log still says who called.
            ids = tuple(r.id for r in self._locator.lookup(record.caller_number).residents)
        else:
            ids = ()
        log.info(
            "call ended: call=%s queue=%s agent=%s outcome=%s waited=%.1fs",
            record.call_id,
            record.queue,
            record.agent_id,
            record.outcome,
            record.waited_s,
        )
        if self._finished_hooks:
            learnt = context.ivr if context is not None else None
            if learnt is None and self._ivr is not None:
                learnt = self._ivr.learnt(record.call_id)
            emergency = bool(learnt is not None and learnt.emergency)
            for hook in self._finished_hooks:
                try:
                    hook(record, ids, emergency)
                except Exception:
                    log.exception("call finished hook failed: call=%s", record.call_id)
        if self._call_log is not None:
            if self._writer is not None:
                self._writer.note([(record, ids)])
            await self._enqueue(_LogCall(record, ids))

    async def _enqueue(self, job: Write) -> None:
        # Waiting here (back-pressure) only happens with 10,000 writes pending: better a
        # late pop than a lost call-log row.
        await self._jobs.put(job)

    def _enqueue_soon(self, job: Write) -> None:
        # From a bus answer, which cannot wait: a full queue (10,000 writes pending) gets
        # the job from a task of its own, kept until it is in.
        try:
            self._jobs.put_nowait(job)
        except asyncio.QueueFull:
            waiting = asyncio.get_running_loop().create_task(self._jobs.put(job))
            self._waiting_puts.add(waiting)
            waiting.add_done_callback(self._waiting_puts.discard)

    async def run(self) -> None:
        """Write the call log and audit rows, forever; run it as an owned background task.

        Everything pending is taken at once and the call-log rows go in one INSERT, so a
        burst costs the event loop one transaction, not one per call. Rows the database
        cannot take wait in the spool, replayed every `replay_interval_s`; a failing audit
        write is retried, then logged and skipped. The task never dies of a database error.
        When cancelled, the calls not yet written are kept in the spool.
        """
        async with asyncio.TaskGroup() as group:
            group.create_task(self._write_loop(), name="call-log-write")
            group.create_task(self._tick_loop(), name="call-state-tick")
            if self._writer is not None and self._writer.spool is not None:
                group.create_task(self._replay_loop(), name="call-log-replay")

    async def _write_loop(self) -> None:
        try:
            while True:
                batch = [await self._jobs.get()]
                try:
                    if isinstance(batch[0], _Audit):
                        await self._linger()
                    while not self._jobs.empty():
                        batch.append(self._jobs.get_nowait())
                    await self._write_batch(batch)
                finally:
                    for _ in batch:
                        self._jobs.task_done()
                if self._jobs.empty() and self._writer is not None:
                    self._writer.checkpoint()
        except asyncio.CancelledError:
            self._keep_unwritten()
            raise

    async def _linger(self) -> None:
        # See AUDIT_LINGER_S; cut short by a `flush` (a wrap-up waiting for its call's row).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._audit_linger_s):
                await self._hurry.wait()

    async def _write_batch(self, batch: list[Write]) -> None:
        calls = [(j.record, j.resident_ids) for j in batch if isinstance(j, _LogCall)]
        if calls and self._writer is not None:
            await self._writer.write(calls)
        views = [(j.resident_ids, j.viewer, j.call_id) for j in batch if isinstance(j, _Audit)]
        locator = self._locator
        if views and locator is not None:
            await self._attempt(lambda: locator.record_views(views))
        for job in batch:
            if not isinstance(job, _LogCall | _Audit):
                await self._attempt(job)

    def _keep_unwritten(self) -> None:
        calls = []
        while not self._jobs.empty():
            job = self._jobs.get_nowait()
            self._jobs.task_done()
            if isinstance(job, _LogCall):
                calls.append((job.record, job.resident_ids))
        if self._writer is not None:
            self._writer.keep_unfinished(calls)

    async def _replay_loop(self) -> None:
        assert self._writer is not None
        while True:
            if self._writer.waiting:
                try:
                    await self._writer.replay()
                except OSError as exc:
                    log.error("call log: spool replay failed (%s)", describe_error(exc))
            await asyncio.sleep(self._replay_interval_s)

    async def _attempt(self, job: Job) -> None:
        for attempt in range(1, _RETRIES + 1):
            try:
                await job()
                return
            except Exception as exc:
                if attempt == _RETRIES:
                    # The class only: the message can quote resident ids or a number.
                    log.error(
                        "state write failed %d times; dropped (%s)", attempt, describe_error(exc)
                    )
                else:
                    await asyncio.sleep(0.2 * attempt)

    async def drain(self, timeout_s: float = 10.0) -> bool:
        """On a normal stop, after the AMI client stopped: wait until the bus answered every
        message and every queued write is done (needs `run()` running), at most
        `timeout_s`. False when time ran out; then cancelling `run()` keeps the calls not yet
        written in the spool."""
        try:
            await asyncio.wait_for(self.flush(), timeout_s)
        except TimeoutError:
            log.warning(
                "state: %d write(s) still queued after %.1f s; keeping the calls in the spool",
                self._jobs.qsize(),
                timeout_s,
            )
            return False
        return True

    async def flush(self) -> None:
        """Wait until the bus answered every message (`settled`) and every queued write is
        done (needs `run()` running)."""
        await self.settled()
        self._hurrying += 1
        self._hurry.set()
        try:
            await self._jobs.join()
        finally:
            self._hurrying -= 1
            if not self._hurrying:
                self._hurry.clear()

    async def save_wrapup(self, call_id: str, agent: str, outcome: str, note: str) -> None:
        """Save the agent's wrap-up (outcome + note) on their finished call.

        Raises CallNotFound (a LookupError) for an unknown call or another agent's call,
        WrapupRejected (a ValueError) for a call still in progress, an unknown outcome or
        an over-long note, and when there is no call log; CallLogUnavailable (a
        ConnectionError) when the database cannot be written now (the call's row may be
        waiting in the spool).
        """
        if self.tracker.is_open(call_id):
            raise WrapupRejected("the call is not completed yet")
        if self._call_log is None or self._writer is None:
            raise WrapupRejected("no call log is configured")
        await self.flush()
        if self._writer.waiting:
            await self._writer.replay()
        try:
            await self._call_log.save_wrapup(call_id, agent, outcome, note)
        except CallNotFound:
            if await self._writer.holds(call_id):
                raise CallLogUnavailable("the call log cannot be written right now") from None
            raise
        log.info("wrap-up saved: call=%s agent=%s outcome=%s", call_id, agent, outcome)
