"""The agents' duty, the same whichever node an agent's page talks to.

`ClusterDuty` stands in front of this node's `MembershipService` for the routes and the
other services:

- On the acting node (the lease holder, once it has loaded the saved duties) every call goes
  to the local service.
- On any other node a command (login, logout, pause, ready, hold, release, wrapup_saved,
  requeue, announce) is pushed on the Redis list `<prefix>cluster:duty:commands` with an id,
  a deadline (`wait_s` from now, epoch seconds) and a reply list; the acting node pops it on
  a connection of its own, carries it out, waits (briefly) for the change to be saved and
  pushes the answer: the duty, or the error, raised here as the same exception
  (`NotOnDuty`, `BadPauseReason`). A request past its deadline is dropped, never carried out
  late. No answer within `wait_s` (no node acts: a failover takes about 3 s) raises
  `NoActingNode`, which the web layer answers 503 `no_acting_node` with `Retry-After`.
- Reads (`duty_of`, `duties`, `view`) are answered from this node's memory: on the acting
  node the duties themselves, elsewhere a mirror reloaded from the saved duties (`seat_duty`,
  written by the acting node's outbox) every `mirror_every_s`, and updated at once with the
  answer of a command forwarded from here.
- When this node starts acting it loads the saved duties, has the reconciler plan from a
  fresh QueueStatus, and puts in their queues every agent the shared seat map shows at a
  seat without a duty (a login whose duty command failed during a failover is not lost).
  When it stops acting, the service stops changing, saving, publishing and sending at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final, Protocol, Self

import redis.asyncio as aioredis

from cti.cluster.lease import Lease
from cti.redis_pool import shared_client
from queues.membership.models import SeatDuty, Wanted
from queues.membership.service import BadPauseReason, MembershipService, NotOnDuty, Skill

log = logging.getLogger(__name__)

# How long the acting node waits for a forwarded change to be saved before it answers.
_SAVE_WAIT_S: Final = 1.5
# An answer may come this long after the request's deadline (carried out just before it).
_ANSWER_MARGIN_S: Final = _SAVE_WAIT_S + 0.5
_REPLY_TTL_S: Final = 30
# An ending not carried out (no node acted) is tried again for this long, then logged.
_OWED_FOR_S: Final = 300.0
_OWED_RETRY_S: Final = 1.0
_OWED_MAX: Final = 10_000
_ERRORS: Final[Mapping[str, Callable[[str], Exception]]] = {
    "not_on_duty": NotOnDuty,
    "bad_pause_reason": BadPauseReason,
}


class NoActingNode(RuntimeError):
    """No node carried the command out in time (a failover, or Redis unreachable)."""

    def __init__(self, message: str, retry_after_s: float = 2.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SeatMap(Protocol):
    """The shared seat map as the takeover reads it (`seats.SeatDirectory`)."""

    def occupied(self) -> Mapping[str, str]: ...


class Profile(Protocol):
    """An agent account as the takeover reads it (`seats.AgentProfile`)."""

    @property
    def skills(self) -> tuple[Any, ...]: ...


ProfileOf = Callable[[str], Awaitable[Profile | None]]


@dataclass(frozen=True, slots=True)
class _Skill:
    language: str
    penalty: int


class ClusterDuty:
    """See the module docstring. `await start()`, then `run()` as an owned task."""

    def __init__(
        self,
        service: MembershipService,
        lease: Lease,
        *,
        redis: aioredis.Redis | None = None,
        listener: aioredis.Redis | None = None,
        prefix: str = "cti:",
        seats: SeatMap | None = None,
        profile_of: ProfileOf | None = None,
        wait_s: float = 4.0,
        mirror_every_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self._lease = lease
        self._redis = redis  # the callers' requests and the answers
        self._listener = listener  # the acting node's BLPOP, on a connection of its own
        self._commands = f"{prefix}cluster:duty:commands"
        self._replies = f"{prefix}cluster:duty:reply:"
        self._seats = seats
        self._profile_of = profile_of
        self._wait_s = wait_s
        self._mirror_every_s = mirror_every_s
        self._clock = clock
        self._takeover = asyncio.Event()  # this node just gained the lease
        self._serving = asyncio.Event()  # in charge: commands are taken from the list
        # Endings that must reach the acting node even across a failover (a logout, a
        # wrap-up saved, a callback's hold released): retried until one node carries them.
        self._owed: asyncio.Queue[tuple[str, tuple[str, ...], float]] = asyncio.Queue(_OWED_MAX)
        self.forwarded = 0  # commands this node sent to the acting node
        self.carried_out = 0  # commands from other nodes this node carried out

    @classmethod
    def from_url(cls, url: str, service: MembershipService, lease: Lease, **kwargs: Any) -> Self:
        """Over Redis at `url` (two connections: requests/answers, and the acting node's
        blocking pop)."""
        return cls(
            service,
            lease,
            redis=shared_client(url, socket_connect_timeout=1.0),
            listener=aioredis.Redis.from_url(url, socket_connect_timeout=1.0),
            **kwargs,
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> list[SeatDuty]:
        """Follow the lease; when this node holds it now, take over before returning (the
        duties restored: a single node starts exactly as before). Returns them."""
        self._lease.watch(self._lease_changed)
        if not self._takeover.is_set():
            return []
        self._takeover.clear()
        return await self._take_over()

    async def run(self) -> None:
        """The owned work: takeovers, serving forwarded commands, mirroring saved duties."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._take_overs(), name="duty-takeover")
            if self._redis is not None:
                group.create_task(self._serve(), name="duty-commands")
                group.create_task(self._follow(), name="duty-mirror")
                group.create_task(self._pay_owed(), name="duty-owed")

    async def close(self) -> None:
        """Release the Redis connections."""
        for client in (self._redis, self._listener):
            if client is not None:
                await client.aclose()

    @property
    def acting(self) -> bool:
        """Whether this node carries the duty out itself now."""
        return self.service.in_charge()

    async def drained(self, timeout_s: float | None = None) -> bool:
        """Local changes saved (a forwarded one was saved before its answer came back)."""
        if not self.acting:
            return True
        return await self.service.drained(timeout_s)

    # -- reads (this node's memory) --------------------------------------------------------

    def duty_of(self, agent: str) -> SeatDuty | None:
        """The agent's duty, or None when they are not at a seat."""
        return self.service.duty_of(agent)

    def duties(self) -> list[SeatDuty]:
        """Every seat's duty, by seat."""
        return self.service.duties()

    def view(self, duty: SeatDuty) -> dict[str, Any]:
        """The duty as the page shows it."""
        return self.service.view(duty)

    # -- commands (the acting node carries them out) ---------------------------------------

    async def login(self, agent: str, seat: str, skills: Iterable[Skill]) -> SeatDuty:
        """`MembershipService.login`, wherever the duty is driven."""
        if self.acting:
            return self.service.login(agent, seat, skills)
        wire = [[s.language, s.penalty] for s in skills]
        return self._mirrored(_duty(await self._forward("login", agent, seat, wire)), agent)

    async def logout(self, agent: str) -> None:
        """`MembershipService.logout`, wherever the duty is driven; during a failover it is
        carried out once a node acts again (never lost, never an error: the session ended)."""
        if self.acting:
            return self.service.logout(agent)
        await self._forward_or_owe("logout", agent)
        self.service.mirror([d for d in self.service.duties() if d.agent != agent])

    async def pause(self, agent: str, reason: str) -> SeatDuty:
        """`MembershipService.pause` (raises NotOnDuty, BadPauseReason)."""
        if self.acting:
            return self.service.pause(agent, reason)
        return self._mirrored(_duty(await self._forward("pause", agent, reason)), agent)

    async def ready(self, agent: str) -> SeatDuty:
        """`MembershipService.ready` (raises NotOnDuty)."""
        if self.acting:
            return self.service.ready(agent)
        return self._mirrored(_duty(await self._forward("ready", agent)), agent)

    async def hold(self, agent: str, reason: str) -> bool:
        """`MembershipService.hold` (a callback being placed)."""
        if self.acting:
            return self.service.hold(agent, reason)
        return bool(await self._forward("hold", agent, reason))

    async def release(self, agent: str, reason: str) -> None:
        """`MembershipService.release`."""
        if self.acting:
            return self.service.release(agent, reason)
        await self._forward_or_owe("release", agent, reason)

    async def wrapup_saved(self, agent: str, call_id: str) -> None:
        """`MembershipService.wrapup_saved`."""
        if self.acting:
            return self.service.wrapup_saved(agent, call_id)
        await self._forward_or_owe("wrapup_saved", agent, call_id)

    async def requeue(self, agent: str, queues: Iterable[Wanted]) -> SeatDuty | None:
        """`MembershipService.requeue` (an administrator's change, a shift change)."""
        if self.acting:
            return self.service.requeue(agent, queues)
        wire = [[w.queue, w.penalty] for w in queues]
        answer = await self._forward("requeue", agent, wire)
        return None if answer is None else self._mirrored(_duty(answer), agent)

    async def announce(self, agent: str) -> None:
        """`MembershipService.announce` (the acting node publishes the `duty` message)."""
        if self.acting:
            return self.service.announce(agent)
        await self._forward("announce", agent)

    # -- a caller on a node that does not act -----------------------------------------------

    async def _forward(self, op: str, *args: Any) -> Any:
        if self._redis is None:
            raise NoActingNode("this node does not drive the duty now")
        request_id = uuid.uuid4().hex
        reply = self._replies + request_id
        deadline = self._clock() + self._wait_s
        request = {"id": request_id, "op": op, "args": args, "deadline": deadline, "reply": reply}
        self.forwarded += 1
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(self._commands, json.dumps(request))
                # An old list holds only expired requests: gone by itself after a long gap.
                pipe.expire(self._commands, int(2 * (self._wait_s + _ANSWER_MARGIN_S)) + 1)
                await pipe.execute()
            got = await self._redis.blpop([reply], timeout=self._wait_s + _ANSWER_MARGIN_S)
            _raise_if_cancelled()
        except (aioredis.RedisError, OSError) as exc:
            log.warning("duty: %s for %s not forwarded (redis: %s)", op, args[0], exc)
            raise NoActingNode("the cluster cannot be reached; retry") from None
        if got is None:
            log.warning("duty: %s for %s: no node acted within %.0f s", op, args[0], self._wait_s)
            raise NoActingNode("no node drives the duty now (a failover); retry")
        answer = json.loads(got[1])
        error = answer.get("error")
        if error is not None:
            raise _ERRORS.get(error, RuntimeError)(answer.get("message") or error)
        return answer.get("result")

    async def _forward_or_owe(self, op: str, *args: str) -> None:
        try:
            await self._forward(op, *args)
        except NoActingNode:
            self._owe(op, args, self._clock() + _OWED_FOR_S)

    def _owe(self, op: str, args: tuple[str, ...], until: float) -> None:
        try:
            self._owed.put_nowait((op, args, until))
            log.warning("duty: %s for %s owed: carried out once a node acts", op, args[0])
        except asyncio.QueueFull:
            log.error("duty: %s for %s dropped (%d owed already)", op, args[0], _OWED_MAX)

    async def _pay_owed(self) -> None:
        """Carry out the owed endings, oldest first, once a node acts (this one or another)."""
        while True:
            op, args, until = await self._owed.get()
            while not await self._try_owed(op, args):
                if self._clock() >= until:
                    log.error("duty: %s for %s given up after %.0f s", op, args[0], _OWED_FOR_S)
                    break
                await asyncio.sleep(_OWED_RETRY_S)

    async def _try_owed(self, op: str, args: tuple[str, ...]) -> bool:
        if self.acting:
            self._apply(op, list(args))
        else:
            try:
                await self._forward(op, *args)
            except NoActingNode:
                return False
        log.info("duty: owed %s for %s carried out", op, args[0])
        return True

    def _mirrored(self, duty: SeatDuty, agent: str) -> SeatDuty:
        # The answer is fresher than the last reload: reads here show it at once.
        kept = [d for d in self.service.duties() if d.agent != agent and d.seat != duty.seat]
        self.service.mirror([*kept, duty])
        return duty

    # -- the acting node -----------------------------------------------------------------

    def _lease_changed(self, held: bool) -> None:
        self.service.stand_down()  # nothing changes until the saved duties are loaded
        self._serving.clear()
        if held:
            self._takeover.set()
        else:
            log.warning("duty: this node stops driving the duty")

    async def _take_overs(self) -> None:
        while True:
            await self._takeover.wait()
            self._takeover.clear()
            while self._lease.held and not self.acting:
                try:
                    await self._take_over()
                except Exception:
                    # The database down at the takeover: nobody drives the duty; try again.
                    log.exception("duty: takeover failed; again in 1 s")
                    await asyncio.sleep(1.0)

    async def _take_over(self) -> list[SeatDuty]:
        restored = await self.service.take_over()
        log.info("duty: this node drives the duty (%d seat(s) restored)", len(restored))
        await self._seat_the_seated()
        if self.acting:
            self._serving.set()
        return restored

    async def _seat_the_seated(self) -> None:
        """Agents the seat map shows at a seat without their duty there (logged in while no
        node acted) join their queues now."""
        if self._seats is None or self._profile_of is None:
            return
        for seat, agent in sorted(self._seats.occupied().items()):
            duty = self.service.duty_of(agent)
            if duty is not None and duty.seat == seat:
                continue
            profile = await self._profile_of(agent)
            if profile is None or not self.acting:
                continue
            log.info("duty: agent=%s seat=%s seated without a duty: logged in now", agent, seat)
            self.service.login(agent, seat, profile.skills)

    async def _serve(self) -> None:
        assert self._listener is not None
        while True:
            _raise_if_cancelled()
            await self._serving.wait()
            try:
                got = await self._listener.blpop([self._commands], timeout=0.5)
                _raise_if_cancelled()
            except (aioredis.RedisError, OSError) as exc:
                log.warning("duty: commands not read (redis: %s); again in 1 s", exc)
                await asyncio.sleep(1.0)
                continue
            if got is None:
                continue
            if not self.acting:
                # The lease went while we waited: back at the head, for the next holder.
                with contextlib.suppress(aioredis.RedisError, OSError):
                    await self._listener.lpush(self._commands, got[1])
                continue
            await self._carry_out(got[1])

    async def _carry_out(self, raw: bytes | str) -> None:
        try:
            request = json.loads(raw)
            op, args, reply = request["op"], request["args"], request["reply"]
            deadline = float(request["deadline"])
        except (ValueError, KeyError, TypeError):
            log.error("duty: a malformed command dropped")
            return
        if self._clock() > deadline:
            log.warning("duty: %s for %s dropped: its caller gave up", op, args[:1])
            return
        try:
            answer = {"result": self._apply(op, args)}
        except NotOnDuty as exc:
            answer = {"error": "not_on_duty", "message": str(exc)}
        except BadPauseReason as exc:
            answer = {"error": "bad_pause_reason", "message": str(exc)}
        except Exception as exc:
            log.exception("duty: forwarded %s failed", op)
            answer = {"error": "failed", "message": f"{op} failed: {type(exc).__name__}"}
        self.carried_out += 1
        # A change answered is a change saved, as on the acting node itself.
        await self.service.drained(timeout_s=_SAVE_WAIT_S)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:  # type: ignore[union-attr]
                pipe.rpush(reply, json.dumps(answer))
                pipe.expire(reply, _REPLY_TTL_S)
                await pipe.execute()
        except (aioredis.RedisError, OSError) as exc:
            log.warning("duty: the answer to %s not sent (redis: %s)", op, exc)

    def _apply(self, op: str, args: list[Any]) -> Any:
        service = self.service
        if op == "login":
            agent, seat, skills = args
            return _wire(service.login(agent, seat, [_Skill(lang, pen) for lang, pen in skills]))
        if op == "pause":
            return _wire(service.pause(args[0], args[1]))
        if op == "ready":
            return _wire(service.ready(args[0]))
        if op == "requeue":
            done = service.requeue(args[0], [Wanted(q, int(p)) for q, p in args[1]])
            return None if done is None else _wire(done)
        if op == "hold":
            return service.hold(args[0], args[1])
        if op == "logout":
            return service.logout(args[0])
        if op == "release":
            return service.release(args[0], args[1])
        if op == "wrapup_saved":
            return service.wrapup_saved(args[0], args[1])
        if op == "announce":
            return service.announce(args[0])
        raise ValueError(f"unknown duty command {op!r}")

    # -- the other nodes ---------------------------------------------------------------

    async def _follow(self) -> None:
        while True:
            try:
                await self.service.follow_saved()
            except Exception as exc:  # the database down: the mirror waits, reads stay
                log.warning("duty: saved duties not reloaded (%s)", type(exc).__name__)
            await asyncio.sleep(self._mirror_every_s)


def _raise_if_cancelled() -> None:
    """redis-py can swallow a cancel that lands in a blocking pop: honour it here, or the
    task would go on (and a stopping server wait for it forever)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _wire(duty: SeatDuty) -> dict[str, Any]:
    return asdict(duty)


def _duty(data: Mapping[str, Any]) -> SeatDuty:
    fields = dict(data)
    fields["queues"] = tuple(Wanted(w["queue"], int(w["penalty"])) for w in data["queues"])
    fields["calls"] = tuple(data.get("calls") or ())
    return SeatDuty(**fields)
