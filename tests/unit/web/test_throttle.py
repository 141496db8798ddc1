"""Login throttling: failures per agent and per address, the wait, the bound on memory."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from cti.settings import LoginSettings
from cti.web.errors import LoginBusy, TooManyAttempts
from cti.web.throttle import FailureWindow, LoginGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_fifth_failure_makes_the_agent_wait_until_the_first_leaves_the_window() -> None:
    clock = Clock()
    guard = LoginGuard(LoginSettings(agent_failures=5, window_s=300), clock)
    for _ in range(5):
        with guard.attempt("a07", "10.0.0.1"):
            guard.record("a07", "10.0.0.1", ok=False)
        clock.now += 10
    with pytest.raises(TooManyAttempts) as refused, guard.attempt("a07", "10.0.0.9"):
        pass  # another address: still the same agent
    assert refused.value.retry_after_s == 250  # first failure at 1000, now 1050
    assert refused.value.headers() == {"Retry-After": "250"}
    clock.now = 1000 + 300
    with guard.attempt("a07", "10.0.0.9"):  # the first failure left the window
        pass


def test_agent_ids_differing_only_in_case_share_a_budget() -> None:
    guard = LoginGuard(LoginSettings(agent_failures=2), Clock())
    guard.record("A07", "10.0.0.1", ok=False)
    guard.record("a07", "10.0.0.2", ok=False)
    with pytest.raises(TooManyAttempts), guard.attempt("a07", "10.0.0.3"):
        pass


def test_an_address_spraying_agent_ids_is_stopped() -> None:
    guard = LoginGuard(LoginSettings(address_failures=30), Clock())
    for n in range(30):
        with guard.attempt(f"guess{n}", "203.0.113.5"):
            guard.record(f"guess{n}", "203.0.113.5", ok=False)
    with pytest.raises(TooManyAttempts), guard.attempt("a07", "203.0.113.5"):
        pass
    with guard.attempt("a07", "10.0.0.1"):  # the room's address is not the guesser's
        pass


def test_a_login_clears_the_agents_failures() -> None:
    guard = LoginGuard(LoginSettings(agent_failures=3), Clock())
    for _ in range(2):
        guard.record("a07", "10.0.0.1", ok=False)
    guard.record("a07", "10.0.0.1", ok=True)
    for _ in range(2):
        guard.record("a07", "10.0.0.1", ok=False)
    with guard.attempt("a07", "10.0.0.1"):
        pass


def test_concurrent_guesses_get_no_more_than_the_limit() -> None:
    guard = LoginGuard(LoginSettings(agent_failures=3, max_pending=32), Clock())
    three = ExitStack()
    for _ in range(3):
        three.enter_context(guard.attempt("a07", "10.0.0.1"))
    with three:
        with pytest.raises(TooManyAttempts) as refused, guard.attempt("a07", "10.0.0.2"):
            pass
        assert refused.value.retry_after_s == 1  # the running checks decide
    assert guard.pending == 0


def test_too_many_waiting_checks_is_busy_not_throttled() -> None:
    guard = LoginGuard(LoginSettings(max_pending=2), Clock())
    with guard.attempt("a01", "10.0.0.1"), guard.attempt("a02", "10.0.0.1"):
        with pytest.raises(LoginBusy) as busy, guard.attempt("a07", "10.0.0.1"):
            pass
        assert busy.value.status == 503
        assert busy.value.headers() == {"Retry-After": "1"}
    with guard.attempt("a07", "10.0.0.1"):
        pass
    assert guard.pending == 0


def test_made_up_ids_cannot_grow_memory_past_the_bound() -> None:
    window = FailureWindow(limit=5, window_s=300, max_keys=100)
    for n in range(10_000):
        window.fail(f"ghost{n}", 1000.0)
    assert len(window._failures) == 100
    assert window.retry_after("ghost0", 1000.0) is None  # the oldest went first
