"""Login throttling: failed logins counted per agent and per address, checks waiting bounded.

Checked before any password is, so a throttled guess costs no argon2 and tells nothing (the
right password is refused too while the agent or the address is throttled). Counts live on
this node: with several CTI nodes a guesser gets each node's budget.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aiohttp import web

from cti.settings import LoginSettings
from cti.web.errors import LoginBusy, TooManyAttempts
from seats import AgentAccounts, AgentProfile

log = logging.getLogger(__name__)


class FailureWindow:
    """Failures per key in the last `window_s`; at `limit` the key waits until the oldest
    of them leaves the window. At most `max_keys` keys are held (the oldest go first), so a
    spray of made-up agent ids cannot grow memory."""

    def __init__(self, limit: int, window_s: float, max_keys: int) -> None:
        self._limit = limit
        self._window_s = window_s
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str, now: float, in_flight: int = 0) -> float | None:
        """Seconds until `key` may try again, or None when it may now. Checks still running
        for `key` count as failures until they are known not to be (so a burst of
        concurrent guesses gets no more than `limit`)."""
        failures = self._recent(key, now)
        count = (len(failures) if failures is not None else 0) + in_flight
        if count < self._limit:
            return None
        if failures is None or len(failures) < self._limit:
            return 1.0  # the running checks decide; ask again shortly
        return failures[-self._limit] + self._window_s - now

    def fail(self, key: str, now: float) -> None:
        """Count one failure for `key`."""
        failures = self._recent(key, now)
        if failures is None:
            failures = self._failures[key] = deque(maxlen=self._limit)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)
        failures.append(now)
        self._failures.move_to_end(key)

    def clear(self, key: str) -> None:
        """Forget `key`'s failures (it logged in)."""
        self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self._window_s:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures


class LoginGuard:
    """Who may try a password now, and how many checks may wait for the hashing threads."""

    def __init__(self, settings: LoginSettings, clock: Callable[[], float] = time.monotonic):
        self._settings = settings
        self._clock = clock
        self._agents = FailureWindow(
            settings.agent_failures, settings.window_s, settings.max_tracked
        )
        self._addresses = FailureWindow(
            settings.address_failures, settings.window_s, settings.max_tracked
        )
        self._in_flight_agents: Counter[str] = Counter()

    @property
    def pending(self) -> int:
        """How many logins are checking or waiting to check a password now."""
        return sum(self._in_flight_agents.values())

    @contextmanager
    def attempt(self, agent: str, address: str) -> Iterator[None]:
        """Admit one password check for the duration of the block.

        Raises TooManyAttempts (429) when the agent or the address must wait, LoginBusy
        (503) when `max_pending` checks already wait their turn.
        """
        now = self._clock()
        agent_key = _agent_key(agent)
        waits = [
            w
            for w in (
                self._agents.retry_after(agent_key, now, self._in_flight_agents[agent_key]),
                self._addresses.retry_after(address, now),
            )
            if w is not None
        ]
        if waits:
            raise TooManyAttempts("too many failed logins; try again later", max(waits))
        if self.pending >= self._settings.max_pending:
            raise LoginBusy("too many logins at once; try again shortly", 1)
        self._in_flight_agents[agent_key] += 1
        try:
            yield
        finally:
            self._in_flight_agents[agent_key] -= 1
            if self._in_flight_agents[agent_key] <= 0:
                del self._in_flight_agents[agent_key]

    def record(self, agent: str, address: str, ok: bool) -> None:
        """Count a failure against the agent and the address, or clear the agent's."""
        now = self._clock()
        if ok:
            self._agents.clear(_agent_key(agent))
            return
        for window, key, what in (
            (self._agents, _agent_key(agent), "agent"),
            (self._addresses, address, "address"),
        ):
            already = window.retry_after(key, now) is not None
            window.fail(key, now)
            if not already and window.retry_after(key, now) is not None:
                # once per key and window, not per refused try (a flood would fill the log)
                log.warning("login throttled: %s=%r after failed logins", what, key)


def _agent_key(agent: str) -> str:
    return agent.casefold()


async def authenticate(
    request: web.Request, guard: LoginGuard, accounts: AgentAccounts, agent: str, password: str
) -> AgentProfile | None:
    """`accounts.authenticate` behind the guard: raises TooManyAttempts or LoginBusy before
    any password is checked; counts the outcome."""
    address = request.remote or "unknown"
    with guard.attempt(agent, address):
        profile = await accounts.authenticate(agent, password)
        guard.record(agent, address, profile is not None)  # before the check stops counting
    return profile
