"""Login sessions: an opaque token names an agent at a seat."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol


def token_key(token: str) -> str:
    """What a shared store keeps instead of a token: its SHA-256 (hex). A token is 32 random
    bytes, so no salt or slow hash is needed; whoever reads Redis cannot log in with it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AgentSession:
    """One agent logged in at one seat.

    `key` is `token_key(token)`. A session that ended on another node is known here by its
    key only (the token never leaves the node that issued it): its `token` is then "".
    """

    token: str
    agent: str
    seat: str
    expires_at: float
    key: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", token_key(self.token))


# Called with a session that ended (and why: "logged out", "seat taken", "logged in
# elsewhere") so the node holding its sockets closes them (matched by `key`).
EndedHandler = Callable[[AgentSession, str], Awaitable[None]]
# Called with True when the shared store (Redis) stops answering and False when it is back
# (and, if it came back empty, once this node has written back what it holds).
DegradedHandler = Callable[[bool], Awaitable[None]]
# Called after the shared store came back empty and this node wrote back its seats and
# sessions: the web side puts back what only it knows (how far its sockets were served).
RestoredHandler = Callable[[], Awaitable[None]]


def end_reason(ended: AgentSession, agent: str) -> str:
    """Why a login of `agent` ended `ended`: the agent logged in again, or lost the seat (to
    whom: the page says who sits there now)."""
    return "logged in elsewhere" if ended.agent == agent else f"seat taken by {agent}"


class Sessions(Protocol):
    """What the web side needs of the session tokens: `SessionStore` in one process,
    `cti.web.redis_sessions.RedisSessionStore` across CTI nodes.

    `login` ends the older sessions of the agent and of the seat; every ended session, on
    whichever node it ended, reaches the handlers given to `on_ended` on every node.
    """

    async def login(self, agent: str, seat: str) -> AgentSession: ...

    async def validate(self, token: str | None) -> AgentSession | None: ...

    async def logout(self, token: str) -> AgentSession | None: ...

    def on_ended(self, handler: EndedHandler) -> None: ...

    def on_degraded(self, handler: DegradedHandler) -> None:
        """Call `handler(True)` when the shared store goes away, `handler(False)` when back."""
        ...

    def on_restored(self, handler: RestoredHandler) -> None:
        """Call `handler()` after the shared store came back empty and was written back."""
        ...

    async def close(self) -> None: ...


class SessionStore:
    """Tokens issued by `POST /api/login`, held by this node.

    A token lives for one shift (`ttl_s`); a newer login of the same agent, or of another
    agent at the same seat, ends the older sessions.
    """

    def __init__(self, ttl_s: float = 13 * 3600, clock: Callable[[], float] = time.monotonic):
        self._ttl_s = ttl_s
        self._clock = clock
        self._sessions: dict[str, AgentSession] = {}
        self._handlers: list[EndedHandler] = []

    def on_ended(self, handler: EndedHandler) -> None:
        """Call `handler` for every session `login` or `logout` ends."""
        self._handlers.append(handler)

    async def login(self, agent: str, seat: str) -> AgentSession:
        """`issue`, then tell the handlers which sessions it ended."""
        ended = self.end_where(lambda s: s.agent == agent or s.seat == seat)
        session = self.issue(agent, seat)
        for old in ended:
            await self._ended(old, end_reason(old, agent))
        return session

    async def validate(self, token: str | None) -> AgentSession | None:
        """`resolve` (the Sessions protocol is async: elsewhere it is a Redis lookup)."""
        return self.resolve(token)

    async def logout(self, token: str) -> AgentSession | None:
        """`end`, then tell the handlers."""
        session = self.end(token)
        if session is not None:
            await self._ended(session, "logged out")
        return session

    def on_degraded(self, handler: DegradedHandler) -> None:
        """Never called: nothing is shared, nothing can go away."""

    def on_restored(self, handler: RestoredHandler) -> None:
        """Never called: nothing is shared, nothing can go away."""

    async def close(self) -> None:
        """Nothing to release in process."""

    async def _ended(self, session: AgentSession, reason: str) -> None:
        for handler in self._handlers:
            await handler(session, reason)

    def issue(self, agent: str, seat: str) -> AgentSession:
        """A fresh session; earlier sessions of this agent or this seat end."""
        self.end_where(lambda s: s.agent == agent or s.seat == seat)
        session = AgentSession(secrets.token_urlsafe(32), agent, seat, self._clock() + self._ttl_s)
        self._sessions[session.token] = session
        return session

    def resolve(self, token: str | None) -> AgentSession | None:
        """The live session of `token`, or None (unknown, ended or expired)."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        if session.expires_at <= self._clock():
            del self._sessions[token]
            return None
        return session

    def end(self, token: str) -> AgentSession | None:
        """End one session; returns it, or None when it did not exist."""
        return self._sessions.pop(token, None)

    def end_where(self, predicate: Callable[[AgentSession], bool]) -> list[AgentSession]:
        """End every session matching `predicate`; returns them."""
        ended = [s for s in self._sessions.values() if predicate(s)]
        for session in ended:
            del self._sessions[session.token]
        return ended
