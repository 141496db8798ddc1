"""Login sessions: an opaque token names an agent at a seat."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgentSession:
    """One agent logged in at one seat."""

    token: str
    agent: str
    seat: str
    expires_at: float


class SessionStore:
    """Tokens issued by `POST /api/login`, held by this node.

    A token lives for one shift (`ttl_s`); a newer login of the same agent, or of another
    agent at the same seat, ends the older sessions.
    """

    def __init__(self, ttl_s: float = 13 * 3600, clock: Callable[[], float] = time.monotonic):
        self._ttl_s = ttl_s
        self._clock = clock
        self._sessions: dict[str, AgentSession] = {}

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
