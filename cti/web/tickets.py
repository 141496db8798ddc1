"""Short-lived, single-use tickets that open the agent WebSocket, so the session token never
travels in a URL (URLs end up in proxy logs, the browser's console and its history).

`POST /api/agent/ticket` (Bearer token) gives one; `GET /ws/agent?ticket=…` spends it. A
ticket lives `ttl_s` seconds on the node that issued it (the page asks for a fresh one before
every connect).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Ticket:
    """The session token a ticket stands for, and when it stops being good."""

    token: str
    expires_at: float


class TicketBook:
    """Tickets issued by this node: each good once, for `ttl_s` seconds."""

    def __init__(self, ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._tickets: dict[str, Ticket] = {}

    @property
    def ttl_s(self) -> float:
        """How long a ticket is good for."""
        return self._ttl_s

    def issue(self, token: str) -> str:
        """A fresh ticket for the session `token`."""
        now = self._clock()
        self._tickets = {k: t for k, t in self._tickets.items() if t.expires_at > now}
        ticket = secrets.token_urlsafe(24)
        self._tickets[ticket] = Ticket(token, now + self._ttl_s)
        return ticket

    def redeem(self, ticket: str | None) -> str | None:
        """The session token of `ticket`, once; None when unknown, spent or expired."""
        if not ticket:
            return None
        found = self._tickets.pop(ticket, None)
        if found is None or found.expires_at <= self._clock():
            return None
        return found.token
