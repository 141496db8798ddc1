"""Session tokens: one per agent and per seat, expiring after a shift."""

from __future__ import annotations

from cti.web.sessions import SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_expires_after_its_shift() -> None:
    clock = Clock()
    store = SessionStore(ttl_s=60, clock=clock)
    session = store.issue("a07", "seat07")
    assert store.resolve(session.token) == session
    clock.now += 61
    assert store.resolve(session.token) is None


def test_new_login_ends_older_sessions_of_agent_and_seat() -> None:
    store = SessionStore()
    first = store.issue("a07", "seat07")
    other_seat = store.issue("a21", "seat21")
    second = store.issue("a07", "seat08")
    assert store.resolve(first.token) is None
    taker = store.issue("a22", "seat21")
    assert store.resolve(other_seat.token) is None
    assert store.resolve(second.token) is not None
    assert store.resolve(taker.token) is not None


def test_tokens_are_unguessable_and_unknown_ones_resolve_to_nothing() -> None:
    store = SessionStore()
    tokens = {store.issue(f"a{i}", f"seat{i}").token for i in range(50)}
    assert len(tokens) == 50 and all(len(t) >= 40 for t in tokens)
    assert store.resolve("") is None
    assert store.resolve(None) is None
    assert store.resolve("guess") is None
